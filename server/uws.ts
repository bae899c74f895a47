// Loads uWebSockets.js (the aliased fork, see DESIGN.md). If its native binary
// does not load, the package silently falls back to a JS shim that cannot
// upgrade WebSockets: the hub refuses to start on it.
import uWS from 'uWebSockets.js';

export function loadUws(): typeof uWS {
  const native = typeof uWS.SSLApp === 'function' && String(uWS.App).includes('[native code]');
  if (!native || process.env.UWS_USE_FALLBACK) {
    throw new Error(
      `uWebSockets.js did not load its native binary for ${process.platform}-${process.arch} (Node ABI ${process.versions.modules}); ` +
        'its JS fallback cannot serve WebSockets, so the hub will not start. Use Node.js 20 on Linux x64/arm64 or macOS.',
    );
  }
  return uWS;
}

export type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_listen_socket, us_socket_context_t } from 'uWebSockets.js';
