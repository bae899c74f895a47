// bench:words — how well word times match the audio: whisper.cpp's token
// timestamps (the default) against DTW over the model's alignment heads
// (HUB_WORD_TIMING=dtw), same model, same audio, one run.
// Truth: sentences made of words spoken one at a time by espeak-ng and
// joined with gaps of 60–250 ms, so every word's start and end is known to
// the sample. Words of the transcript are matched to the reference by a
// word alignment (as for WER); for each matched word the start and end error
// is measured. Also the ms per 30 s window of real speech (the cost: DTW
// needs the attention weights, so flash attention is off).
// Options: --sentences N (default 12)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findAddon, loadAddon, type AddonModel, type AddonSegment } from '../../native/engine/whisper-cpp-addon.ts';
import { longRecording, utterances } from '../fixtures/real-speech.ts';
import { normalize } from '../helpers/wer.ts';

const { values } = parseArgs({ options: { sentences: { type: 'string', default: '12' } } });
const SR = 16_000;
const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'whisper-hub');
const modelPath = process.env.WHISPER_TEST_MODEL ?? join(cache, 'ggml-tiny.en-imported.bin');
if (!existsSync(modelPath)) throw new Error(`no model at ${modelPath}: run .ci/run once, or npm run model:import into it`);
const found = findAddon();
if ('missing' in found) throw new Error(found.missing);
const addon = loadAddon(found.path);
const threads = availableParallelism();
const dir = mkdtempSync(join(tmpdir(), 'bench-words-'));

/** One word as espeak-ng says it, trimmed to its sound (frames within 40 dB of its loudest). */
function spoken(word: string): Float32Array {
  const wav = join(dir, 'w.wav');
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', '150', '-w', wav, word]);
  const raw = execFileSync('sox', [wav, '-t', 'raw', '-r', String(SR), '-c', '1', '-b', '32', '-e', 'floating-point', '-']);
  const x = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const frame = 160;
  const levels: number[] = [];
  for (let at = 0; at + frame <= x.length; at += frame) levels.push(Math.sqrt(x.subarray(at, at + frame).reduce((s, v) => s + v * v, 0) / frame));
  const floor = Math.max(...levels) / 100;
  const first = levels.findIndex((l) => l > floor);
  const last = levels.length - 1 - [...levels].reverse().findIndex((l) => l > floor);
  return x.slice(first * frame, (last + 1) * frame);
}

// The reference words: the LibriVox sentences, in order, cut into sentences of 8 words.
const words = utterances()
  .slice(0, 5)
  .flatMap((u) => u.text.split(/\s+/))
  .slice(0, Number(values.sentences) * 8);
interface Timed {
  word: string;
  start: number;
  end: number;
}

let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
const sentences: { audio: Float32Array; truth: Timed[] }[] = [];
for (let s = 0; s * 8 < words.length; s++) {
  const parts: Float32Array[] = [new Float32Array(0.5 * SR)];
  const truth: Timed[] = [];
  let at = 0.5 * SR;
  for (const word of words.slice(s * 8, s * 8 + 8)) {
    const audio = spoken(word);
    truth.push({ word, start: at / SR, end: (at + audio.length) / SR });
    const gap = Math.round((0.06 + random() * 0.19) * SR);
    parts.push(audio, new Float32Array(gap));
    at += audio.length + gap;
  }
  parts.push(new Float32Array(0.5 * SR));
  const audio = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    audio.set(p, o);
    o += p.length;
  }
  sentences.push({ audio, truth });
}
rmSync(dir, { recursive: true, force: true });

/** Reference and hypothesis words paired by a minimum-edit alignment (only exact matches count). */
function matched(reference: Timed[], hypothesis: Timed[]): [Timed, Timed][] {
  const r = reference.map((w) => normalize(w.word).join(' '));
  const h = hypothesis.map((w) => normalize(w.word).join(' '));
  const d = Array.from({ length: r.length + 1 }, (_, i) => Array.from({ length: h.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= r.length; i++) for (let j = 1; j <= h.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
  const pairs: [Timed, Timed][] = [];
  for (let i = r.length, j = h.length; i > 0 && j > 0; ) {
    const diagonal = r[i - 1] === h[j - 1] && d[i]![j] === d[i - 1]![j - 1];
    if (diagonal) pairs.unshift([reference[i - 1]!, hypothesis[j - 1]!]);
    if (diagonal || (d[i]![j] !== d[i - 1]![j]! + 1 && d[i]![j] !== d[i]![j - 1]! + 1)) {
      i--;
      j--;
    } else if (d[i]![j] === d[i - 1]![j]! + 1) i--;
    else j--;
  }
  return pairs;
}

const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;

const transcribe = (model: AddonModel, samples: Float32Array): Promise<AddonSegment[]> => model.transcribe(samples, { threads, language: 'en' }).done.then((r) => r.segments);

console.log(`bench:words  ${words.length} words in ${sentences.length} sentences (espeak-ng, one word at a time, gaps 60–250 ms), ${modelPath.split('/').pop()}, ${threads} threads`);
const pcm = execFileSync('sox', [longRecording().path, '-t', 'raw', '-r', String(SR), '-c', '1', '-b', '32', '-e', 'floating-point', '-'], { maxBuffer: 1 << 27 });
const real = new Float32Array(pcm.buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.byteLength));
const windows = [0, 1, 2].map((i) => real.slice(i * 30 * SR, (i + 1) * 30 * SR));

for (const dtw of [false, true]) {
  const model = new addon.Model(modelPath, { useGpu: true, dtw });
  const starts: number[] = [];
  const ends: number[] = [];
  let heard = 0;
  for (const { audio, truth } of sentences) {
    const segments = await transcribe(model, audio);
    const hypothesis = segments.flatMap((seg) => seg.words.map((w) => ({ word: w.text.trim(), start: w.t0 / 100, end: w.t1 / 100 })));
    for (const [ref, hyp] of matched(truth, hypothesis)) {
      heard++;
      starts.push(Math.abs(hyp.start - ref.start) * 1000);
      ends.push(Math.abs(hyp.end - ref.end) * 1000);
    }
  }
  const times: number[] = [];
  for (let r = -1; r < 3; r++) {
    for (const w of windows) {
      const t0 = performance.now();
      await model.transcribe(w, { threads, language: 'en' }).done;
      if (r >= 0) times.push(performance.now() - t0);
    }
  }
  model.close();
  const within = (xs: number[], ms: number) => `${((xs.filter((x) => x <= ms).length / xs.length) * 100).toFixed(0)}%`;
  console.log(
    `${(dtw ? 'dtw' : 'token timestamps').padEnd(17)} ${heard}/${words.length} words matched   start error p50 ${percentile(starts, 0.5).toFixed(0).padStart(4)} p90 ${percentile(starts, 0.9).toFixed(0).padStart(4)} ms (≤100 ms: ${within(starts, 100)})   end error p50 ${percentile(ends, 0.5).toFixed(0).padStart(4)} p90 ${percentile(ends, 0.9).toFixed(0).padStart(4)} ms (≤100 ms: ${within(ends, 100)})   ${percentile(times, 0.5).toFixed(0)} ms per 30 s window`,
  );
}
