import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Persistence } from '../../actors/persistence.ts';
import { WriteBuffer } from '../../actors/write-buffer.ts';
import { isTransient } from '../../actors/stores/transient.ts';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import { FaultyStore } from '../helpers/faulty-store.ts';
import { WorkerDiedError } from '../../native/isolates.ts';
import { chunkOf, makeTask, record } from '../helpers/tasks.ts';

const fast = { gatherMs: 5, maxBatch: 100, retryBaseMs: 5, retryMaxMs: 20, coalesce: true };

async function setUp(t: Test, options = fast) {
  const dir = await mkdtemp(join(tmpdir(), 'persist-test-'));
  const store = new FaultyStore(new EmbeddedStore(join(dir, 'hub.sqlite')));
  await store.open();
  const dropped: string[] = [];
  const p = new Persistence(store, options, (what) => dropped.push(what));
  t.teardown(async () => {
    p.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, p, dropped };
}

async function insertTasks(store: FaultyStore, n: number) {
  const tasks = Array.from({ length: n }, () => makeTask());
  for (const task of tasks) await store.insert(record(task));
  return tasks;
}

t.test('coalesces: a burst of snapshots becomes one write per task, the newest', async (t) => {
  const { store, p } = await setUp(t);
  const tasks = await insertTasks(store, 2);
  for (let seq = 1; seq <= 200; seq++) for (const task of tasks) p.saveTask(record({ ...task, seq, progress: { done: seq, total: 200, pct: seq / 2 } }));
  t.ok(await p.drain(5000));
  const written = store.batches.flatMap((b) => b.tasks);
  t.ok(written.length <= 4, `${written.length} task writes for 400 snapshots`);
  for (const task of tasks) t.equal((await store.get(task.id))?.task.seq, 200);
});

t.test('without coalescing every snapshot is written', async (t) => {
  const { store, p } = await setUp(t, { ...fast, coalesce: false });
  const [task] = await insertTasks(store, 1);
  for (let seq = 1; seq <= 50; seq++) p.saveTask(record({ ...task!, seq }));
  t.ok(await p.drain(5000));
  t.equal(store.batches.flatMap((b) => b.tasks).length, 50);
  t.equal((await store.get(task!.id))?.task.seq, 50);
});

t.test('nobody waits: saving returns at once even when the store is slow', async (t) => {
  const { store, p } = await setUp(t);
  const [task] = await insertTasks(store, 1);
  store.writeDelayMs = 300;
  const started = performance.now();
  for (let seq = 1; seq <= 1000; seq++) p.saveTask(record({ ...task!, seq }));
  t.ok(performance.now() - started < 100, 'a thousand saves do not wait for the store');
  t.ok(p.stats().backlog <= 1, 'and take the memory of one');
  t.ok(await p.drain(5000));
  t.equal((await store.get(task!.id))?.task.seq, 1000);
});

t.test('chunk records are written, and never after the checkpoint that counts them', async (t) => {
  const buffer = new WriteBuffer();
  const task = makeTask();
  buffer.putChunk(chunkOf(task.id, 0));
  buffer.putChunk(chunkOf(task.id, 1));
  buffer.putTask(record({ ...task, seq: 3 }, { checkpoint: { chunks: [], emitted: 2 } }));
  const first = buffer.take(1);
  t.same(first.chunks.map((c) => c.chunk), [0]);
  t.same(first.tasks, [], 'the task record waits while one of its chunks is not taken');
  const second = buffer.take(10);
  t.same(second.chunks.map((c) => c.chunk), [1]);
  t.equal(second.tasks.length, 1);
  t.equal(buffer.size, 0);
});

t.test('store down: retries with backoff, keeps the newest, loses nothing', async (t) => {
  const { store, p } = await setUp(t);
  const [task] = await insertTasks(store, 1);
  store.down = true;
  p.saveChunk(chunkOf(task!.id, 0));
  p.saveTask(record({ ...task!, seq: 1, status: 'transcribing' }));
  await new Promise((r) => setTimeout(r, 150));
  t.match(p.stats(), { lastError: /ECONNREFUSED/, lastErrorPermanent: false });
  t.ok(p.stats().attempt >= 2, 'it kept trying');
  t.ok(p.failing);
  p.saveChunk(chunkOf(task!.id, 1));
  p.saveTask(record({ ...task!, seq: 2, status: 'transcribing' }));
  store.down = false;
  t.ok(await p.drain(5000));
  const got = await store.get(task!.id);
  t.match(got?.task, { seq: 2 });
  t.same(got?.task.segments.map((s) => s.text), ['chunk 0', 'chunk 1']);
  t.equal(p.stats().attempt, 0);
  t.notOk(p.failing);
});

t.test('a document the store refuses for good is set aside; the rest is written', async (t) => {
  const { store, p, dropped } = await setUp(t);
  const [good, bad] = await insertTasks(store, 2);
  store.refused.add(bad!.id);
  p.saveTask(record({ ...good!, seq: 1 }));
  p.saveTask(record({ ...bad!, seq: 1 }));
  t.ok(await p.drain(5000));
  t.equal((await store.get(good!.id))?.task.seq, 1);
  t.equal((await store.get(bad!.id))?.task.seq, 0);
  t.same(dropped, [`task ${bad!.id} (seq 1)`]);
  t.match(p.stats(), { dropped: 1, lastErrorPermanent: true, lastError: /validation/ });
  p.saveTask(record({ ...good!, seq: 2 }));
  t.ok(await p.drain(5000));
  t.equal((await store.get(good!.id))?.task.seq, 2, 'writing goes on');
});

t.test('a forgotten task is not written', async (t) => {
  const { store, p } = await setUp(t);
  const [task] = await insertTasks(store, 1);
  store.writeDelayMs = 50;
  p.saveTask(record({ ...task!, seq: 1 }));
  p.saveChunk(chunkOf(task!.id, 0));
  p.forget(task!.id);
  t.ok(await p.drain(2000));
  t.equal((await store.get(task!.id))?.task.seq, 0);
});

t.test('which failures are worth retrying', async (t) => {
  t.ok(isTransient(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })));
  t.ok(isTransient(Object.assign(new Error('x'), { name: 'MongoNetworkError' })));
  t.ok(isTransient(Object.assign(new Error('x'), { name: 'MongoServerSelectionError' })));
  t.ok(isTransient(Object.assign(new Error('x'), { errorLabels: ['RetryableWriteError'] })));
  t.ok(isTransient(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' })));
  t.notOk(isTransient(Object.assign(new Error('Document failed validation'), { name: 'MongoServerError', code: 121 })));
  t.ok(isTransient(new WorkerDiedError('the store worker stopped (exit 1)')), 'a store worker that died');
  t.notOk(isTransient(new TypeError('x is undefined')));
  t.notOk(isTransient(new Error('the connection timed out')), 'by type or code, never by the words of a message');
});
