// bench:stream — N live clients at once, each streaming 20 s of speech in real
// time (the reference client, 100 ms frames), with and without a batch upload
// running beside them, on synthetic:tiny. Speech is sentences with known
// boundaries, so latencies are measured against the truth:
//   first partial: from the moment the sentence's first audio was sent to the
//     first text about it (VAD onset + 0.5 s of speech + a pass, by design);
//   final: from the moment its last audio was sent to its final (VAD end
//     silence 0.6 s + the final pass, by design);
//   hub-added: the hub's own time around each pass (IPC, copies, results),
//     engine time and slot waits excluded (from the hub's histograms).
// Goal: hub-added ≤ 20 ms p95; batch load does not raise stream latency.
// First, batch throughput beside a live session that is open but quiet
// (keepalive only), against no session at all, in the same run: goal within
// 10% (a quiet session holds no engine slot).
// Before all that, with a real model (WHISPER_TEST_MODEL, or the one .ci/run
// caches): the endpointing rules on real speech (endpointing.ts).
// Options: --max N (clients, default 4), --real-only (the real-speech part alone), --rounds N (of the real-speech part, default 1)
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { streamAudio, type StreamResult } from '../helpers/stream-file.ts';
import { FIXTURES, makeFixtures, utterancesWithTruth } from '../fixtures/make-fixtures.ts';
import { compareEndpointing } from './endpointing.ts';

const { values } = parseArgs({ options: { max: { type: 'string', default: '4' }, 'real-only': { type: 'boolean', default: false }, rounds: { type: 'string', default: '1' } } });
const realModel = process.env.WHISPER_TEST_MODEL ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'whisper-hub', 'ggml-tiny.en-imported.bin');
if (existsSync(realModel)) await compareEndpointing(realModel, Number(values.rounds));
else console.log(`bench:stream endpointing  skipped: no real model at ${realModel} (run .ci/run once, or set WHISPER_TEST_MODEL)`);
if (values['real-only']) process.exit(0);
makeFixtures();
const { samples, truth } = utterancesWithTruth([1.2, 0.9, 1.5, 1.0]);
const pcm = new Int16Array(samples.length);
for (let i = 0; i < samples.length; i++) pcm[i] = Math.max(-32768, Math.min(32767, Math.round(samples[i]! * 32767)));
const audio = new Uint8Array(pcm.buffer);
const truthSec = truth.map(([s, e]) => [s / 16_000, e / 16_000] as const);
const batchFile = await readFile(join(FIXTURES, 'long.wav'));

const dir = await mkdtemp(join(tmpdir(), 'bench-stream-'));
// Each live client is a user of its own (one user may hold only HUB_MAX_STREAMS_PER_USER streams); batch work is one more.
const clients = Number(values.max);
const tokens = Array.from({ length: clients + 1 }, (_, i) => `t${i}=user${i}`).join(',');
const batchAuth = { Authorization: 'Bearer t0' };
const config = loadConfig({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:tiny', HUB_LOG_LEVEL: 'warn', HUB_MAX_STREAMS: '100', HUB_TOKENS: tokens }, []);
const hub = await startHub(config);
await hub.context.engine.ready();
const wsUrl = hub.url.replace('http', 'ws');
console.log(`bench:stream  ${(samples.length / 16_000).toFixed(1)} s of speech (${truth.length} sentences) per client, real time, synthetic:tiny, ${config.workers} worker(s) x ${config.threadsPerJob} thread(s)`);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};
const sentAt = (r: StreamResult, audioSec: number) => r.sent.find((x) => x.audioSec >= audioSec - 1e-6)?.at ?? NaN;

async function histogram(name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))) buckets.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  return buckets;
}

/** The bucket bound under which p% of the observations made between two readings fall. */
function bucketPercentile(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  for (const b of bounds) if ((after.get(b)! - (before.get(b) ?? 0)) / total >= p / 100) return b;
  return Infinity;
}

async function run(n: number, withBatch: boolean) {
  let batching = withBatch;
  const batch = (async () => {
    while (batching) {
      const res = await fetch(`${hub.url}/v1/tasks?language=en`, { method: 'POST', body: batchFile, headers: batchAuth });
      const { id } = (await res.json()) as { id: string };
      while (batching) {
        const t = (await (await fetch(`${hub.url}/v1/tasks/${id}`, { headers: batchAuth })).json()) as { status: string };
        if (t.status === 'completed' || t.status === 'failed') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      if (!batching) await fetch(`${hub.url}/v1/tasks/${id}`, { method: 'DELETE', headers: batchAuth });
    }
  })();
  if (withBatch) await new Promise((r) => setTimeout(r, 1500)); // let the batch work start
  const [overheadBefore, waitBefore] = [await histogram('hub_live_pass_overhead_seconds'), await histogram('hub_live_pass_wait_seconds')];
  const results = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i * 137)); // not in lockstep
      return streamAudio(audio, { url: wsUrl, speed: 1, frameMs: 100, language: 'en', token: `t${i + 1}` });
    }),
  );
  batching = false;
  await batch;
  const [overheadAfter, waitAfter] = [await histogram('hub_live_pass_overhead_seconds'), await histogram('hub_live_pass_wait_seconds')];
  const firsts: number[] = [];
  const finals: number[] = [];
  let refused = 0;
  let lags = 0;
  let missed = 0;
  for (const r of results) {
    if (r.closeCode !== 1000) {
      refused++;
      continue;
    }
    const text = r.frames.filter((f) => f.frame.type === 'partial' || f.frame.type === 'final') as { frame: { type: string; start: number; end: number; text: string }; at: number }[];
    lags += r.frames.filter((f) => f.frame.type === 'lag').length;
    for (const [s, e] of truthSec) {
      const about = text.filter((f) => f.frame.start < e + 0.3 && f.frame.end > s - 0.3);
      const final = about.find((f) => f.frame.type === 'final' && f.frame.text);
      if (!about.length || !final) {
        missed++;
        continue;
      }
      firsts.push(about[0]!.at - sentAt(r, s));
      finals.push(final.at - sentAt(r, e));
    }
  }
  const ms = (x: number) => `${Math.round(x)}`.padStart(5);
  const bound = (x: number) => (x === Infinity ? '  >max' : `${(x * 1000).toFixed(0).padStart(4)} ms`);
  console.log(
    `N=${n} ${withBatch ? '+batch' : '      '}  refused ${refused}  missed ${missed}  lag frames ${lags}   ` +
      `first partial p50 ${ms(pct(firsts, 50))} p95 ${ms(pct(firsts, 95))} ms   final p50 ${ms(pct(finals, 50))} p95 ${ms(pct(finals, 95))} ms   ` +
      `hub-added p50 ≤${bound(bucketPercentile(overheadBefore, overheadAfter, 50))} p95 ≤${bound(bucketPercentile(overheadBefore, overheadAfter, 95))}   ` +
      `slot wait p95 ≤${bound(bucketPercentile(waitBefore, waitAfter, 95))}`,
  );
  return { refused, lags, finalP95: pct(finals, 95) };
}

/** Seconds to transcribe long.wav, with or without a quiet live session open beside it. */
async function batchSeconds(idleStream: boolean): Promise<number> {
  const { default: WebSocket } = await import('ws');
  let ws: InstanceType<typeof WebSocket> | undefined;
  let keepalive: NodeJS.Timeout | undefined;
  if (idleStream) {
    ws = new WebSocket(`${wsUrl}/v1/stream?encoding=json`, { headers: { Authorization: 'Bearer t1' } });
    await new Promise((r) => ws!.once('message', r));
    keepalive = setInterval(() => ws!.send(JSON.stringify({ type: 'keepalive' })), 5000);
  }
  const started = performance.now();
  const { id } = (await (await fetch(`${hub.url}/v1/tasks?language=en`, { method: 'POST', body: batchFile, headers: batchAuth })).json()) as { id: string };
  for (;;) {
    const t = (await (await fetch(`${hub.url}/v1/tasks/${id}`, { headers: batchAuth })).json()) as { status: string };
    if (t.status === 'completed' || t.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  clearInterval(keepalive);
  if (ws) {
    ws.send(JSON.stringify({ type: 'close' }));
    await new Promise((r) => ws!.once('close', r));
  }
  return seconds;
}
const alone = [await batchSeconds(false), await batchSeconds(false)];
const beside = [await batchSeconds(true), await batchSeconds(true)];
const best = (xs: number[]) => Math.min(...xs);
console.log(
  `batch (long.wav, 101 s): alone ${alone.map((x) => x.toFixed(2)).join(' / ')} s, beside a quiet live session ${beside.map((x) => x.toFixed(2)).join(' / ')} s ` +
    `(best ${(best(beside) / best(alone)).toFixed(3)}x; goal ≤ 1.10x)`,
);

let sustained = 0;
for (let n = 1; n <= clients; n++) {
  const alone = await run(n, false);
  const busy = await run(n, true);
  const ok = (x: { refused: number; lags: number; finalP95: number }) => x.refused === 0 && x.lags === 0 && x.finalP95 < 2500;
  if (ok(alone) && ok(busy)) sustained = n;
}
console.log(`largest N sustained in real time (no refusal, no lag, final p95 < 2.5 s, with and without batch): ${sustained}`);
await hub.close();
await rm(dir, { recursive: true, force: true });
