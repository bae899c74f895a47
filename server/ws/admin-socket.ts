// `/v1/admin`: operators watch every actor. On open, the full list; then
// throttled `actor` / `actor_stopped` frames (from the inspector) and a `stats`
// frame every second, all through the `admin` topic, encoded once per
// encoding. `inspect` answers an actor's full snapshot; `cancel` cancels a
// task or ends a stream. Admin tokens only: anyone else is closed with 4001
// (no or wrong token) or 4003 (not an admin) and gets nothing else.
import type { TemplatedApp, WebSocket, HttpResponse, HttpRequest } from '../uws.ts';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import type { Inspector } from '../../actors/inspector.ts';
import type { AdminFrame } from '../../client/protocol/types.ts';
import { encodeFor, type Encoding } from '../../client/protocol/codec.ts';
import { adminMessageSchema } from '../../client/protocol/messages.ts';
import { UWS_MAX_PAYLOAD, readClientMessage } from './client-message.ts';
import { guardSocket } from '../guard.ts';
import { CLOSE, acceptUpgrade } from './upgrade.ts';
import { MAX_BACKPRESSURE, sendOrCut, type SocketState } from './backpressure.ts';

export interface AdminSocketData extends SocketState {
  caller: Caller | undefined;
  encoding: Encoding;
  route: 'admin';
}

const topic = (encoding: Encoding) => `${encoding}/admin`;

/** Publishes admin frames to every admin socket, encoded once per encoding in use. */
export function adminPublisher(app: TemplatedApp): (frame: AdminFrame) => void {
  return (frame) => {
    for (const encoding of ['msgpack', 'json'] as const) {
      if (app.numSubscribers(topic(encoding)) === 0) continue;
      const { data, binary } = encodeFor(encoding, frame);
      app.publish(topic(encoding), data, binary);
    }
  };
}

export function adminWatched(app: TemplatedApp): boolean {
  return app.numSubscribers(topic('msgpack')) + app.numSubscribers(topic('json')) > 0;
}

export function registerAdminSocket(app: TemplatedApp, ctx: HubContext, sockets: Set<WebSocket<SocketState>>, inspector: Inspector): void {
  const send = (ws: WebSocket<AdminSocketData>, frame: AdminFrame) => {
    const { data, binary } = encodeFor(ws.getUserData().encoding, frame);
    sendOrCut(ws, data, binary);
  };

  app.ws<AdminSocketData>('/v1/admin', guardSocket('/v1/admin', ctx.log, {
    maxPayloadLength: UWS_MAX_PAYLOAD,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, context) => {
      acceptUpgrade(ctx, res, req, context, (caller, encoding) => ({ caller, encoding, closed: false, route: 'admin' as const }));
    },
    open: (ws) => {
      const { caller, encoding } = ws.getUserData();
      if (!caller) return void ws.end(CLOSE.unauthorized, 'unauthorized');
      if (!caller.admin) return void ws.end(CLOSE.forbidden, 'forbidden: an admin token is required');
      sockets.add(ws);
      inspector.watch(1);
      ws.cork(() => {
        ws.subscribe(topic(encoding));
        send(ws, { type: 'actors', actors: inspector.list() });
      });
    },
    message: (ws, message, isBinary) => {
      const d = ws.getUserData();
      if (!d.caller?.admin) return;
      const read = readClientMessage(adminMessageSchema, message, isBinary);
      if (!read.ok) {
        send(ws, { ...read.error });
        return void (read.close && ws.end(read.close, read.error.message));
      }
      const msg = read.message;
      const echo = msg.ref !== undefined ? { ref: msg.ref } : {};
      if (msg.type === 'ping') return send(ws, { type: 'pong', ...echo });
      if (msg.type === 'inspect') {
        const snapshot = inspector.snapshot(msg.id);
        if (snapshot === undefined) return send(ws, { type: 'error', code: 'not_found', message: `no live actor ${msg.id}`, ...echo });
        return send(ws, { type: 'snapshot', id: msg.id, snapshot, ...echo });
      }
      if (!ctx.registry.cancel(msg.id)) return send(ws, { type: 'error', code: 'not_found', message: `no running task or stream ${msg.id}`, ...echo });
      ctx.log.info({ taskId: msg.id, by: d.caller.userId }, 'cancelled from the admin socket');
      send(ws, { type: 'cancelled', id: msg.id, ...echo });
    },
    close: (ws) => {
      const d = ws.getUserData();
      d.closed = true;
      if (d.caller?.admin) inspector.watch(-1);
      sockets.delete(ws);
    },
  }));
}
