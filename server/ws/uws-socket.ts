// The uWS adapter of the socket port: mounts a `SocketRoute` on the app and
// does, once for every route, what each socket needs before its handlers see
// anything — the upgrade (headers read before the handler returns, caller and
// encoding picked), 4001/4003 for callers who may not connect, the query
// check, the parse–validate–echo-`ref` preamble of client messages, copying
// audio frames, backpressure on every send, the error boundary. An
// unauthenticated socket is still upgraded, then closed at once with 4001, so
// browsers (which never see an HTTP status) learn why.
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, us_socket_context_t } from '../uws.ts';
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Authenticator, Caller } from '../auth.ts';
import { CLOSE } from '../../client/protocol/close.ts';
import { encodeFor, type Encoding } from '../../client/protocol/codec.ts';
import { readClientMessage } from './client-message.ts';
import { guardSocket } from '../guard.ts';
import { MAX_BACKPRESSURE, sendOrCut, type SocketState } from './backpressure.ts';
import type { ErrorFrame } from '../../client/protocol/types.ts';
import { type ForeignApi, type MessageSchema, type SocketHooks, type SocketPort, type SocketRoute } from './socket-port.ts';

/** The topic uWS keeps for one encoding of a logical topic. */
export const encodedTopic = (encoding: Encoding, topic: string) => `${encoding}/${topic}`;

export interface ConnectionData extends SocketState {
  route: string;
  caller: Caller | undefined;
  encoding: Encoding;
  params: { ok: true; value: unknown } | { ok: false; message: string };
  ending: boolean;
  hooks: SocketHooks<unknown> | undefined;
  port?: SocketPort<unknown>;
  /** another API's socket: the hub's error frames as that API says them */
  translate?: (frame: ErrorFrame) => unknown;
}

export interface SocketDeps {
  log: Logger;
  auth: Authenticator;
  /** every open socket of every route (for shutdown, the backpressure sweep and stats) */
  sockets: Set<WebSocket<SocketState>>;
}

export function mountSocket<S extends MessageSchema, P, Out>(app: TemplatedApp, deps: SocketDeps, route: SocketRoute<S, P, Out>): void {
  const name = route.path.split('/').pop()!;
  const foreign = route.foreign as ForeignApi<unknown> | undefined;
  app.ws<ConnectionData>(
    route.path,
    guardSocket(route.path, deps.log, {
      maxPayloadLength: route.limits.maxPayloadBytes,
      maxBackpressure: MAX_BACKPRESSURE,
      idleTimeout: route.limits.idleTimeoutSec,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => (foreign ? upgradeForeign(deps.auth, foreign, res, req, context, name, route.params?.schema) : upgrade(deps.auth, res, req, context, name, route.params?.schema)),
      open: (ws) => {
        const d = ws.getUserData();
        if (!d.caller) return void ws.end(CLOSE.unauthorized, 'unauthorized');
        if (route.adminOnly && !d.caller.admin) return void ws.end(CLOSE.forbidden, 'forbidden: an admin token is required');
        deps.sockets.add(ws);
        const port = portOf(ws);
        if (!d.params.ok) {
          port.send({ type: 'error', code: 'bad_request', message: d.params.message });
          return port.end(route.params!.close, d.params.message);
        }
        d.hooks = route.connect(port as SocketPort<Out>, d.params.value as P) as SocketHooks<unknown>;
      },
      message: (ws, message, isBinary) => {
        const d = ws.getUserData();
        if (!d.hooks || d.ending) return;
        if (isBinary && route.audio) return d.hooks.onAudio?.(new Uint8Array(message.slice(0)));
        const read = readClientMessage(route.messages, message, isBinary, foreign?.maxMessageBytes);
        if (read.ok) return d.hooks.onMessage?.(read.message as z.infer<S>);
        const port = portOf(ws);
        port.send(d.translate ? d.translate(read.error) : read.error);
        if (read.close) port.end(read.close, read.error.message);
      },
      close: (ws) => {
        const d = ws.getUserData();
        d.closed = true;
        deps.sockets.delete(ws);
        d.hooks?.onClose?.();
      },
    }),
  );
}

function upgrade(
  auth: Authenticator,
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  route: string,
  schema: z.ZodType | undefined,
): void {
  const query = new URLSearchParams(req.getQuery() ?? '');
  const caller = auth.identify(req.getHeader('authorization'), query.get('token'));
  const encoding: Encoding = query.get('encoding') === 'json' ? 'json' : 'msgpack';
  const data: ConnectionData = { route, caller, encoding, params: readParams(schema, query), closed: false, ending: false, hooks: undefined };
  res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
}

/**
 * The upgrade of another API's socket: credentials read its way, and a caller
 * without valid ones (or with bad parameters) is refused with that API's HTTP
 * answer before any socket exists, as those APIs do.
 */
function upgradeForeign(
  auth: Authenticator,
  api: ForeignApi<unknown>,
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  route: string,
  schema: z.ZodType | undefined,
): void {
  const query = new URLSearchParams(req.getQuery() ?? '');
  const protocols = req.getHeader('sec-websocket-protocol').split(',').map((p) => p.trim()).filter(Boolean);
  const { token, protocol } = api.credentials({ authorization: req.getHeader('authorization'), protocols, query });
  const caller = auth.identifyToken(token);
  const params = readParams(schema, query, api.readQuery);
  const refusal = !caller ? api.refusal(401, 'a valid API key is required') : !params.ok ? api.refusal(400, params.message) : undefined;
  if (refusal) {
    return void res.cork(() => {
      res.writeStatus(caller ? '400 Bad Request' : '401 Unauthorized');
      for (const [k, v] of refusal.headers) res.writeHeader(k, v);
      res.end(refusal.body, true);
    });
  }
  const data: ConnectionData = { route, caller, encoding: 'json', params, closed: false, ending: false, hooks: undefined, translate: api.error };
  res.upgrade(data, req.getHeader('sec-websocket-key'), protocol ?? '', req.getHeader('sec-websocket-extensions'), context);
}

function readParams(schema: z.ZodType | undefined, query: URLSearchParams, read?: (query: URLSearchParams) => Record<string, unknown>): ConnectionData['params'] {
  if (!schema) return { ok: true, value: undefined };
  // An empty value means "not given", as a form would send it.
  const parsed = schema.safeParse(read ? read(query) : Object.fromEntries([...query.entries()].filter(([, v]) => v !== '')));
  return parsed.success ? { ok: true, value: parsed.data } : { ok: false, message: parsed.error.issues.map((i) => i.message).join('; ') };
}

/** The port over one uWS socket; `ending` is set as soon as the hub closes it, so nothing more is sent. */
function portOf(ws: WebSocket<ConnectionData>): SocketPort<unknown> {
  const d = ws.getUserData();
  return (d.port ??= {
    caller: d.caller!,
    get gone() {
      return d.closed || d.ending;
    },
    send(frame) {
      if (d.ending) return;
      const { data, binary } = encodeFor(d.encoding, frame);
      sendOrCut(ws, data, binary);
    },
    subscribe: (topic) => void (d.closed || ws.subscribe(encodedTopic(d.encoding, topic))),
    unsubscribe: (topic) => void (d.closed || ws.unsubscribe(encodedTopic(d.encoding, topic))),
    batch: (run) => (d.closed ? run() : void ws.cork(run)),
    end(code, reason) {
      if (d.closed || d.ending) return;
      d.ending = true;
      ws.end(code, reason.slice(0, 120));
    },
  });
}
