// One utterance of a live stream as the live transcriber holds it: its audio
// window (with a short pre-roll from before the VAD heard speech), what the
// last pass over it said, and the text on screen. Plain data and the small
// functions that build and measure it.
import type { EngineSegment } from '../native/engine/types.ts';
import type { Word } from '../client/protocol/types.ts';
import { SAMPLE_RATE, concatArrays } from '../native/audio/pcm.ts';

const PRE_ROLL_SAMPLES = 0.3 * SAMPLE_RATE;

export interface Utterance {
  segId: string;
  /** sample position (in the stream) of the window's first sample */
  start: number;
  chunks: Float32Array[];
  length: number;
  /** segments of the previous partial pass over this window, for LocalAgreement-2 */
  previous: EngineSegment[] | undefined;
  /** window length covered by the last pass */
  passedLength: number;
  /** the utterance is over: only its final pass remains */
  closed: boolean;
  /** the text of the partial on screen for segId ('' if none) */
  shown: string;
  /** the last words made final in this utterance: a pass over the rest may hear them again */
  tail: string[];
  /** the level of its loudest 20 ms of audio so far (dBFS): what its speech sounds like */
  loudestDb: number;
}

/** The last ~0.3 s heard outside speech: the VAD answers late, the first syllable is in here. */
export class PreRoll {
  private recent: Float32Array[] = [];
  private length = 0;

  remember(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.recent.push(samples.slice());
    this.length += samples.length;
    while (this.recent.length > 1 && this.length - this.recent[0]!.length >= PRE_ROLL_SAMPLES) this.length -= this.recent.shift()!.length;
  }

  /** Forgets what it heard (the client dropped its buffer). */
  clear(): void {
    this.recent = [];
    this.length = 0;
  }

  /** An utterance that starts at sample `at`, opening with the pre-roll (which is used up). */
  open(segId: string, at: number): Utterance {
    const preRoll = joinChunks(this.recent, this.length).subarray(-PRE_ROLL_SAMPLES);
    this.recent = [];
    this.length = 0;
    return { segId, start: at - preRoll.length, chunks: preRoll.length ? [preRoll] : [], length: preRoll.length, previous: undefined, passedLength: 0, closed: false, shown: '', tail: [], loudestDb: loudestFrameDb(preRoll) };
  }
}

export function append(u: Utterance, samples: Float32Array): void {
  if (samples.length === 0) return;
  u.chunks.push(samples.slice());
  u.length += samples.length;
  u.loudestDb = Math.max(u.loudestDb, loudestFrameDb(samples));
}

/** Samples [from, to) of the window (positions in it), copied out of its chunks. */
export function rangeOf(u: Utterance, from: number, to: number): Float32Array {
  const out = new Float32Array(Math.max(0, Math.min(to, u.length) - Math.max(0, from)));
  let at = 0; // window position of the chunk's first sample
  for (const chunk of u.chunks) {
    const lo = Math.max(from, at);
    const hi = Math.min(to, at + chunk.length);
    if (hi > lo) out.set(chunk.subarray(lo - at, hi - at), lo - Math.max(0, from));
    at += chunk.length;
    if (at >= to) break;
  }
  return out;
}

const LEVEL_FRAME = 0.02 * SAMPLE_RATE;

/** The level (dBFS) of the loudest 20 ms frame of `samples` (a shorter last frame counts on its own length); -Infinity when empty. */
export function loudestFrameDb(samples: Float32Array): number {
  let loudest = 0;
  for (let at = 0; at < samples.length; at += LEVEL_FRAME) {
    const end = Math.min(samples.length, at + LEVEL_FRAME);
    let sum = 0;
    for (let i = at; i < end; i++) sum += samples[i]! * samples[i]!;
    loudest = Math.max(loudest, sum / (end - at));
  }
  return samples.length ? 10 * Math.log10(loudest + 1e-12) : Number.NEGATIVE_INFINITY;
}

export function audioOf(u: Utterance): Float32Array {
  return joinChunks(u.chunks, u.length);
}

/** Start and end of `segments` (of a pass over `length` samples of `u`) in seconds from the stream's start. */
export function spanOf(u: Utterance, segments: EngineSegment[], length: number): { start: number; end: number } {
  const base = u.start / SAMPLE_RATE;
  const start = base + (segments[0]?.start ?? 0);
  const end = base + Math.min(length / SAMPLE_RATE, segments.at(-1)?.end ?? length / SAMPLE_RATE);
  return { start: round(start), end: round(Math.max(start, end)) };
}

/**
 * The words of `segments` (of a pass over `u`) in stream seconds, inside
 * `span`, as `{words}` to spread into an event, or nothing when the engine gave none. `text` is
 * what is shown of them: words dropped from its start (heard again after a
 * commit) are dropped here too.
 */
export function wordsOf(u: Utterance, segments: EngineSegment[], text: string, span: { start: number; end: number }): { words?: Word[] } {
  const all = segments.flatMap((s) => s.words ?? []);
  if (all.length === 0 || !text) return {};
  const base = u.start / SAMPLE_RATE;
  const kept = all.slice(Math.max(0, all.length - text.split(/\s+/).filter(Boolean).length));
  // whisper's word times may stray past the span the text is given (a cut at a pause): inside it
  const inside = (t: number) => round(Math.min(span.end, Math.max(span.start, base + t)));
  return { words: kept.map((w) => ({ word: w.word.trim(), start: inside(w.start), end: inside(Math.max(w.start, w.end)), p: Math.round(w.p * 1000) / 1000 })) };
}

const round = (s: number) => Math.round(s * 1000) / 1000;

function joinChunks(chunks: Float32Array[], length: number): Float32Array {
  if (chunks.length === 1) return chunks[0]!;
  return chunks.length ? concatArrays(chunks) : new Float32Array(length);
}
