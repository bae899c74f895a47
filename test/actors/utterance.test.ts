// The live utterance's small measures: ranges out of its chunks, and levels.
import t from 'tap';
import { PreRoll, append, loudestFrameDb, rangeOf } from '../../actors/utterance.ts';

t.test('rangeOf copies any range out of the chunks, clipped to the window', async (t) => {
  const u = new PreRoll().open('s-1', 0);
  for (const part of [[1, 2, 3], [4], [5, 6, 7, 8]]) append(u, Float32Array.from(part));
  t.same([...rangeOf(u, 2, 6)], [3, 4, 5, 6], 'across three chunks');
  t.same([...rangeOf(u, 0, 3)], [1, 2, 3], 'one chunk whole');
  t.same([...rangeOf(u, 6, 20)], [7, 8], 'clipped at the end');
  t.same([...rangeOf(u, 5, 5)], [], 'empty');
});

t.test('loudestFrameDb: the loudest 20 ms, in dBFS; the utterance keeps its loudest', async (t) => {
  const quiet = new Float32Array(640).fill(0.001); // -60 dBFS
  const loud = Float32Array.from({ length: 640 }, (_, i) => (i >= 320 ? 0.5 : 0.001)); // its second frame at -6 dBFS
  t.equal(Math.round(loudestFrameDb(quiet)), -60);
  t.equal(Math.round(loudestFrameDb(loud)), -6);
  t.equal(loudestFrameDb(new Float32Array(0)), Number.NEGATIVE_INFINITY);
  const u = new PreRoll().open('s-2', 0);
  append(u, quiet);
  append(u, loud);
  append(u, quiet);
  t.equal(Math.round(u.loudestDb), -6);
});
