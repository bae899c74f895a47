// Cuts a recording into engine-sized chunks (at most 30 s, whisper's window) at
// its quietest moments, so that words are not split between two chunks, and
// marks chunks with no sound at all so the engine is never asked to invent text
// for silence. Pure: frame energies in, sample ranges out.
import { FRAME_SAMPLES } from './energy.ts';
import { SAMPLE_RATE } from './pcm.ts';

export interface ChunkPlan {
  index: number;
  /** first sample (16 kHz) */
  start: number;
  /** one past the last sample */
  end: number;
  /** no frame rises above the silence level: skip the engine */
  silent: boolean;
}

export interface PlanOptions {
  maxChunkSec: number;
  /** cuts are searched for in [minChunkSec, maxChunkSec] after the previous cut */
  minChunkSec: number;
  /** frame RMS below which a whole chunk counts as silence (0.003 ≈ -50 dBFS) */
  silenceRms: number;
  /** the loudness used to pick a cut is averaged over this many frames each side */
  smoothFrames: number;
}

export const DEFAULT_PLAN: PlanOptions = { maxChunkSec: 30, minChunkSec: 15, silenceRms: 0.003, smoothFrames: 5 };

const FRAMES_PER_SEC = SAMPLE_RATE / FRAME_SAMPLES;

export function planChunks(energies: Float32Array, totalSamples: number, options: Partial<PlanOptions> = {}): ChunkPlan[] {
  const o = { ...DEFAULT_PLAN, ...options };
  const frames = energies.length;
  const maxFrames = Math.floor(o.maxChunkSec * FRAMES_PER_SEC);
  const minFrames = Math.min(maxFrames, Math.max(1, Math.floor(o.minChunkSec * FRAMES_PER_SEC)));
  const smooth = movingAverage(energies, o.smoothFrames);

  const cuts: number[] = [0];
  let pos = 0;
  while (frames - pos > maxFrames) {
    let best = pos + maxFrames;
    for (let f = pos + maxFrames; f >= pos + minFrames; f--) {
      if (smooth[f]! < smooth[best]!) best = f; // strict: ties keep the later, longer chunk
    }
    cuts.push(best);
    pos = best;
  }
  cuts.push(frames);

  const chunks: ChunkPlan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i]!, cuts[i + 1]!];
    if (to <= from) continue;
    let loudest = 0;
    for (let f = from; f < to; f++) loudest = Math.max(loudest, energies[f]!);
    chunks.push({
      index: chunks.length,
      start: from * FRAME_SAMPLES,
      end: to === frames ? totalSamples : to * FRAME_SAMPLES,
      silent: loudest < o.silenceRms,
    });
  }
  return chunks;
}

function movingAverage(values: Float32Array, halfWidth: number): Float32Array {
  const out = new Float32Array(values.length);
  let sum = 0;
  let lo = 0;
  let hi = 0; // window is [lo, hi)
  for (let i = 0; i < values.length; i++) {
    while (hi < Math.min(values.length, i + halfWidth + 1)) sum += values[hi++]!;
    while (lo < i - halfWidth) sum -= values[lo++]!;
    out[i] = sum / (hi - lo);
  }
  return out;
}
