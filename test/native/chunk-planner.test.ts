import t from 'tap';
import { planChunks } from '../../native/audio/chunk-planner.ts';
import { FRAME_SAMPLES } from '../../native/audio/energy.ts';

const FPS = 16_000 / FRAME_SAMPLES; // 50 frames a second

/** Loud everywhere except quiet gaps at the given seconds (each `gapSec` long). */
function energies(totalSec: number, gaps: number[], gapSec = 0.6): Float32Array {
  const e = new Float32Array(Math.round(totalSec * FPS)).fill(0.1);
  for (const g of gaps) e.fill(0.0005, Math.round(g * FPS), Math.round((g + gapSec) * FPS));
  return e;
}

const secs = (samples: number) => samples / 16_000;

t.test('audio up to 30 s is one chunk', async (t) => {
  const chunks = planChunks(energies(29, []), 29 * 16_000);
  t.equal(chunks.length, 1);
  t.match(chunks[0], { index: 0, start: 0, end: 29 * 16_000, silent: false });
});

t.test('longer audio is cut inside the quiet gaps, never over 30 s', async (t) => {
  const total = 75;
  const chunks = planChunks(energies(total, [12, 24, 41, 58]), total * 16_000);
  t.ok(chunks.length >= 3);
  for (const [i, c] of chunks.entries()) {
    t.equal(c.index, i);
    t.ok(secs(c.end - c.start) <= 30, `chunk ${i} is ${secs(c.end - c.start)} s`);
    if (i > 0) t.equal(c.start, chunks[i - 1]!.end, 'chunks are contiguous');
  }
  t.equal(chunks.at(-1)!.end, total * 16_000, 'the last chunk ends with the audio');
  for (const c of chunks.slice(1)) {
    const cut = secs(c.start);
    t.ok([24, 41, 58].some((g) => cut >= g && cut <= g + 0.6), `cut at ${cut} s falls in a gap`);
  }
});

t.test('with no pause at all, cuts at exactly 30 s', async (t) => {
  const chunks = planChunks(energies(70, []), 70 * 16_000);
  t.same(chunks.map((c) => secs(c.end - c.start)), [30, 30, 10]);
});

t.test('chunks with no sound are marked silent', async (t) => {
  const e = energies(65, []);
  e.fill(0, 30 * FPS, 60 * FPS);
  const chunks = planChunks(e, 65 * 16_000);
  t.same(chunks.map((c) => c.silent), [false, true, false]);
});

t.test('empty audio gives no chunks', async (t) => {
  t.same(planChunks(new Float32Array(0), 0), []);
});
