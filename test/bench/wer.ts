// bench:wer — text quality and speed on real speech, one run, same recording,
// same model (faster-whisper tiny.en imported to ggml): the hub's batch WER
// and real-time factor; its streaming WER with first-partial and
// final-after-utterance-end latencies; and upstream whisper.cpp's own
// whisper-cli (1.9.1, built once from the tree inside the npm package
// nodejs-whisper@0.3.1 into a cache, never into the project) on the whole file.
// Streaming runs twice per recording, once with each VAD (Silero, the default,
// and the energy detector), on the clean recording and on its copy with pink
// noise at 10 dB SNR (where the batch WER is the reference again).
// Goals: hub batch WER ≤ whisper-cli WER + 0.5 points; streaming WER ≤ batch
// WER + 2 points.
// Needs WHISPER_TEST_MODEL (a ggml file; .ci/run makes one) or the default
// cache path, pocketsphinx-testdata, cmake and a C++ compiler.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { longRecording, noisyRecording } from '../fixtures/real-speech.ts';
import { formatWer, wordErrorRate } from '../helpers/wer.ts';
import { streamAudio } from '../helpers/stream-file.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import type { Task } from '../../client/protocol/types.ts';

const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'whisper-hub');
const model = process.env.WHISPER_TEST_MODEL ?? join(cache, 'ggml-tiny.en-imported.bin');
if (!existsSync(model)) throw new Error(`no model at ${model}: run .ci/run once, or npm run model:import into it`);
const threads = String(availableParallelism());

/** whisper-cli from whisper.cpp 1.9.1 (the tree nodejs-whisper@0.3.1 carries), built once. */
function whisperCli(): string {
  const dir = join(cache, 'whisper.cpp-1.9.1');
  const bin = join(dir, 'build', 'bin', 'whisper-cli');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tgz = execFileSync('npm', ['pack', 'nodejs-whisper@0.3.1', '--silent'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', tgz, '--strip-components=3', 'package/cpp/whisper.cpp'], { cwd: dir });
  if (!/project\("whisper\.cpp" VERSION 1\.9\.1\)/.test(readFileSync(join(dir, 'CMakeLists.txt'), 'utf8'))) throw new Error('the tree is not whisper.cpp 1.9.1');
  const started = performance.now();
  execFileSync('cmake', ['-S', dir, '-B', join(dir, 'build'), '-DCMAKE_BUILD_TYPE=Release', '-DGGML_NATIVE=ON', '-DWHISPER_BUILD_TESTS=OFF', '-DBUILD_SHARED_LIBS=OFF'], { stdio: 'ignore' });
  execFileSync('cmake', ['--build', join(dir, 'build'), '--target', 'whisper-cli', '-j', threads], { stdio: 'ignore' });
  console.log(`built whisper-cli 1.9.1 in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  return bin;
}

const long = longRecording();
const cli = whisperCli();
console.log(`bench:wer  ${long.seconds.toFixed(1)} s of real read speech (${long.utterances.length} utterances, ${long.text.split(' ').length} words), ${model.split('/').pop()}, ${threads} threads`);

// upstream whisper-cli on the whole file
const cliStarted = performance.now();
const cliText = execFileSync(cli, ['-m', model, '-f', long.path, '-l', 'en', '-t', threads, '-np', '-nt'], { encoding: 'utf8', maxBuffer: 1 << 24 });
const cliSec = (performance.now() - cliStarted) / 1000;
const cliWer = wordErrorRate(long.text, cliText);

// the hub: batch, then streaming in real time, with each VAD
const dir = await mkdtemp(join(tmpdir(), 'bench-wer-'));
async function withHub<T>(vad: 'silero' | 'energy', use: (url: string) => Promise<T>): Promise<T> {
  const hub = await startHub(loadConfig({ HUB_PORT: '0', HUB_DATA_DIR: join(dir, vad), WHISPER_MODEL: model, HUB_LOG_LEVEL: 'warn', HUB_WORKERS: '1', HUB_VAD: vad }, []));
  await hub.context.engine.ready();
  try {
    return await use(hub.url);
  } finally {
    await hub.close();
  }
}

async function batch(url: string, path: string) {
  const started = performance.now();
  const { id } = (await (await fetch(`${url}/v1/tasks?language=en`, { method: 'POST', body: readFileSync(path) })).json()) as Task;
  let task: Task;
  for (;;) {
    task = (await (await fetch(`${url}/v1/tasks/${id}`)).json()) as Task;
    if (task.status === 'completed' || task.status === 'failed') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { sec: (performance.now() - started) / 1000, wer: wordErrorRate(long.text, task.segments.map((s) => s.text).join(' ')), chunks: task.progress.total };
}

const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.95))] ?? NaN;

async function stream(url: string, path: string) {
  const pcm = await readAudioFile(path, 's16le');
  const r = await streamAudio(pcm, { url: url.replace('http', 'ws'), speed: 1, frameMs: 100, language: 'en' });
  const finals = r.frames.filter((f) => f.frame.type === 'final');
  const wer = wordErrorRate(long.text, finals.map((f) => (f.frame as { text: string }).text).join(' '));
  const sentAt = (sec: number) => r.sent.find((x) => x.audioSec >= sec - 1e-6)?.at ?? NaN;
  const firsts: number[] = [];
  const ends: number[] = [];
  for (const u of long.utterances) {
    const about = r.frames.filter((f) => (f.frame.type === 'partial' || f.frame.type === 'final') && (f.frame as { start: number }).start < u.end + 0.3 && (f.frame as { end: number }).end > u.start - 0.3);
    const final = about.find((f) => f.frame.type === 'final' && (f.frame as { end: number }).end >= u.end - 0.3);
    if (about[0]) firsts.push(about[0].at - sentAt(u.start));
    if (final) ends.push(final.at - sentAt(u.end));
  }
  return { wer, firstP95: p95(firsts), finalP95: p95(ends), firsts: firsts.length, ends: ends.length };
}

const noisy = noisyRecording(10);
const recordings = [
  ['clean', long.path],
  ['pink noise 10 dB', noisy],
] as const;
const batches = await withHub('silero', async (url) => ({ clean: await batch(url, long.path), noisy: await batch(url, noisy) }));
const streams: { label: string; vad: string; r: Awaited<ReturnType<typeof stream>> }[] = [];
for (const vad of ['silero', 'energy'] as const) {
  await withHub(vad, async (url) => {
    for (const [label, path] of recordings) streams.push({ label, vad, r: await stream(url, path) });
  });
}
await rm(dir, { recursive: true, force: true });

const pts = (x: number) => (x * 100).toFixed(1);
const { clean: batchRun } = batches;
const batchWer = batchRun.wer;
console.log(`whisper-cli (whole file)  ${formatWer(cliWer)}  ${cliSec.toFixed(1)} s, ${(long.seconds / cliSec).toFixed(1)}x real time`);
console.log(`hub batch                 ${formatWer(batchWer)}  ${batchRun.sec.toFixed(1)} s, ${(long.seconds / batchRun.sec).toFixed(1)}x real time, ${batchRun.chunks} chunks   (goal ≤ whisper-cli + 0.5: ${batchWer.wer <= cliWer.wer + 0.005 ? 'met' : 'missed'}, ${pts(batchWer.wer - cliWer.wer)} points)`);
console.log(`hub batch, 10 dB noise    ${formatWer(batches.noisy.wer)}`);
for (const { label, vad, r } of streams) {
  const reference = label === 'clean' ? batchWer : batches.noisy.wer;
  console.log(
    `hub streaming, ${label}, ${vad} VAD: ${formatWer(r.wer)}   (goal ≤ batch + 2: ${r.wer.wer <= reference.wer + 0.02 ? 'met' : 'missed'}, ${pts(r.wer.wer - reference.wer)} points); ` +
      `first partial p95 ${Math.round(r.firstP95)} ms, final after utterance end p95 ${Math.round(r.finalP95)} ms (${r.firsts} / ${r.ends} of ${long.utterances.length} utterances)`,
  );
}
