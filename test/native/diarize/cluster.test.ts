// The clustering and the windows on made-up embeddings and segments: the
// decisions, not the voice model (test/server/diarization.test.ts has real voices).
import t from 'tap';
import { clusterSpeakers } from '../../../native/diarize/cluster.ts';
import { labelSegments, speechWindows } from '../../../native/diarize/windows.ts';
import { spectralSpeakers } from '../../../native/diarize/spectral.ts';

const DIM = 8;
/** Unit vectors near `axis`, a little noise on the others (seeded). */
function near(axis: number, count: number, seed = 1): Float32Array[] {
  let s = seed;
  const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.3;
  return Array.from({ length: count }, () => {
    const v = Float32Array.from({ length: DIM }, (_, k) => (k === axis ? 1 : 0) + rand());
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
}
const rows = (...groups: Float32Array[][]) => {
  const all = groups.flat();
  const out = new Float32Array(all.length * DIM);
  all.forEach((v, i) => out.set(v, i * DIM));
  return out;
};

t.test('two voices apart: two speakers, numbered in order of first appearance', async (t) => {
  const [a, b] = [near(3, 4, 7), near(5, 4, 11)];
  const labels = clusterSpeakers(rows([b[0]!], a, b.slice(1)), DIM, { seconds: Array(8).fill(1.5) });
  t.same(labels, [0, 1, 1, 1, 1, 0, 0, 0], 'the voice heard first is 0');
});

t.test('one voice: one speaker; speakers=N forces the count', async (t) => {
  const one = rows(near(2, 6, 3));
  t.same(new Set(clusterSpeakers(one, DIM, { seconds: Array(6).fill(1.5) })).size, 1);
  t.same(new Set(clusterSpeakers(rows(near(2, 3, 5), near(6, 3, 9)), DIM, { speakers: 1 })).size, 1, 'speakers=1 merges two voices');
  t.same(new Set(clusterSpeakers(one, DIM, { speakers: 2 })).size, 2, 'speakers=2 splits one');
});

t.test('a cluster with under 2.5 s of speech joins its nearest: not a speaker of its own', async (t) => {
  const labels = clusterSpeakers(rows(near(1, 5, 2), near(4, 1, 8)), DIM, { seconds: Array(6).fill(1.5) });
  t.same(new Set(labels).size, 1);
  const kept = clusterSpeakers(rows(near(1, 5, 2), near(4, 2, 8)), DIM, { seconds: Array(7).fill(1.5) });
  t.same(new Set(kept).size, 2, 'two windows (3 s) are a speaker');
});

t.test('windows at word boundaries; a segment split where its words change speaker', async (t) => {
  const w = (word: string, start: number, end: number) => ({ word, start, end, p: 0.9 });
  const segments = [
    { start: 0, end: 3.2, text: ' One two three four.', chunk: 0, words: [w(' One', 0, 0.8), w(' two', 0.8, 1.6), w(' three', 1.6, 2.4), w(' four.', 2.4, 3.2)] },
    { start: 4, end: 5, text: ' Yes.', chunk: 0 },
  ];
  const windows = speechWindows(segments);
  t.same(windows.map((x) => [x.start, x.end, x.segment]), [[0, 1.6, 0], [1.6, 3.2, 0], [4, 5, 1]]);
  const labelled = labelSegments(segments, windows, [0, 1, 1]);
  t.same(labelled.map((s) => [s.speaker, s.text, s.start, s.end]), [['S1', 'One two', 0, 1.6], ['S2', 'three four.', 1.6, 3.2], ['S2', ' Yes.', 4, 5]]);
  t.ok(labelled[1]!.words!.every((x) => x.speaker === 'S2'), 'its words carry the speaker');
});

t.test('spectral clustering (measured beside the agglomerative one): the count from the eigengap', async (t) => {
  const three = rows(near(0, 6, 2), near(3, 6, 4), near(6, 6, 8));
  const labels = spectralSpeakers(three, DIM);
  t.equal(new Set(labels).size, 3, 'three voices, three clusters');
  t.same(new Set(labels.slice(0, 6)).size + new Set(labels.slice(6, 12)).size + new Set(labels.slice(12)).size, 3, 'each voice in one');
  t.equal(new Set(spectralSpeakers(three, DIM, 2)).size, 2, 'a given count');
});
