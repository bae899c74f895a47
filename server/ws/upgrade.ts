// The WebSocket upgrade shared by every socket route: reads the headers uWS
// needs (before the handler returns), identifies the caller, picks the frame
// encoding. An unauthenticated socket is still upgraded, then closed at once
// with 4001, so browsers (which never see an HTTP status) learn why.
import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import type { Encoding } from '../../client/protocol/codec.ts';

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  unauthorized: 4001,
  badAudioFormat: 4002,
  forbidden: 4003,
  notFound: 4004,
  idleTimeout: 4008,
  tooSlow: 4009,
  frameTooLarge: 4013,
  overloaded: 4029,
} as const;

export function acceptUpgrade<T>(
  ctx: HubContext,
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  userData: (caller: Caller | undefined, encoding: Encoding, query: URLSearchParams) => T,
): void {
  const query = new URLSearchParams(req.getQuery() ?? '');
  const caller = ctx.auth.identify(req.getHeader('authorization'), query.get('token'));
  const encoding: Encoding = query.get('encoding') === 'json' ? 'json' : 'msgpack';
  res.upgrade(
    userData(caller, encoding, query),
    req.getHeader('sec-websocket-key'),
    req.getHeader('sec-websocket-protocol'),
    req.getHeader('sec-websocket-extensions'),
    context,
  );
}
