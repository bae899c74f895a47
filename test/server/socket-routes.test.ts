// The socket routes' handlers driven through a fake port, with no uWS: what
// each message answers, what it subscribes to, and that another user's task
// stays invisible. (The adapter's own work — upgrade, auth, the message
// preamble — is covered over real sockets in task-socket and hostile-messages.)
import t from 'tap';
import type { HubContext } from '../../server/context.ts';
import { taskRoute } from '../../server/ws/task-socket.ts';
import { adminRoute } from '../../server/ws/admin-socket.ts';
import type { Task, TaskEventFrame } from '../../client/protocol/types.ts';
import { makeTask } from '../helpers/tasks.ts';
import { fakePort } from '../helpers/fake-port.ts';

const live = makeTask({ userId: 'alice', status: 'transcribing', seq: 3 });
const done = makeTask({ userId: 'alice', status: 'completed', seq: 9 });
const bobs = makeTask({ userId: 'bob', status: 'transcribing', seq: 1 });
const stored = makeTask({ userId: 'alice', status: 'completed', seq: 4 });
const frames: TaskEventFrame[] = [
  { type: 'progress', id: live.id, seq: 2, done: 1, total: 3, pct: 33 },
  { type: 'progress', id: live.id, seq: 3, done: 2, total: 3, pct: 66 },
];

/** Stands for the registry and the reader: three tasks in memory, one only in the store. */
function hubContext() {
  const errors: unknown[] = [];
  const liveTasks = new Map([live, bobs].map((task) => [task.id, task]));
  const ctx = {
    registry: {
      isLive: (id: string) => liveTasks.has(id),
      get: (id: string) => liveTasks.get(id),
      framesSince: (id: string, since: number) => (id === live.id ? frames.filter((f) => f.seq > since) : undefined),
      cancel: (id: string) => liveTasks.has(id),
    },
    tasks: {
      get: (id: string): Task | undefined => (id === done.id ? done : undefined),
      find: async (id: string): Promise<Task | undefined> => {
        if (id === 'broken') throw new Error('store down');
        return id === stored.id ? stored : undefined;
      },
    },
    log: { error: (...args: unknown[]) => errors.push(args), info: () => {} },
  } as unknown as Pick<HubContext, 'registry' | 'tasks' | 'log'>;
  return { ctx, errors };
}

t.test('subscribe to a live task: subscribed, the frames after since, and its topic', async (t) => {
  const port = fakePort('alice');
  const hooks = taskRoute(hubContext().ctx).connect(port, undefined);
  hooks.onMessage!({ type: 'subscribe', id: live.id, since: 1, ref: 'a' });
  t.same(port.sent.map((f) => [f.type, 'seq' in f ? f.seq : undefined]), [['subscribed', undefined], ['progress', 2], ['progress', 3]]);
  t.match(port.sent[0], { ref: 'a', id: live.id });
  t.ok(port.topics.has(`task/${live.id}`));
  port.sent.length = 0;
  hooks.onMessage!({ type: 'subscribe', id: live.id });
  t.match(port.sent, [{ type: 'task', id: live.id, seq: 3 }], 'without since: the whole task');
  hooks.onMessage!({ type: 'unsubscribe', id: live.id, ref: 2 });
  t.notOk(port.topics.has(`task/${live.id}`));
  t.match(port.sent.at(-1), { type: 'unsubscribed', id: live.id, ref: 2 });
});

t.test("another user's task is not_found, live or not; nothing is subscribed", async (t) => {
  const port = fakePort('bob');
  const hooks = taskRoute(hubContext().ctx).connect(port, undefined);
  hooks.onMessage!({ type: 'subscribe', id: live.id, ref: 1 });
  hooks.onMessage!({ type: 'subscribe', id: done.id, ref: 2 });
  t.match(port.sent, [{ type: 'error', code: 'not_found', ref: 1 }, { type: 'error', code: 'not_found', ref: 2 }]);
  t.equal(port.topics.size, 0);
});

t.test('a finished task comes from memory or the store, once, and only when since is behind', async (t) => {
  const port = fakePort('alice');
  const hooks = taskRoute(hubContext().ctx).connect(port, undefined);
  hooks.onMessage!({ type: 'subscribe', id: done.id, since: 9 });
  t.same(port.sent, [], 'the client is up to date: nothing to send');
  hooks.onMessage!({ type: 'subscribe', id: stored.id, since: 1, ref: 'x' });
  await new Promise((r) => setImmediate(r));
  t.match(port.sent, [{ type: 'subscribed', ref: 'x' }, { type: 'task', id: stored.id, seq: 4 }]);
  t.equal(port.topics.size, 0, 'a finished task changes no more: no topic');
});

t.test('a store that fails the lookup: internal, with the ref, and logged', async (t) => {
  const { ctx, errors } = hubContext();
  const port = fakePort('alice');
  taskRoute(ctx).connect(port, undefined).onMessage!({ type: 'subscribe', id: 'broken', ref: 7 });
  await new Promise((r) => setImmediate(r));
  t.match(port.sent, [{ type: 'error', code: 'internal', ref: 7 }]);
  t.equal(errors.length, 1);
});

t.test('a lookup answered after the client left sends nothing', async (t) => {
  const port = fakePort('alice');
  taskRoute(hubContext().ctx).connect(port, undefined).onMessage!({ type: 'subscribe', id: stored.id });
  port.drop();
  await new Promise((r) => setImmediate(r));
  t.same(port.sent, []);
});

t.test('ping and the task feed', async (t) => {
  const port = fakePort('alice');
  const hooks = taskRoute(hubContext().ctx).connect(port, undefined);
  hooks.onMessage!({ type: 'ping', ref: 5 });
  hooks.onMessage!({ type: 'watch_tasks' });
  t.ok(port.topics.has('user/alice'), "the caller's own feed");
  hooks.onMessage!({ type: 'unwatch_tasks', ref: 'u' });
  t.notOk(port.topics.has('user/alice'));
  t.match(port.sent, [{ type: 'pong', ref: 5 }, { type: 'watching' }, { type: 'unwatched', ref: 'u' }]);
});

t.test('admin: the actor list on connect, inspect and cancel, watchers counted', async (t) => {
  let watchers = 0;
  const inspector = {
    watch: (d: 1 | -1) => void (watchers += d),
    list: () => [{ id: 'scheduler', kind: 'scheduler' as const, state: 'idle', startedAt: '' }],
    snapshot: (id: string) => (id === live.id ? { status: 'active' } : undefined),
  };
  const port = fakePort('root', true);
  const hooks = adminRoute({ ctx: hubContext().ctx, inspector }).connect(port, undefined);
  t.equal(watchers, 1);
  t.ok(port.topics.has('admin'));
  t.match(port.sent[0], { type: 'actors', actors: [{ id: 'scheduler' }] });
  hooks.onMessage!({ type: 'inspect', id: live.id, ref: 1 });
  hooks.onMessage!({ type: 'inspect', id: 'nope', ref: 2 });
  hooks.onMessage!({ type: 'cancel', id: bobs.id, ref: 3 });
  hooks.onMessage!({ type: 'cancel', id: 'nope', ref: 4 });
  t.match(port.sent.slice(1), [
    { type: 'snapshot', id: live.id, snapshot: { status: 'active' }, ref: 1 },
    { type: 'error', code: 'not_found', ref: 2 },
    { type: 'cancelled', id: bobs.id, ref: 3 },
    { type: 'error', code: 'not_found', ref: 4 },
  ]);
  hooks.onClose!();
  t.equal(watchers, 0);
});
