// The boundary around every uWS callback. An exception that escapes a route or
// a socket handler (thrown, or a rejected promise it returned) is logged with
// the route and the user and answered as `internal` — a 500 or an error frame —
// so that one bad request can never take the process, and everyone on it, down.
import type { Logger } from 'pino';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior } from 'uWebSockets.js';
import type { Caller } from './auth.ts';
import type { ErrorFrame } from '../client/protocol/types.ts';
import { encodeFor, type Encoding } from '../client/protocol/codec.ts';

const INTERNAL_MESSAGE = 'something went wrong on our side; it has been logged';

/** Calls `run`; whatever it throws or rejects with goes to `onError`, which must not throw. */
function contain(run: () => unknown, onError: (error: unknown) => void): void {
  try {
    const result = run();
    if (result instanceof Promise) result.catch(onError);
  } catch (error) {
    onError(error);
  }
}

function quietly(run: () => void): void {
  try {
    run();
  } catch {
    // the response or socket is already gone
  }
}

/** Wraps an HTTP handler: an escaped error answers 500 (if nothing was sent yet) and is logged. */
export function guardHttp(route: string, log: Logger, handler: Handler) {
  return (res: HttpResponse, req: HttpRequest): void => {
    let answered = false;
    const onError = (error: unknown) => {
      log.error({ err: error, route }, 'request handler failed');
      if (answered) return;
      answered = true;
      quietly(() =>
        res.cork(() => {
          res.writeStatus('500 Internal Server Error').writeHeader('Content-Type', 'application/json; charset=utf-8');
          res.end(JSON.stringify({ error: { code: 'internal', message: INTERNAL_MESSAGE } }), true);
        }),
      );
    };
    // A handler that answered or went async has registered onAborted; either
    // way the 500 above is attempted at most once and never throws.
    contain(() => handler(res, req), onError);
  };
}

type Method = 'get' | 'post' | 'del' | 'patch' | 'head' | 'options' | 'any';
type Handler = (res: HttpResponse, req: HttpRequest) => unknown;
export type HttpRoutes = Record<Method, (pattern: string, handler: Handler) => void>;

/** The app's HTTP routes, each registered behind `guardHttp`: the only way routes are added. */
export function httpRoutes(app: TemplatedApp, log: Logger): HttpRoutes {
  const add = (method: Method) => (pattern: string, handler: Handler) => {
    app[method](pattern, guardHttp(`${method === 'del' ? 'DELETE' : method.toUpperCase()} ${pattern}`, log, handler));
  };
  return { get: add('get'), post: add('post'), del: add('del'), patch: add('patch'), head: add('head'), options: add('options'), any: add('any') };
}

interface GuardedData {
  caller?: Caller | undefined;
  encoding: Encoding;
  closed: boolean;
  /** another API's socket: how it says an error */
  translate?: (frame: ErrorFrame) => unknown;
}

/** Wraps a socket behaviour: an escaped error in `open` or `message` sends an `internal` error frame; every one is logged. */
export function guardSocket<T extends GuardedData>(route: string, log: Logger, behavior: WebSocketBehavior<T>): WebSocketBehavior<T> {
  const failed = (ws: WebSocket<T>, where: string) => (error: unknown) => {
    const data = quietlyRead(ws);
    log.error({ err: error, route, where, userId: data?.caller?.userId }, 'socket handler failed');
    if (!data || data.closed) return;
    const frame: ErrorFrame = { type: 'error', code: 'internal', message: INTERNAL_MESSAGE };
    const { data: bytes, binary } = encodeFor(data.encoding, data.translate ? data.translate(frame) : frame);
    quietly(() => void ws.send(bytes, binary));
  };
  const guarded: WebSocketBehavior<T> = { ...behavior };
  const { upgrade, open, message, close, drain } = behavior;
  if (upgrade) {
    guarded.upgrade = (res, req, context) =>
      contain(
        () => upgrade(res, req, context),
        (error) => {
          log.error({ err: error, route, where: 'upgrade' }, 'socket handler failed');
          quietly(() => res.cork(() => res.writeStatus('500 Internal Server Error').end(INTERNAL_MESSAGE, true)));
        },
      );
  }
  if (open) guarded.open = (ws) => contain(() => open(ws), failed(ws, 'open'));
  if (message) guarded.message = (ws, bytes, isBinary) => contain(() => message(ws, bytes, isBinary), failed(ws, 'message'));
  if (drain) guarded.drain = (ws) => contain(() => drain(ws), failed(ws, 'drain'));
  if (close) {
    guarded.close = (ws, code, reason) =>
      contain(
        () => close(ws, code, reason),
        (error) => log.error({ err: error, route, where: 'close' }, 'socket handler failed'),
      );
  }
  return guarded;
}

function quietlyRead<T>(ws: WebSocket<T>): T | undefined {
  try {
    return ws.getUserData();
  } catch {
    return undefined;
  }
}
