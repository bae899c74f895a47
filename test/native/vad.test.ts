// The energy VAD against speech whose utterance boundaries are known exactly
// (sentences spoken one by one, joined by known gaps), clean and in noise.
import t from 'tap';
import { EnergyVad } from '../../native/audio/vad.ts';
import { utterancesWithTruth } from '../fixtures/make-fixtures.ts';

const GAPS = [1.2, 0.9, 1.5, 1.0];

function detect(samples: Float32Array, pieceSize = 1600): [number, number][] {
  const vad = new EnergyVad();
  const found: [number, number][] = [];
  let open: number | undefined;
  for (let at = 0; at < samples.length; at += pieceSize) {
    for (const e of vad.push(samples.subarray(at, at + pieceSize))) {
      if (e.type === 'start') open = e.at;
      else found.push([open!, e.at]);
    }
  }
  return found;
}

function noisy(samples: Float32Array, level: number, seed = 7): Float32Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  return samples.map((v) => v + level * rand());
}

const ms = (samples: number) => Math.round(samples / 16);

for (const [label, noise] of [['clean', 0], ['white noise at -40 dBFS', 0.017]] as const) {
  t.test(`one utterance per sentence, boundaries within 120 ms (${label})`, async (t) => {
    const { samples, truth } = utterancesWithTruth(GAPS);
    const found = detect(noise ? noisy(samples, noise) : samples);
    t.equal(found.length, truth.length, `${found.length} utterances for ${truth.length} sentences`);
    const errors = found.flatMap(([s, e], i) => [Math.abs(s - truth[i]![0]), Math.abs(e - truth[i]![1])]).map(ms);
    t.ok(Math.max(...errors) <= 120, `boundary errors ${errors.join(', ')} ms`);
    const speech = truth.reduce((n, [s, e]) => n + e - s, 0);
    const covered = found.reduce((n, [s, e], i) => n + Math.max(0, Math.min(e, truth[i]![1]) - Math.max(s, truth[i]![0])), 0);
    t.ok(covered / speech > 0.97, `${((100 * covered) / speech).toFixed(1)}% of the speech inside detected utterances`);
  });
}

t.test('silence and low noise are never speech', async (t) => {
  t.same(detect(new Float32Array(16_000 * 5)), []);
  t.same(detect(noisy(new Float32Array(16_000 * 5), 0.01)), []);
});
