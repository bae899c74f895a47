// Both VADs on real read speech (pocketsphinx-testdata's LibriVox and card
// clips, joined by known pauses of 0.25-1.5 s), clean and with pink noise or
// babble at 10 and 0 dB SNR, side by side: utterance recall (an utterance
// counts when half of it is inside detected speech), speech wrongly cut, and
// pause time taken for speech (short pauses under the end silence are merged
// by design, so clean speech has some too). The goals (recall ≥ 95%, noise
// taken for speech ≤ 5% at the lower SNR) are asserted for Silero, the
// default; the energy detector fails them in noise, and says so as todo.
// Babble is speech: taking it for speech is right, so only recall is asked.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { EnergyVad, type VoiceDetector } from '../../native/audio/vad.ts';
import { SileroService } from '../../native/audio/silero-vad.ts';
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

/** Utterances found in `samples`, fed as a live stream would be (100 ms at a time). */
async function detect(vad: VoiceDetector, samples: Float32Array): Promise<[number, number][]> {
  const found: [number, number][] = [];
  let open: number | undefined;
  for (let at = 0; at < samples.length; at += 1600) {
    for (const e of await vad.push(samples.subarray(at, at + 1600))) {
      if (e.type === 'start') open = e.at / RATE;
      else if (open !== undefined) {
        found.push([open, e.at / RATE]);
        open = undefined;
      }
    }
  }
  if (open !== undefined) found.push([open, samples.length / RATE]);
  vad.close();
  return found;
}

const long = longRecording();
const truth = long.utterances.map((u) => [u.start, u.end] as const);
const overlap = (a: readonly [number, number], b: readonly [number, number]) => Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));

function measure(found: [number, number][]) {
  const speech = truth.reduce((n, u) => n + u[1] - u[0], 0);
  const covered = truth.map((u) => found.reduce((n, f) => n + overlap(u, f), 0));
  const recalled = truth.filter((u, i) => covered[i]! >= 0.5 * (u[1] - u[0])).length;
  const detected = found.reduce((n, f) => n + f[1] - f[0], 0);
  const speechInside = covered.reduce((a, b) => a + b, 0);
  const pauses = long.seconds - speech;
  return { recall: recalled / truth.length, cut: 1 - speechInside / speech, falseSpeech: (detected - speechInside) / pauses };
}

const silero = await SileroService.start();
t.teardown(() => silero.close());
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

for (const [label, path, lowSnr, babble] of [
  ['clean', long.path, false, false],
  ['pink noise 10 dB', noisyRecording(10), false, false],
  ['pink noise 0 dB', noisyRecording(0), true, false],
  ['babble 10 dB', noisyRecording(10, 'babble'), false, true],
  ['babble 0 dB', noisyRecording(0, 'babble'), true, true],
] as const) {
  t.test(label, async (t) => {
    const samples = samplesOf(path);
    const energy = measure(await detect(new EnergyVad(), samples));
    const model = measure(await detect(silero.detector(), samples));
    for (const [name, m] of [['energy', energy], ['silero', model]] as const) {
      t.comment(`${label}, ${name}: utterance recall ${pct(m.recall)}, speech wrongly cut ${pct(m.cut)}, pause time taken for speech ${pct(m.falseSpeech)}`);
    }
    t.ok(model.recall >= 0.95, `silero: recall ${pct(model.recall)} ≥ 95%`);
    if (lowSnr && !babble) t.ok(model.falseSpeech <= 0.05, `silero: noise taken for speech ${pct(model.falseSpeech)} ≤ 5%`);
    const todo = babble || label === 'clean' ? false : 'the energy detector fails in steady noise (its floor follows the noise): Silero is the default';
    t.ok(energy.recall >= 0.95, `energy: recall ${pct(energy.recall)} ≥ 95%`, { todo });
    if (lowSnr && !babble) t.ok(energy.falseSpeech <= 0.05, `energy: noise taken for speech ${pct(energy.falseSpeech)} ≤ 5%`, { todo });
  });
}
