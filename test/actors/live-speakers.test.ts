// LiveSpeakers with a stand-in embedder (it returns a fixed vector per voice,
// named by the audio's first sample): the ring hands each final its own audio,
// finals join the nearest voice or start one, and a later voice that turns out
// to be an earlier one is merged into it, its finals relabelled.
import t from 'tap';
import { LiveSpeakers } from '../../actors/live-speakers.ts';

const SR = 16_000;
const axis = (k: number) => Float32Array.from({ length: 256 }, (_, i) => (i === k ? 1 : 0));

function speakers(vectors: Record<number, Float32Array>, startAt = 0) {
  const embedded: Float32Array[] = [];
  const labels: { segId: string; chunk: number; speaker: string }[][] = [];
  const live = new LiveSpeakers(
    {
      embed: async (samples) => (embedded.push(samples), vectors[Math.round(samples[0]!)]!),
      onLabels: (l) => void labels.push(l),
      onError: (message) => t.fail(message),
    },
    startAt,
  );
  return { live, embedded, labels };
}
/** `sec` seconds whose every sample is `value` (the stand-in's voice number). */
const audio = (value: number, sec: number) => new Float32Array(sec * SR).fill(value);
const settle = () => new Promise((r) => setTimeout(r, 10));

t.test('each final gets its own audio from the ring, across its wrap, and a speaker', async (t) => {
  const { live, embedded, labels } = speakers({ 1: axis(0), 2: axis(1) });
  for (let s = 0; s < 70; s++) live.push(audio(s < 65 ? 1 : 2, 1)); // 70 s into a 60 s ring: it wrapped
  live.final('a', 0, 61, 63);
  live.final('b', 1, 66, 68.5);
  live.final('gone', 2, 5, 7); // long out of the ring: no speaker
  live.final('short', 3, 68.5, 69); // under 0.8 s: no speaker
  await settle();
  t.same(embedded.map((e) => [e.length, e.every((v) => v === e[0])]), [[2 * SR, true], [2.5 * SR, true]], 'the finals\' own samples');
  t.same(labels, [[{ segId: 'a', chunk: 0, speaker: 'S1' }], [{ segId: 'b', chunk: 1, speaker: 'S2' }]]);
});

t.test('two voices that turn out to be one: the later joins the earlier, its finals relabelled', async (t) => {
  const plane = (x: number, y: number) => Float32Array.from({ length: 256 }, (_, i) => (i === 0 ? x : i === 1 ? y : 0));
  // b is 0.4 from a (cosine distance): a speaker of its own; c is nearer b, and pulls b's mean to within 0.35 of a.
  const { live, labels } = speakers({ 1: plane(1, 0), 2: plane(0.6, 0.8), 3: plane(0.8, 0.6) });
  for (const v of [1, 2, 3]) live.push(audio(v, 2));
  live.final('a', 0, 0, 2);
  live.final('b', 1, 2, 4);
  live.final('c', 2, 4, 6);
  await settle();
  t.same(labels[0], [{ segId: 'a', chunk: 0, speaker: 'S1' }]);
  t.same(labels[1], [{ segId: 'b', chunk: 1, speaker: 'S2' }], 'b starts a speaker');
  t.same(labels[2], [{ segId: 'c', chunk: 2, speaker: 'S1' }, { segId: 'b', chunk: 1, speaker: 'S1' }], 'c joins S2, whose mean is then within reach of S1: S2 joins S1 and b is relabelled');
});

t.test('engines far behind: at most 30 s of finals wait to be embedded, later ones stay without a speaker', async (t) => {
  const held: (() => void)[] = [];
  let embedded = 0;
  const live = new LiveSpeakers(
    {
      embed: () => new Promise((resolve) => held.push(() => (embedded++, resolve(axis(0))))),
      onLabels: () => {},
      onError: (message) => t.fail(message),
    },
    0,
  );
  live.push(audio(1, 60));
  for (let s = 0; s < 60; s += 2) live.final(`f${s}`, s / 2, s, s + 2); // 30 finals of 2 s while the first embed is held
  for (let i = 0; i < 30; i++) {
    await settle();
    held.shift()?.();
  }
  await settle();
  t.equal(embedded, 15, '15 finals (30 s) were queued, the other 15 skipped');
  // once the queue drains, finals are embedded again
  live.final('later', 30, 58, 60);
  await settle();
  held.shift()?.();
  await settle();
  t.equal(embedded, 16);
});
