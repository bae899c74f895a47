import t from 'tap';
import { snapStartsToSpeech } from '../../native/engine/snap-to-speech.ts';

/** 1 s of silence, 2 s of "speech" (a loud tone), 1 s of silence, 2 s of speech */
function audio(): Float32Array {
  const a = new Float32Array(6 * 16_000);
  for (const [from, to] of [[1, 3], [4, 6]] as const) for (let i = from * 16_000; i < to * 16_000; i++) a[i] = 0.3 * Math.sin(i / 5);
  return a;
}

t.test('segments that start in silence start where the speech does (0.1 s early); others keep their times', async (t) => {
  const snapped = snapStartsToSpeech([{ start: 0, end: 3, text: 'a' }, { start: 3.2, end: 6, text: 'b' }, { start: 4.5, end: 6, text: 'c' }], audio());
  t.same(snapped.map((s) => [Number(s.start.toFixed(2)), s.end]), [[0.9, 3], [3.9, 6], [4.5, 6]]);
});

t.test('a segment over silence only keeps whisper times', async (t) => {
  const silent = new Float32Array(2 * 16_000);
  t.same(snapStartsToSpeech([{ start: 0.2, end: 1, text: 'x' }], silent), [{ start: 0.2, end: 1, text: 'x' }]);
});
