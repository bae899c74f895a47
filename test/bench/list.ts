// bench:list — GET /v1/tasks for 200 tasks with one-hour transcripts (120
// chunks of 30 s, ~1,000 segments each), on the embedded store: the hub's
// event-loop lag and the answer's time and size, with the transcripts
// (`?segments=1`, what every list did before) and without (the default now),
// side by side in one run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import { makeTask, record } from '../helpers/tasks.ts';
import type { Segment } from '../../client/protocol/types.ts';

const TASKS = 200;
const CHUNKS = 120;
const dir = await mkdtemp(join(tmpdir(), 'bench-list-'));
const store = new EmbeddedStore(join(dir, 'hub.sqlite'), () => {});
await store.open();
const words = 'and mister john dashwood had then leisure to consider how much there might be prudently in his power'.split(' ');
for (let i = 0; i < TASKS; i++) {
  const task = makeTask({ status: 'completed', durationSec: 3600, progress: { done: CHUNKS, total: CHUNKS, pct: 100 } });
  await store.insert(record(task));
  const chunks = Array.from({ length: CHUNKS }, (_, c) => ({
    taskId: task.id,
    chunk: c,
    segments: Array.from({ length: 8 }, (_, k): Segment => ({ start: c * 30 + k * 3.75, end: c * 30 + k * 3.75 + 3.5, text: words.slice(k, k + 12).join(' '), chunk: c })),
  }));
  await store.write({ tasks: [], chunks });
}
await store.close();

const hub = await startHub(loadConfig({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:micro', HUB_LOG_LEVEL: 'warn', HUB_TOKENS: 'bench=alice', HUB_VAD: 'energy' }, []));
const headers = { Authorization: 'Bearer bench' };

async function measure(query: string, rounds = 5) {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  const times: number[] = [];
  let bytes = 0;
  lag.enable();
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const body = await (await fetch(`${hub.url}/v1/tasks?limit=200${query}`, { headers })).arrayBuffer();
    times.push(performance.now() - started);
    bytes = body.byteLength;
  }
  lag.disable();
  const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  return `${Math.round(median)} ms per answer (median of ${rounds}), ${(bytes / 1048576).toFixed(1)} MB; loop lag p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`;
}

console.log(`bench:list  ${TASKS} tasks × ${CHUNKS * 8} segments (one hour each), embedded store`);
console.log(`with transcripts (?segments=1, as before)   ${await measure('&segments=1')}`);
console.log(`without (the default)                       ${await measure('')}`);
await hub.close();
await rm(dir, { recursive: true, force: true });
