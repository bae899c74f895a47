// bench:batch — the hub end to end against the bare engine, in one run.
// 10 minutes of espeak speech, the synthetic:tiny model (real tiny-sized
// compute), the same number of workers and threads on both sides:
//   baseline: the engine pool runs the same chunks directly, as fast as it can;
//   hub:      POST the file, watch /v1/ws until `completed` (upload, decode,
//             planning, scheduling, stitching, frames and persistence included).
// Prints both times and the ratio (goal: ≤ 1.05).  Options: --minutes N --rounds N
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { decodeToPcm } from '../../native/audio/decode.ts';
import { findFfmpeg } from '../../native/audio/ffmpeg.ts';
import { planChunks } from '../../native/audio/chunk-planner.ts';
import { EnginePool } from '../../native/engine/engine-pool.ts';
import { chooseImpl } from '../../native/engine/engine-service.ts';
import { resolveModel } from '../../native/models/resolve.ts';
import { makeSpeech } from './speech.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' }, rounds: { type: 'string', default: '1' } } });
const minutes = Number(values.minutes);
const rounds = Number(values.rounds);
const audioPath = makeSpeech(minutes);
const dir = await mkdtemp(join(tmpdir(), 'bench-batch-'));
const config = loadConfig({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:tiny', HUB_LOG_LEVEL: 'warn', HUB_WORKERS: process.env.HUB_WORKERS ?? '' }, []);
const model = await resolveModel('synthetic:tiny', join(dir, 'models'), () => {});
console.log(`bench:batch  ${minutes} min of speech, synthetic:tiny, ${config.workers} worker(s) x ${config.threadsPerJob} thread(s)`);

async function baseline(): Promise<{ seconds: number; chunks: number }> {
  const pcm = join(dir, 'baseline.pcm');
  const decoded = await decodeToPcm(audioPath, pcm, { maxSamples: Infinity, ffmpeg: await findFfmpeg() });
  const planned = planChunks(decoded.energies, decoded.samples);
  const chunks = planned.filter((c) => !c.silent);
  // The same implementation the hub picks (HUB_ENGINE=auto).
  const pool = new EnginePool({ modelPaths: [model.path], size: config.workers, slotsPerWorker: config.engineSlots, threadsPerJob: config.threadsPerJob, impl: chooseImpl(config.engine).impl });
  await pool.ready();
  const never = new AbortController().signal;
  const queue = [...chunks];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: config.workers }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) await pool.run({ pcmPath: pcm, start: c.start, end: c.end, language: 'en' }, never);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  return { seconds, chunks: planned.length };
}

async function hubRun(): Promise<{ seconds: number; chunks: number }> {
  const hub = await startHub(config);
  await hub.context.engine.ready();
  const body = await readFile(audioPath);
  const started = performance.now();
  const res = await fetch(`${hub.url}/v1/tasks?language=en&name=talk.wav`, { method: 'POST', body });
  const { id } = (await res.json()) as { id: string };
  const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/ws?encoding=json`);
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', id })));
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      const status = f.type === 'task' ? f.task.status : f.type === 'status' ? f.status : undefined;
      if (status === 'completed') resolve();
      if (status === 'failed' || status === 'cancelled') reject(new Error(`task ${status}`));
    });
  });
  const seconds = (performance.now() - started) / 1000;
  ws.close();
  const task = (await (await fetch(`${hub.url}/v1/tasks/${id}`)).json()) as { progress: { total: number } };
  await hub.close();
  return { seconds, chunks: task.progress.total };
}

const rows: string[] = [];
for (let r = 1; r <= rounds; r++) {
  const b = await baseline();
  const h = await hubRun();
  rows.push(
    `round ${r}: baseline ${b.seconds.toFixed(2)} s (${b.chunks} chunks)   hub ${h.seconds.toFixed(2)} s (${h.chunks} chunks)   ratio ${(h.seconds / b.seconds).toFixed(3)}   ` +
      `real-time factor: baseline ${((minutes * 60) / b.seconds).toFixed(1)}x, hub ${((minutes * 60) / h.seconds).toFixed(1)}x`,
  );
  console.log(rows.at(-1));
}
await rm(dir, { recursive: true, force: true });
