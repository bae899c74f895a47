// bench:persist — the persistence actor under load, on the real embedded store.
//  1. Absorption: T tasks each publishing snapshots at a steady rate, with
//     coalescing on and off: events absorbed per second, writes per task per
//     second that reach the store, the hub-side cost of each hand-over, and the
//     backlog left when the load stops.
//  2. Outage: the same load plus chunk records while the store is down for
//     --outage seconds: memory growth (heap, backlog) sampled along the way, and
//     how long it takes to write everything once the store is back.
// Options: --tasks N --rate SNAPSHOTS_PER_TASK_PER_SEC --seconds N --outage N
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Persistence, DEFAULT_PERSISTENCE } from '../../actors/persistence.ts';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import { FaultyStore } from '../helpers/faulty-store.ts';
import { chunkOf, makeTask, record } from '../helpers/tasks.ts';
import type { Task } from '../../client/protocol/types.ts';

const { values } = parseArgs({
  options: { tasks: { type: 'string', default: '200' }, rate: { type: 'string', default: '250' }, seconds: { type: 'string', default: '10' }, outage: { type: 'string', default: '60' } },
});
const TASKS = Number(values.tasks);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const OUTAGE = Number(values.outage);
const TICK_MS = 10;
const mb = (bytes: number) => (bytes / 1048576).toFixed(1);

async function withStore<T>(run: (store: FaultyStore, tasks: Task[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-persist-'));
  const store = new FaultyStore(new EmbeddedStore(join(dir, 'hub.sqlite')));
  await store.open();
  const tasks = Array.from({ length: TASKS }, () => makeTask({ status: 'transcribing' }));
  for (const task of tasks) await store.insert(record(task));
  try {
    return await run(store, tasks);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** Publishes RATE snapshots per task per second for `seconds`, the way task actors do: a slice every tick. */
async function load(p: Persistence, tasks: Task[], seconds: number, chunksEvery = 0): Promise<{ events: number; handOverNs: number }> {
  const seq = new Map(tasks.map((t) => [t.id, 0]));
  let events = 0;
  let handOverNs = 0;
  const perTick = (TASKS * RATE * TICK_MS) / 1000;
  let carry = 0;
  const end = performance.now() + seconds * 1000;
  let tick = 0;
  while (performance.now() < end) {
    carry += perTick;
    const t0 = process.hrtime.bigint();
    for (; carry >= 1; carry--) {
      const task = tasks[events % tasks.length]!;
      const n = seq.get(task.id)! + 1;
      seq.set(task.id, n);
      p.saveTask(record({ ...task, seq: n, updatedAt: new Date().toISOString(), progress: { done: n, total: 1e6, pct: 0 } }));
      events++;
    }
    if (chunksEvery && ++tick % chunksEvery === 0) for (const task of tasks) p.saveChunk(chunkOf(task.id, tick / chunksEvery, Array.from({ length: 10 }, (_, i) => `segment ${i} of a chunk, about as long as a sentence of speech is.`)));
    handOverNs += Number(process.hrtime.bigint() - t0);
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  return { events, handOverNs };
}

console.log(`bench:persist  ${TASKS} tasks x ${RATE} snapshots/s for ${SECONDS} s, embedded store (SQLite in a worker thread)`);
for (const coalesce of [true, false]) {
  await withStore(async (store, tasks) => {
    const p = new Persistence(store, { ...DEFAULT_PERSISTENCE, coalesce });
    const { events, handOverNs } = await load(p, tasks, SECONDS);
    const backlogAtEnd = p.stats().backlog;
    const drainStart = performance.now();
    await p.drain(120_000);
    const drainSec = (performance.now() - drainStart) / 1000;
    const taskWrites = store.batches.reduce((n, b) => n + b.tasks.length, 0);
    console.log(
      `coalescing ${coalesce ? 'on ' : 'off'}: absorbed ${(events / SECONDS).toFixed(0)} events/s (${(handOverNs / events).toFixed(0)} ns each on the loop); ` +
        `${taskWrites} task writes in ${store.batches.length} batches = ${(taskWrites / TASKS / SECONDS).toFixed(1)} writes/task/s; ` +
        `backlog when the load stopped ${backlogAtEnd}, drained in ${drainSec.toFixed(2)} s`,
    );
    p.stop();
  });
}

await withStore(async (store, tasks) => {
  const p = new Persistence(store, DEFAULT_PERSISTENCE);
  global.gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  store.down = true;
  const samples: string[] = [];
  const sampler = setInterval(() => samples.push(`${mb(process.memoryUsage().heapUsed - heap0)} MB/${p.stats().backlog}`), 10_000);
  const { events } = await load(p, tasks, OUTAGE, 200); // a chunk per task every 2 s
  clearInterval(sampler);
  global.gc?.();
  const grown = process.memoryUsage().heapUsed - heap0;
  const backlog = p.stats().backlog;
  store.down = false;
  const t0 = performance.now();
  const drained = await p.drain(300_000);
  console.log(
    `outage ${OUTAGE} s at full load (${events} snapshots + ${TASKS} chunk records every 2 s): heap +${mb(grown)} MB, backlog ${backlog} records ` +
      `(heap growth/backlog every 10 s: ${samples.join(', ')}); ${drained ? 'all written' : 'NOT all written'} ${((performance.now() - t0) / 1000).toFixed(2)} s after the store came back`,
  );
  p.stop();
});
