// `/v1/ws`: live task subscriptions. A subscriber gets the whole task (or the
// frames after `since`) and then every frame published on the task's topic.
// `watch_tasks` adds the caller's feed: a frame for each task created or
// deleted, by whichever client. Frames come through topics (publisher.ts).
import type { HubContext } from '../context.ts';
import { isFinished, type Task } from '../../client/protocol/types.ts';
import { clientMessageSchema } from '../../client/protocol/messages.ts';
import { UWS_MAX_PAYLOAD } from './client-message.ts';
import { topics, withRef, type SocketPort, type SocketRoute } from './socket-port.ts';

const MAX_SUBSCRIPTIONS = 1000;
type Ref = string | number | undefined;

/** `cluster`: unfinished tasks this hub does not run are running on another hub; their frames come over the bus. */
export function taskRoute(ctx: Pick<HubContext, 'registry' | 'tasks' | 'log'>, { cluster = false } = {}): SocketRoute<typeof clientMessageSchema> {
  return {
    path: '/v1/ws',
    messages: clientMessageSchema,
    limits: { maxPayloadBytes: UWS_MAX_PAYLOAD, idleTimeoutSec: 120 },
    connect(port) {
      const subscriptions = new Set<string>();
      const feed = topics.feed(port.caller.userId);
      return {
        onMessage(msg) {
          switch (msg.type) {
            case 'ping':
              return port.send(withRef({ type: 'pong' as const }, msg.ref));
            case 'unsubscribe':
              port.unsubscribe(topics.task(msg.id));
              subscriptions.delete(msg.id);
              if (msg.ref !== undefined) port.send(withRef({ type: 'unsubscribed' as const, id: msg.id }, msg.ref));
              return;
            case 'subscribe':
              return subscribe(ctx, cluster, port, subscriptions, msg.id, msg.since, msg.ref);
            case 'watch_tasks':
              // Acknowledged always: a client lists its tasks after this, so none falls between.
              port.subscribe(feed);
              return port.send(withRef({ type: 'watching' as const }, msg.ref));
            case 'unwatch_tasks':
              port.unsubscribe(feed);
              if (msg.ref !== undefined) port.send(withRef({ type: 'unwatched' as const }, msg.ref));
              return;
          }
        },
      };
    },
  };
}

function subscribe(ctx: Pick<HubContext, 'registry' | 'tasks' | 'log'>, cluster: boolean, port: SocketPort, subscriptions: Set<string>, id: string, since: number | undefined, ref: Ref): void {
  const fail = (code: 'bad_request' | 'not_found' | 'internal', message: string) => port.send(withRef({ type: 'error' as const, code, message }, ref));
  const mine = (task: Task | undefined): task is Task => task?.userId === port.caller.userId;
  if (ctx.registry.isLive(id)) {
    const task = ctx.registry.get(id);
    if (!mine(task)) return fail('not_found', `no task ${id}`);
    if (!subscriptions.has(id) && subscriptions.size >= MAX_SUBSCRIPTIONS) return fail('bad_request', `at most ${MAX_SUBSCRIPTIONS} subscriptions per socket`);
    // Subscribing and catching up in one turn of the loop: no frame can fall between.
    port.batch(() => {
      port.subscribe(topics.task(id));
      subscriptions.add(id);
      if (ref !== undefined) port.send(withRef({ type: 'subscribed' as const, id }, ref));
      const missed = since === undefined ? undefined : ctx.registry.framesSince(id, since);
      if (missed) for (const frame of missed) port.send(frame);
      else port.send({ type: 'task', id, seq: task.seq, task });
    });
    return;
  }
  // A finished task (from memory, else the store): it will not change again.
  // In cluster mode an unfinished one runs on another hub: its frames come over the bus.
  const answer = (task: Task | undefined) => {
    if (port.gone) return;
    if (!mine(task)) return fail('not_found', `no task ${id}`);
    const elsewhere = cluster && !isFinished(task.status);
    if (elsewhere && !subscriptions.has(id) && subscriptions.size >= MAX_SUBSCRIPTIONS) return fail('bad_request', `at most ${MAX_SUBSCRIPTIONS} subscriptions per socket`);
    port.batch(() => {
      if (elsewhere) {
        port.subscribe(topics.task(id));
        subscriptions.add(id);
      }
      if (ref !== undefined) port.send(withRef({ type: 'subscribed' as const, id }, ref));
      if (since === undefined || since < task.seq) port.send({ type: 'task', id, seq: task.seq, task });
    });
  };
  const inMemory = ctx.tasks.get(id);
  if (inMemory) return answer(inMemory);
  ctx.tasks
    .find(id)
    .then(answer)
    .catch((error: unknown) => {
      ctx.log.error({ err: error, taskId: id }, 'subscribe lookup failed');
      fail('internal', 'could not look the task up; try again');
    });
}
