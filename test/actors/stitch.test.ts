import t from 'tap';
import { stitchChunk } from '../../actors/stitch.ts';

t.test('shifts segments by the chunk offset and tags the chunk', async (t) => {
  const out = stitchChunk(2, [{ start: 0, end: 1.5, text: ' hello ' }, { start: 1.5, end: 3, text: 'world' }], 60, 90, 59.8);
  t.same(out, [
    { start: 60, end: 61.5, text: 'hello', chunk: 2 },
    { start: 61.5, end: 63, text: 'world', chunk: 2 },
  ]);
});

t.test('never overlaps what came before, never runs past the chunk, drops empty text', async (t) => {
  const out = stitchChunk(1, [{ start: 0, end: 2, text: 'a' }, { start: 1, end: 50, text: 'b' }, { start: 3, end: 4, text: '  ' }], 30, 40, 31);
  t.same(out, [
    { start: 31, end: 32, text: 'a', chunk: 1 },
    { start: 32, end: 40, text: 'b', chunk: 1 },
  ]);
});
