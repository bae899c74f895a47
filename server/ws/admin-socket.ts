// `/v1/admin`: operators watch every actor. On open, the full list; then
// throttled `actor` / `actor_stopped` frames (from the inspector) and a `stats`
// frame every second, all through the `admin` topic. `inspect` answers an
// actor's full snapshot; `cancel` cancels a task or ends a stream. Admin
// tokens only: anyone else is closed with 4001 (no or wrong token) or 4003
// (not an admin) by the adapter, and gets nothing else.
import type { HubContext } from '../context.ts';
import type { Inspector } from '../../actors/inspector.ts';
import { adminMessageSchema } from '../../client/protocol/messages.ts';
import { UWS_MAX_PAYLOAD } from './client-message.ts';
import { topics, withRef, type SocketRoute } from './socket-port.ts';

export function adminRoute(ctx: Pick<HubContext, 'registry' | 'log'>, inspector: Pick<Inspector, 'watch' | 'list' | 'snapshot'>): SocketRoute<typeof adminMessageSchema> {
  return {
    path: '/v1/admin',
    adminOnly: true,
    messages: adminMessageSchema,
    limits: { maxPayloadBytes: UWS_MAX_PAYLOAD, idleTimeoutSec: 120 },
    connect(port) {
      inspector.watch(1);
      port.batch(() => {
        port.subscribe(topics.admin);
        port.send({ type: 'actors', actors: inspector.list() });
      });
      return {
        onMessage(msg) {
          if (msg.type === 'ping') return port.send(withRef({ type: 'pong' as const }, msg.ref));
          if (msg.type === 'inspect') {
            const snapshot = inspector.snapshot(msg.id);
            if (snapshot === undefined) return port.send(withRef({ type: 'error' as const, code: 'not_found' as const, message: `no live actor ${msg.id}` }, msg.ref));
            return port.send(withRef({ type: 'snapshot' as const, id: msg.id, snapshot }, msg.ref));
          }
          if (!ctx.registry.cancel(msg.id)) {
            return port.send(withRef({ type: 'error' as const, code: 'not_found' as const, message: `no running task or stream ${msg.id}` }, msg.ref));
          }
          ctx.log.info({ taskId: msg.id, by: port.caller.userId }, 'cancelled from the admin socket');
          port.send(withRef({ type: 'cancelled' as const, id: msg.id }, msg.ref));
        },
        onClose: () => inspector.watch(-1),
      };
    },
  };
}
