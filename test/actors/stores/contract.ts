// The TaskStore contract, as one suite every store must pass: the embedded
// store always, MongoStore over the wire against the test double, and against
// a real MongoDB when MONGODB_URI is set.
import type { Test } from 'tap';
import type { TaskStore } from '../../../actors/stores/task-store.ts';
import { chunkOf, makeTask, record } from '../../helpers/tasks.ts';

export function storeContract(t: Test, open: (t: Test) => Promise<TaskStore>): void {
  t.test('insert and get back, validated', async (t) => {
    const store = await open(t);
    const task = makeTask({ name: 'talk.mp3', language: 'en', model: 'synthetic:micro' });
    await store.insert(record(task));
    t.same(await store.get(task.id), record(task));
    t.equal(await store.get('no-such-id'), undefined);
    await t.rejects(store.insert(record(task)), 'the same id cannot be inserted twice');
  });

  t.test('writes only move forward: older and equal seqs are ignored, in one batch or many', async (t) => {
    const store = await open(t);
    const task = makeTask();
    await store.insert(record(task));
    await store.write({ chunks: [], tasks: [record({ ...task, status: 'transcribing', seq: 3 })] });
    await store.write({ chunks: [], tasks: [record({ ...task, status: 'decoding', seq: 2 })] }); // late
    await store.write({ chunks: [], tasks: [record({ ...task, status: 'queued', seq: 3 })] }); // duplicate
    await store.write({ chunks: [], tasks: [record({ ...task, status: 'completed', seq: 5 }), record({ ...task, status: 'transcribing', seq: 4 })] });
    t.match((await store.get(task.id))?.task, { status: 'completed', seq: 5 });
  });

  t.test('a write never creates a task, and a deleted task stays deleted', async (t) => {
    const store = await open(t);
    const ghost = makeTask({ seq: 5 });
    await store.write({ chunks: [chunkOf(ghost.id, 0)], tasks: [record(ghost)] });
    t.equal(await store.get(ghost.id), undefined);
    const task = makeTask();
    await store.insert(record(task));
    await store.write({ chunks: [chunkOf(task.id, 0)], tasks: [] });
    t.equal(await store.delete(task.id), true);
    t.equal(await store.delete(task.id), false);
    await store.write({ chunks: [chunkOf(task.id, 1)], tasks: [record({ ...task, seq: 9 })] });
    t.equal(await store.get(task.id), undefined);
  });

  t.test('the transcript is assembled from chunk records, in order; rewriting a chunk is harmless', async (t) => {
    const store = await open(t);
    const task = makeTask({ status: 'transcribing' });
    await store.insert(record(task));
    const checkpoint = { chunks: [0, 1, 2].map((i) => ({ index: i, start: i * 480_000, end: (i + 1) * 480_000, silent: i === 1 })), emitted: 2 };
    await store.write({ chunks: [chunkOf(task.id, 1, []), chunkOf(task.id, 0, ['a', 'b'])], tasks: [record({ ...task, seq: 4, progress: { done: 2, total: 3, pct: 66.6 } }, { checkpoint })] });
    await store.write({ chunks: [chunkOf(task.id, 0, ['a', 'b'])], tasks: [] });
    await store.write({ chunks: [chunkOf(task.id, 2, ['c'])], tasks: [] });
    const got = await store.get(task.id);
    t.same(got?.task.segments.map((s) => s.text), ['a', 'b', 'c']);
    t.same(got?.checkpoint, checkpoint);
    t.match(got?.task, { seq: 4, progress: { done: 2 } });
  });

  t.test("list: a user's own tasks, newest first, by status, page by page, transcripts only when asked", async (t) => {
    const store = await open(t);
    const mine = [makeTask(), makeTask({ status: 'completed' }), makeTask(), makeTask({ status: 'completed' })];
    for (const task of [...mine, makeTask({ userId: 'bob' })]) await store.insert(record(task));
    await store.write({ chunks: [chunkOf(mine[3]!.id, 0, ['hello'])], tasks: [] });
    const all = await store.list({ userId: 'alice', limit: 50 });
    t.same(all.map((x) => x.id), mine.map((x) => x.id).reverse());
    t.ok(all.every((x) => x.segments === undefined), 'no transcripts unless asked');
    const withSegments = await store.list({ userId: 'alice', limit: 50, segments: true });
    t.same(withSegments[0]!.segments!.map((s) => s.text), ['hello']);
    t.same((await store.list({ userId: 'alice', limit: 50, status: 'completed' })).map((x) => x.id), [mine[3]!.id, mine[1]!.id]);
    const page1 = await store.list({ userId: 'alice', limit: 2 });
    const page2 = await store.list({ userId: 'alice', limit: 2, before: page1.at(-1)!.createdAt });
    t.same([...page1, ...page2].map((x) => x.id), all.map((x) => x.id));
    t.same(await store.list({ userId: 'carol', limit: 10 }), []);
  });

  t.test('unfinished tasks, for resuming', async (t) => {
    const store = await open(t);
    const running = makeTask({ status: 'transcribing' });
    const queued = makeTask({ status: 'queued' });
    const done = makeTask({ status: 'completed' });
    const cancelled = makeTask({ status: 'cancelled' });
    for (const task of [running, queued, done, cancelled]) await store.insert(record(task));
    await store.write({ chunks: [chunkOf(running.id, 0)], tasks: [] });
    const unfinished = await store.unfinished();
    t.same(unfinished.map((r) => r.task.id).sort(), [running.id, queued.id].sort());
    t.same(unfinished.find((r) => r.task.id === running.id)?.task.segments.map((s) => s.text), ['chunk 0']);
  });

  t.test('retention: finished tasks past the cutoff whose audio is still kept', async (t) => {
    const store = await open(t);
    const old = makeTask({ status: 'completed', updatedAt: '2026-01-01T00:00:00.000Z' });
    const recent = makeTask({ status: 'completed', updatedAt: '2026-06-01T00:00:00.000Z' });
    const running = makeTask({ status: 'transcribing', updatedAt: '2026-01-01T00:00:00.000Z' });
    for (const task of [old, recent, running]) await store.insert(record(task));
    const cutoff = '2026-03-01T00:00:00.000Z';
    t.same((await store.expiredAudio(cutoff, 10)).map((r) => r.task.id), [old.id]);
    await store.markAudioRemoved([old.id], '2026-03-02T00:00:00.000Z');
    t.same(await store.expiredAudio(cutoff, 10), []);
    t.equal((await store.get(old.id))?.audioRemovedAt, '2026-03-02T00:00:00.000Z');
  });

  t.test('ping', async (t) => {
    const store = await open(t);
    await t.resolves(store.ping());
  });
}
