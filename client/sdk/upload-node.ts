// Node only: an upload through node:http(s), streamed in 64 KB pieces with
// backpressure and counted for progress. Not fetch: undici keeps a streamed
// request body in memory until the request ends (nodejs/undici#4058), which is
// the whole recording. Loaded lazily, and Node's modules with it (a static
// import would be hoisted into the browser bundle), so browsers never run it.
import type { ClientRequest, IncomingMessage } from 'node:http';
import { HubApiError } from './errors.ts';

export interface NodeUpload {
  method?: string;
  url: string;
  headers: Record<string, string>;
  body: Blob | Uint8Array;
  onProgress?: (sent: number) => void;
  signal?: AbortSignal;
}

/** Resolves with the hub's answer (any status); rejects only when no answer came. */
export async function uploadWithNode({ method = 'POST', url, headers, body, onProgress, signal }: NodeUpload): Promise<{ status: number; text: string }> {
  const { request } = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  const total = body instanceof Uint8Array ? body.byteLength : body.size;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req: ClientRequest = request(url, { method, headers: { ...headers, 'Content-Length': String(total) }, ...(signal ? { signal } : {}) }, (res: IncomingMessage) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return; // the hub answered early (a refusal) and closed: that answer counts
      if (error.name === 'AbortError') reject(new HubApiError('aborted', 'the upload was aborted'));
      else reject(new HubApiError('network', `the hub at ${new URL(url).origin} is not reachable (${error.code ?? error.message})`));
    });
    void (async () => {
      let sent = 0;
      for await (const piece of pieces(body)) {
        if (req.destroyed || answered) return;
        sent += piece.byteLength;
        if (!req.write(piece)) await new Promise((go) => (req.once('drain', go), req.once('close', go)));
        onProgress?.(sent);
      }
      req.end();
    })().catch((error: Error) => req.destroy(error));
  });
}

async function* pieces(body: Blob | Uint8Array): AsyncGenerator<Uint8Array> {
  if (!(body instanceof Uint8Array)) return yield* body.stream() as unknown as AsyncIterable<Uint8Array>;
  for (let at = 0; at < body.byteLength; at += 64 * 1024) yield body.subarray(at, at + 64 * 1024);
}
