import t from 'tap';
import { Persistence } from '../../actors/persistence.ts';
import { MemoryStore } from '../helpers/memory-store.ts';
import { makeTask, stored } from '../helpers/tasks.ts';

const options = { gatherMs: 5, maxBatch: 100, retryBaseMs: 5, retryMaxMs: 20 };

t.test('coalesces: a burst of snapshots becomes one write per task, the newest', async (t) => {
  const store = new MemoryStore();
  const tasks = [makeTask(), makeTask()];
  for (const task of tasks) await store.insert(stored(task));
  const p = new Persistence(store, options);
  t.teardown(() => p.stop());
  for (let seq = 1; seq <= 200; seq++) for (const task of tasks) p.save(stored({ ...task, seq, progress: { done: seq, total: 200, pct: seq / 2 } }));
  t.ok(await p.drain(5000));
  const written = store.batches.flat();
  t.ok(written.length <= 4, `${written.length} writes for 400 snapshots`);
  for (const task of tasks) t.equal(store.docs.get(task.id)?.task.seq, 200);
  t.equal(p.stats().written, written.length);
});

t.test('nobody waits: save returns at once even when the store is slow', async (t) => {
  const store = new MemoryStore();
  const task = makeTask();
  await store.insert(stored(task));
  store.writeDelayMs = 300;
  const p = new Persistence(store, options);
  t.teardown(() => p.stop());
  const started = performance.now();
  for (let seq = 1; seq <= 1000; seq++) p.save(stored({ ...task, seq }));
  t.ok(performance.now() - started < 100, 'a thousand saves do not wait for the store');
  t.ok(p.stats().backlog <= 1);
  t.ok(await p.drain(5000));
  t.equal(store.docs.get(task.id)?.task.seq, 1000);
});

t.test('store down: retries with backoff, keeps the newest, loses nothing', async (t) => {
  const store = new MemoryStore();
  const task = makeTask();
  await store.insert(stored(task));
  store.down = 'connection refused';
  const p = new Persistence(store, options);
  t.teardown(() => p.stop());
  p.save(stored({ ...task, seq: 1, status: 'decoding' }));
  await new Promise((r) => setTimeout(r, 100));
  t.match(p.stats(), { lastError: 'connection refused', backlog: 1 });
  t.ok(p.stats().attempt >= 2, 'it kept trying');
  p.save(stored({ ...task, seq: 2, status: 'transcribing' }));
  store.down = undefined;
  t.ok(await p.drain(5000));
  t.match(store.docs.get(task.id)?.task, { seq: 2, status: 'transcribing' });
  t.equal(p.stats().attempt, 0);
});

t.test('a forgotten task is not written', async (t) => {
  const store = new MemoryStore();
  const task = makeTask();
  await store.insert(stored(task));
  store.writeDelayMs = 50;
  const p = new Persistence(store, options);
  t.teardown(() => p.stop());
  p.save(stored({ ...task, seq: 1 }));
  p.forget(task.id);
  t.ok(await p.drain(2000));
  t.equal(store.docs.get(task.id)?.task.seq, 0);
});
