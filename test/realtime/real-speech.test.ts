// The hub on real speech with a real model (faster-whisper tiny.en imported
// from CTranslate2; .ci/run provides it): recordings with reference
// transcriptions judged by word error rate. Chunk seams must cost no words
// (the bare engine on the whole file is the reference), live finals must
// agree with the batch transcript, the language and the segment times must be
// right, and other containers, rates and noise are measured too. Without
// WHISPER_TEST_MODEL (a ggml file) or pocketsphinx-testdata it is skipped.
// It lives in test/realtime, which tap runs alone (`serial` in package.json):
// a live session paced in real time is only judged fairly with the CPU it
// needs: beside another test file's engines its live WER went from 6% to 11-19%.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import { ALICE, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import { formatWer, pooledWer, wordErrorRate } from '../helpers/wer.ts';
import { convertedRecording, hasRealSpeech, longRecording, noisyRecording, utterances } from '../fixtures/real-speech.ts';
import { streamAudio } from '../helpers/stream-file.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import { EnginePool } from '../../native/engine/engine-pool.ts';
import { chooseImpl } from '../../native/engine/engine-service.ts';
import { decodeToPcm } from '../../native/audio/decode.ts';
import { findFfmpeg } from '../../native/audio/ffmpeg.ts';
import type { Task } from '../../client/protocol/types.ts';

const model = process.env.WHISPER_TEST_MODEL;
if (!model || !hasRealSpeech()) {
  t.pass('skipped: set WHISPER_TEST_MODEL to a ggml file and install pocketsphinx-testdata (.ci/run does both)');
  process.exit(0);
}

const { url, wsUrl } = await startTestHub(t, { WHISPER_MODEL: model, HUB_VAD: 'silero' });
const transcriptOf = (task: Task) => task.segments.map((s) => s.text).join(' ');
async function transcribe(path: string, query = ''): Promise<Task> {
  const res = await upload(url, ALICE, await readFile(path), query);
  if (res.status !== 201) throw new Error(`upload refused: ${res.status}`);
  const { id } = (await res.json()) as Task;
  return waitForStatus(url, ALICE, id, ['completed', 'failed'], 240_000);
}
const report = (what: string, r: ReturnType<typeof wordErrorRate>) => t.comment(`${what}: ${formatWer(r, true)}`);

t.test('single utterances: transcribed within the stated WER, language English', async (t) => {
  const pairs: { reference: string; hypothesis: string }[] = [];
  for (const u of utterances()) {
    const task = await transcribe(u.path);
    t.equal(task.status, 'completed', u.id);
    t.equal(task.language, 'en', `${u.id}: language detected as English`);
    pairs.push({ reference: u.text, hypothesis: transcriptOf(task) });
  }
  const r = pooledWer(pairs);
  report('single utterances', r);
  t.ok(r.wer <= 0.15, `pooled ${formatWer(r)} ≤ 15%`);
});

const long = longRecording();
let batchLong = '';

t.test('a two-minute recording: chunk seams cost no words against the bare engine on the whole file; segment times match', async (t) => {
  const task = await transcribe(long.path, '?language=en');
  t.equal(task.status, 'completed');
  t.ok(task.progress.total >= 4, `${task.progress.total} chunks`);
  batchLong = transcriptOf(task);
  const hub = wordErrorRate(long.text, batchLong);
  report('hub, long recording', hub);

  // The reference: the bare engine, the whole file in one run (whisper.cpp seeks through it itself).
  const dir = await mkdtemp(join(tmpdir(), 'real-speech-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pcm = join(dir, 'long.pcm');
  const decoded = await decodeToPcm(long.path, pcm, { maxSamples: Infinity, ffmpeg: await findFfmpeg() });
  const pool = new EnginePool({ modelPaths: [model], size: 1, threadsPerJob: 2, impl: chooseImpl('auto').impl }); // what the hub runs
  t.teardown(() => pool.close());
  await pool.ready();
  const whole = await pool.run({ pcmPath: pcm, start: 0, end: decoded.samples, language: 'en' }, new AbortController().signal);
  const bare = wordErrorRate(long.text, whole.segments.map((s) => s.text).join(' '));
  report('bare engine, whole file', bare);
  t.ok(hub.wer <= bare.wer + 0.01, `hub ${(hub.wer * 100).toFixed(1)}% ≤ bare engine ${(bare.wer * 100).toFixed(1)}% + 1 point (goal +0.5): seams lose or double nothing`);
  t.ok(hub.wer <= 0.1, `${formatWer(hub)} ≤ 10%`);

  // Times: no segment starts in a pause (each lies within an utterance, or at
  // most 0.5 s before one), and most utterances open a segment within 0.5 s.
  const misplaced = task.segments.filter((s) => !long.utterances.some((u) => s.start >= u.start - 0.5 && s.start <= u.end));
  t.same(misplaced.map((s) => `${s.start.toFixed(2)}-${s.end.toFixed(2)} ${s.text}`), [], 'every segment starts inside an utterance or within 0.5 s before it');
  const opened = long.utterances.filter((u) => task.segments.some((s) => Math.abs(s.start - u.start) <= 0.5));
  t.comment(`${opened.length} of ${long.utterances.length} utterances open a segment within 0.5 s (whisper joins some across short pauses)`);
  t.ok(opened.length >= 0.6 * long.utterances.length, `${opened.length} of ${long.utterances.length} utterance starts found within 0.5 s`);
  t.ok(task.segments.every((s, i) => s.end > s.start && (i === 0 || s.start >= task.segments[i - 1]!.end - 1e-6)), 'in order, never overlapping');
});

t.test('other containers and sample rates give the same words', async (t) => {
  for (const kind of ['mp3', 'flac44', 'ogg8'] as const) {
    const task = await transcribe(convertedRecording(kind), '?language=en');
    const r = wordErrorRate(long.text, transcriptOf(task));
    report(kind, r);
    t.ok(r.wer <= 0.16, `${kind}: ${formatWer(r)} ≤ 16%`);
  }
});

t.test('noisy copies (pink noise at 10 and 0 dB SNR): measured', async (t) => {
  for (const snr of [10, 0]) {
    const task = await transcribe(noisyRecording(snr), '?language=en');
    const r = wordErrorRate(long.text, transcriptOf(task));
    report(`noise ${snr} dB`, r);
    t.ok(r.wer <= (snr === 10 ? 0.3 : 0.75), `${snr} dB: ${formatWer(r)}`);
  }
});

t.test('live finals over /v1/stream, paced in real time, agree with the batch transcript', async (t) => {
  // The whole recording (~280 words: one word is 0.4 points), against the batch transcript above.
  const pcm = await readAudioFile(long.path, 's16le');
  const r = await streamAudio(pcm, { url: wsUrl, token: ALICE, speed: 1, language: 'en' });
  t.equal(r.closeCode, 1000);
  const finals = r.frames.map((f) => f.frame).filter((f) => f.type === 'final').map((f) => (f as { text: string }).text).join(' ');
  const live = wordErrorRate(long.text, finals);
  report('live finals vs truth', live);
  const batch = wordErrorRate(long.text, batchLong);
  report('batch vs truth', batch);
  // Live passes depend on timing, so their text varies from run to run: measured 7.6% against batch
  // 6.5% in this file (words rule, run alone; 18.5% before the engine stopped reusing whisper states
  // that a wider encode had filled); stand-alone streams 5.8–7.6%. The bound catches a collapse
  // (55–79% when the engine threads spun) and any regression past +5 points; the goal is +2.
  t.ok(live.wer <= batch.wer + 0.05, `live ${(live.wer * 100).toFixed(1)}% ≤ batch ${(batch.wer * 100).toFixed(1)}% + 5 points`);
  t.comment(`the goal, live ≤ batch + 2 points: ${live.wer <= batch.wer + 0.02 ? 'met' : 'missed'} (bench:wer measures it in a quiet run)`);
});
