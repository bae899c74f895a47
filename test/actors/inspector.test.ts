// The inspector with a real task actor and real scheduler, persistence stood
// in for by a plain object: changes are coalesced into one `actor` frame per
// actor per THROTTLE_MS, nothing is built while nobody watches, a stopped
// actor's last state goes out before `actor_stopped`, and close() leaves no
// timer behind.
import t from 'tap';
import { createActor, createMachine } from 'xstate';
import { Inspector, THROTTLE_MS, type InspectorFrame } from '../../actors/inspector.ts';
import { Scheduler } from '../../actors/scheduler.ts';
import { makeTask } from '../helpers/tasks.ts';

const task = makeTask({ status: 'transcribing', name: 'talk.wav', seq: 2 });
/** Stands for a task actor: a machine whose context holds a task. */
const actor = createActor(createMachine({ context: { task }, initial: 'transcribing', states: { transcribing: {} } }), { id: task.id });
actor.start();

function inspector() {
  const frames: InspectorFrame[] = [];
  const ins = new Inspector((frame) => frames.push(frame));
  const listed = new Map([[task.id, actor]]);
  ins.attach({
    registry: { actors: () => [...listed.values()], actor: (id: string) => listed.get(id) } as never,
    persistence: { stats: () => ({ state: 'idle', backlog: 0, written: 3 }), store: { kind: 'embedded' }, actor: { getPersistedSnapshot: () => ({ value: 'idle' }) } } as never,
    scheduler: new Scheduler(2),
    pool: () => undefined,
  });
  return { ins, frames, listed };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('the list: every actor with its state, persistence and the scheduler', async (t) => {
  const { ins } = inspector();
  t.match(ins.list(), [
    { id: task.id, kind: 'task', state: 'transcribing', userId: 'alice', status: 'transcribing', seq: 2, name: 'talk.wav' },
    { id: 'persistence', kind: 'persistence', state: 'idle', store: 'embedded', written: 3 },
    { id: 'scheduler', kind: 'scheduler', state: 'idle', capacity: 2 },
  ]);
  t.same(ins.snapshot('persistence'), { value: 'idle' });
  t.match(ins.snapshot(task.id), { status: 'active', context: { task: { id: task.id } } });
  t.equal(ins.snapshot('nobody'), undefined);
});

t.test('nothing is published while nobody watches', async (t) => {
  const { ins, frames } = inspector();
  ins.touch(task.id);
  ins.stopped(task.id);
  await wait(THROTTLE_MS + 50);
  t.same(frames, []);
});

t.test('many changes within the throttle: one frame per actor', async (t) => {
  const { ins, frames } = inspector();
  ins.watch(1);
  for (let i = 0; i < 20; i++) ins.touch(task.id);
  ins.touch('scheduler');
  t.same(frames, [], 'not before the throttle');
  await wait(THROTTLE_MS + 50);
  t.same(frames.map((f) => f.id).sort(), [task.id, 'scheduler'].sort());
  t.match(frames.find((f) => f.id === task.id), { type: 'actor', state: 'transcribing' });
  ins.close();
});

t.test("a stopped actor: its last state, then actor_stopped, even though it is gone by the flush", async (t) => {
  const { ins, frames, listed } = inspector();
  ins.watch(1);
  ins.touch(task.id);
  ins.stopped(task.id);
  listed.delete(task.id);
  await wait(THROTTLE_MS + 50);
  t.match(frames, [{ type: 'actor', id: task.id, status: 'transcribing' }, { type: 'actor_stopped', id: task.id }]);
});

t.test('close drops the waiting batch and publishes nothing more', async (t) => {
  const { ins, frames } = inspector();
  ins.watch(1);
  ins.touch(task.id);
  ins.close();
  await wait(THROTTLE_MS + 50);
  t.same(frames, []);
  ins.touch(task.id);
  await wait(THROTTLE_MS + 50);
  t.same(frames, [], 'close also forgets the watchers');
});
