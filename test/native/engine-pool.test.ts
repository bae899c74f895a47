import t, { type Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnginePool } from '../../native/engine/engine-pool.ts';
import { decodeToPcm } from '../../native/audio/decode.ts';
import { readPcmRange } from '../../native/audio/pcm.ts';
import { snapStartsToSpeech } from '../../native/engine/snap-to-speech.ts';
import { findFfmpeg } from '../../native/audio/ffmpeg.ts';
import { SYNTHETIC_SENTENCES, SYNTHETIC_SHAPES, writeSyntheticModel } from '../../native/models/synthetic.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

const dir = await mkdtemp(join(tmpdir(), 'engine-test-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const model = join(dir, 'micro.bin');
writeSyntheticModel(model, SYNTHETIC_SHAPES.micro);
const pcm = join(dir, 'long.pcm');
const { samples } = await decodeToPcm(join(FIXTURES, 'long.wav'), pcm, { maxSamples: Infinity, ffmpeg: await findFfmpeg() });
const job = (seconds: number) => ({ pcmPath: pcm, start: 0, end: Math.min(samples, seconds * 16_000), language: 'en' });
const never = new AbortController().signal;

async function busyWorkerPid(pool: EnginePool): Promise<number> {
  while (pool.workers()[0]!.state !== 'busy') await new Promise((r) => setImmediate(r));
  return pool.workers()[0]!.pid!;
}

function openPool(t: Test, size = 1, modelPath = model) {
  const pool = new EnginePool({ modelPaths: [modelPath], size, threadsPerJob: 1 });
  t.teardown(() => pool.close());
  return pool;
}

t.test('the real engine runs the synthetic model: its script, clamped to the chunk, starts moved out of pauses', async (t) => {
  const pool = openPool(t);
  await pool.ready();
  const r = await pool.run(job(25), never);
  t.same(r.segments.map((s) => s.text), SYNTHETIC_SENTENCES.map((s) => s.trim()));
  const script = [[0, 10], [10, 20], [20, 25]].map(([start, end], i) => ({ start: start!, end: end!, text: r.segments[i]!.text }));
  const audio = await readPcmRange(pcm, 0, 25 * 16_000);
  t.same(r.segments.map((s) => [s.start, s.end]), snapStartsToSpeech(script, audio).map((s) => [s.start, s.end]), 'the script times, each start moved to where speech resumes if it fell in a pause');
  t.same(r.segments.map((s) => s.end), [10, 20, 25], "ends are the script's");
  t.equal(r.audioSec, 25);
  t.equal(r.language, 'en');
  const short = await pool.run(job(4), never);
  t.same(short.segments, [{ start: 0, end: 4, text: SYNTHETIC_SENTENCES[0].trim() }], 'a short chunk gets only the first sentence');
  const tiny = await pool.run({ ...job(0.05) }, never);
  t.equal(tiny.segments.length, 1, 'audio under 100 ms is padded, not skipped');
});

t.test('a worker killed mid-chunk fails that job with engine_crashed and is replaced', async (t) => {
  const pool = openPool(t);
  await pool.ready();
  const running = pool.run(job(30), never);
  const pid = await busyWorkerPid(pool);
  process.kill(pid, 'SIGKILL');
  await t.rejects(running, { code: 'engine_crashed' });
  const after = await pool.run(job(5), never);
  t.equal(after.segments.length, 1, 'the next job runs on a fresh worker');
  t.not(pool.workers()[0]!.pid, pid);
  t.equal(pool.workers()[0]!.restarts, 1);
});

t.test('cancelling a job kills its worker at once and a fresh one takes over', async (t) => {
  const pool = openPool(t);
  await pool.ready();
  const abort = new AbortController();
  const running = pool.run(job(30), abort.signal);
  const pid = await busyWorkerPid(pool);
  const started = performance.now();
  abort.abort();
  await t.rejects(running, { code: 'cancelled' });
  t.ok(performance.now() - started < 1000, 'promptly');
  await pool.ready();
  t.not(pool.workers()[0]!.pid, pid);
  t.equal((await pool.run(job(3), never)).segments.length, 1);
});

t.test('jobs queue for a busy pool and run one per worker', async (t) => {
  const pool = openPool(t, 2);
  await pool.ready();
  const results = await Promise.all([1, 2, 3, 4].map(() => pool.run(job(8), never)));
  t.equal(results.length, 4);
  t.equal(pool.busy, 0);
});

t.test('a model that cannot load is a clear failure, not a restart loop', async (t) => {
  const bad = join(dir, 'bad.bin');
  await writeFile(bad, 'not a model');
  const pool = openPool(t, 1, bad);
  await t.rejects(pool.ready(), { message: /cannot load the model/ });
  t.match(pool.failure, /cannot load the model/);
  await t.rejects(pool.run(job(3), never), { code: 'engine_failed' });
});
