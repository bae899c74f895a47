// The energy VAD on real read speech (pocketsphinx-testdata's LibriVox and
// card clips, joined by known pauses of 0.25-1.5 s), clean and with pink noise
// at 10 and 0 dB SNR: utterance recall, speech wrongly cut, and noise-only time
// taken for speech, printed. Clean speech meets the goals (recall ≥ 95%, cut
// ≤ 5%); in noise the energy VAD does not (its floor tracker takes steady noise
// for the floor and speech barely rises above it): those goals are marked todo
// until Silero VAD replaces it (docs/decisions.md).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Vad } from '../../native/audio/vad.ts';
import { hasRealSpeech, longRecording, noisyRecording } from '../fixtures/real-speech.ts';

if (!hasRealSpeech()) {
  t.pass('skipped: install pocketsphinx-testdata (.ci/run does)');
  process.exit(0);
}

const RATE = 16_000;
const samplesOf = (path: string) => {
  const raw = execFileSync('sox', [path, '-t', 'raw', '-b', '32', '-e', 'floating-point', '-'], { maxBuffer: 1 << 28 });
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
};

function detect(samples: Float32Array): [number, number][] {
  const vad = new Vad();
  const found: [number, number][] = [];
  let open: number | undefined;
  for (let at = 0; at < samples.length; at += 1600) {
    for (const e of vad.push(samples.subarray(at, at + 1600))) {
      if (e.type === 'start') open = e.at / RATE;
      else found.push([open!, e.at / RATE]);
    }
  }
  if (vad.inSpeech && open !== undefined) found.push([open, samples.length / RATE]);
  return found;
}

const long = longRecording();
const truth = long.utterances.map((u) => [u.start, u.end] as const);
const overlap = (a: readonly [number, number], b: readonly [number, number]) => Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));

/** recall: utterances with at least half their time inside detected speech; cut: speech outside it; false: pause time inside it */
function measure(found: [number, number][]) {
  const speech = truth.reduce((n, u) => n + u[1] - u[0], 0);
  const covered = truth.map((u) => found.reduce((n, f) => n + overlap(u, f), 0));
  const recalled = truth.filter((u, i) => covered[i]! >= 0.5 * (u[1] - u[0])).length;
  const detected = found.reduce((n, f) => n + f[1] - f[0], 0);
  const speechInside = covered.reduce((a, b) => a + b, 0);
  const pauses = long.seconds - speech;
  return { recall: recalled / truth.length, cut: 1 - speechInside / speech, falseSpeech: (detected - speechInside) / pauses };
}

const SILERO = 'the energy VAD fails in noise: Silero VAD is to replace it';
for (const [label, path, todo] of [
  ['clean', long.path, false],
  ['pink noise 10 dB', noisyRecording(10), SILERO],
  ['pink noise 0 dB', noisyRecording(0), SILERO],
] as const) {
  t.test(`energy VAD, ${label}`, async (t) => {
    const m = measure(detect(samplesOf(path)));
    t.comment(`${label}: utterance recall ${(m.recall * 100).toFixed(1)}%, speech wrongly cut ${(m.cut * 100).toFixed(1)}%, pause time taken for speech ${(m.falseSpeech * 100).toFixed(1)}%`);
    t.ok(m.recall >= 0.95, `recall ${(m.recall * 100).toFixed(1)}% ≥ 95%`, { todo });
    t.ok(m.cut <= 0.05, `speech cut ${(m.cut * 100).toFixed(1)}% ≤ 5%`, { todo });
  });
}
