// `/v1/admin`: operators watch every actor. On open, the full list; then
// throttled `actor` / `actor_stopped` frames (from the inspector) and a `stats`
// frame every second, all through the `admin` topic (in cluster mode also a
// `nodes` frame: every other node's actors and stats). `inspect` answers an
// actor's full snapshot; `cancel` cancels a task or ends a stream — on another
// hub, through the bus, when that hub runs it. Admin tokens only: anyone else
// is closed with 4001 (no or wrong token) or 4003 (not an admin) by the
// adapter, and gets nothing else.
import type { HubContext } from '../context.ts';
import type { Inspector } from '../../actors/inspector.ts';
import { adminMessageSchema } from '../../client/protocol/messages.ts';
import type { AdminAnswer, AdminAsk, ClusterAdmin } from '../cluster-admin.ts';
import { UWS_MAX_PAYLOAD } from './client-message.ts';
import { topics, withRef, type SocketRoute } from './socket-port.ts';

type AdminParts = { ctx: Pick<HubContext, 'registry' | 'log'>; inspector: Pick<Inspector, 'watch' | 'list' | 'snapshot'> };

/** `inspect` or `cancel` of an actor of this hub: the frame to answer with. */
export function answerAdmin({ ctx, inspector }: AdminParts, ask: AdminAsk): AdminAnswer {
  if (ask.type === 'inspect') {
    const snapshot = inspector.snapshot(ask.id);
    if (snapshot === undefined) return { type: 'error', code: 'not_found', message: `no live actor ${ask.id}` };
    return { type: 'snapshot', id: ask.id, snapshot };
  }
  if (!ctx.registry.cancel(ask.id)) return { type: 'error', code: 'not_found', message: `no running task or stream ${ask.id}` };
  ctx.log.info({ taskId: ask.id, by: ask.by }, 'cancelled from the admin socket');
  return { type: 'cancelled', id: ask.id };
}

export function adminRoute(parts: AdminParts, cluster?: ClusterAdmin): SocketRoute<typeof adminMessageSchema> {
  const { inspector } = parts;
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
        if (cluster) port.send({ type: 'nodes', nodes: cluster.views() });
      });
      return {
        onMessage(msg) {
          if (msg.type === 'ping') return port.send(withRef({ type: 'pong' as const }, msg.ref));
          const ask = { type: msg.type, id: msg.id, by: port.caller.userId };
          const here = answerAdmin(parts, ask);
          const elsewhere = here.type === 'error' ? cluster?.ownerOf(msg.id) : undefined;
          if (!elsewhere) return port.send(withRef(here, msg.ref));
          void cluster!.ask(elsewhere, ask).then((answer) => port.send(withRef({ ...answer, node: elsewhere }, msg.ref)));
        },
        onClose: () => inspector.watch(-1),
      };
    },
  };
}
