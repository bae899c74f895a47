// Silero VAD through its worker process: speech is found in a real recording
// and nothing in silence or steady noise; a resumed stream's positions go on
// from where it was; a worker killed mid-stream leaves the stream on the
// energy detector (an open utterance is ended, later speech still found) and
// the next stream gets a fresh worker; a model that cannot load is a clear
// error at start. (Accuracy in noise: vad-real-speech.test.ts.)
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SileroService } from '../../native/audio/silero-vad.ts';
import type { VadEvent, VoiceDetector } from '../../native/audio/vad.ts';
import { hasRealSpeech, utterances } from '../fixtures/real-speech.ts';

const RATE = 16_000;
const silero = await SileroService.start();
t.teardown(() => silero.close());

async function feed(vad: VoiceDetector, samples: Float32Array): Promise<VadEvent[]> {
  const events: VadEvent[] = [];
  for (let at = 0; at < samples.length; at += 1600) events.push(...(await vad.push(samples.subarray(at, at + 1600))));
  return events;
}

function pink(seconds: number, rms: number): Float32Array {
  const raw = execFileSync('sox', ['-R', '-n', '-r', String(RATE), '-c', '1', '-b', '32', '-e', 'floating-point', '-t', 'raw', '-', 'synth', String(seconds), 'pinknoise'], { maxBuffer: 1 << 26 });
  const noise = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const power = Math.sqrt(noise.reduce((n, v) => n + v * v, 0) / noise.length);
  return noise.map((v) => (v * rms) / power);
}

t.test('silence and steady noise are not speech', async (t) => {
  t.same(await feed(silero.detector(), new Float32Array(5 * RATE)), [], 'silence');
  t.same(await feed(silero.detector(), pink(5, 0.05)), [], 'pink noise at -26 dBFS');
});

const speech = (() => {
  if (!hasRealSpeech()) return undefined;
  const u = utterances()[0]!;
  const raw = execFileSync('sox', [u.path, '-t', 'raw', '-r', String(RATE), '-c', '1', '-b', '32', '-e', 'floating-point', '-'], { maxBuffer: 1 << 26 });
  const clip = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const padded = new Float32Array(clip.length + 3 * RATE); // 1 s before, 2 s after
  padded.set(clip, RATE);
  return { samples: padded, clipEnd: (RATE + clip.length) / RATE };
})();

t.test('a real utterance is found, and a resumed stream counts from where it was', { skip: speech ? false : 'needs pocketsphinx-testdata' }, async (t) => {
  const { samples, clipEnd } = speech!;
  const events = await feed(silero.detector(), samples);
  t.same(events.map((e) => e.type), ['start', 'end'], 'one utterance');
  t.ok(events[0]!.at / RATE > 0.6 && events[0]!.at / RATE < 1.5, `starts at ${(events[0]!.at / RATE).toFixed(2)} s (speech from ~1 s)`);
  t.ok(events[1]!.at / RATE > clipEnd - 1 && events[1]!.at / RATE <= clipEnd + 0.2, `ends at ${(events[1]!.at / RATE).toFixed(2)} s (the clip ends at ${clipEnd.toFixed(2)} s)`);
  const resumed = await feed(silero.detector(60 * RATE), samples);
  t.same(resumed.map((e) => e.at - 60 * RATE), events.map((e) => e.at), 'the same boundaries, 60 s later');
});

t.test('a worker killed mid-stream: that stream goes on with the energy detector, the next gets a new worker', { skip: speech ? false : 'needs pocketsphinx-testdata' }, async (t) => {
  const { samples } = speech!;
  const fallbacks: unknown[] = [];
  const vad = silero.detector(0, {}, (error) => fallbacks.push(error));
  const first = samples.subarray(0, 2 * RATE); // into the utterance
  const opened = await feed(vad, first);
  t.same(opened.map((e) => e.type), ['start'], 'speech has started');
  const pid = silero.stats().pid!;
  process.kill(pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  const after = await feed(vad, samples.subarray(2 * RATE));
  t.equal(fallbacks.length, 1, 'the failure is reported once');
  t.equal(after[0]?.type, 'end', 'the open utterance is ended where the model stopped');
  // the energy detector takes over: the rest of the clip is found again
  t.ok(after.slice(1).some((e) => e.type === 'start'), `the energy detector finds the rest (${after.map((e) => e.type).join(', ')})`);
  await new Promise((r) => setTimeout(r, 5_100)); // past the restart back-off
  const next = await feed(silero.detector(), samples);
  t.same(next.map((e) => e.type), ['start', 'end'], 'a new stream is served by a new worker');
  t.not(silero.stats().pid, pid);
  t.equal(silero.stats().restarts, 1);
});

t.test('a model file that cannot load is a clear error at start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'silero-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bad = join(dir, 'bad.onnx');
  await writeFile(bad, 'not a model');
  await t.rejects(SileroService.start(bad), /protobuf|model|onnx|load/i);
  await t.rejects(SileroService.start(join(dir, 'missing.onnx')), /missing\.onnx|no such file|not exist|load/i);
});
