// Where a pass's text may be cut at a pause: the endpointer's rule applied
// inside an utterance. A pause the VAD heard (long enough to be the gap
// between sentences) where the pass's words end a sentence is a boundary:
// what comes before it is final, what comes after is the next utterance —
// even when the speaker went on before the pass came back. Pure.
import type { EngineSegment, EngineWord } from '../native/engine/types.ts';
import { ENDPOINTING, isComplete } from './endpointer.ts';

/** A pause inside the window, in seconds from the window's start; `end` absent: still silent. */
export interface Pause {
  start: number;
  end?: number;
}

/** Whisper's word times are this far off the audio, at worst, as measured (bench:words p90 ~0.5 s). */
const WORD_SLACK_SEC = 0.45;

export interface Split {
  /** the text up to the boundary, as segments */
  before: EngineSegment[];
  /** what comes after it (times still from the window's start) */
  after: EngineSegment[];
  /** where to cut the window (seconds from its start): inside the pause */
  cut: number;
  /** the pause it was cut at */
  pause: Pause;
}

/**
 * The first boundary of `segments` (a pass over `covered` seconds of the
 * window) at one of `pauses` that has lasted long enough (`now`: seconds of
 * audio heard so far, for a pause still going on), or undefined.
 */
export function splitAtPause(segments: EngineSegment[], pauses: Pause[], covered: number, now: number): Split | undefined {
  const words = segments.flatMap((s, si) => (s.words?.length ? s.words : [{ word: s.text.trim(), start: s.start, end: s.end, p: 1 } as EngineWord]).map((w) => ({ ...w, si })));
  for (const pause of pauses) {
    const gap = (pause.end ?? now) - pause.start;
    if (gap * 1000 < ENDPOINTING.sentenceEndMs || covered < pause.start) continue;
    // the last word that ends near the pause's start and is not followed by a word from before it
    for (let i = words.length - 1; i >= 0; i--) {
      const w = words[i]!;
      if (w.end > pause.start + WORD_SLACK_SEC) continue;
      if (w.end < pause.start - WORD_SLACK_SEC) break;
      const next = words[i + 1];
      if (next && next.start < pause.start - 0.15) break;
      const text = [...words.slice(0, i + 1).map((x) => x.word)].join(' ');
      if (!isComplete(text)) break;
      return { ...cutAfter(segments, words, i), cut: pause.start + Math.min(0.15, gap / 2), pause };
    }
  }
  return undefined;
}

/** The segments split after word `i` (a segment cut in two where the word falls inside it). */
function cutAfter(segments: EngineSegment[], words: (EngineWord & { si: number })[], i: number): { before: EngineSegment[]; after: EngineSegment[] } {
  const w = words[i]!;
  const seg = segments[w.si]!;
  const inSeg = words.filter((x) => x.si === w.si);
  const k = inSeg.indexOf(w);
  const before = segments.slice(0, w.si);
  const after = segments.slice(w.si + 1);
  if (!seg.words?.length || k === inSeg.length - 1) return { before: [...before, seg], after };
  const head = seg.words.slice(0, k + 1);
  const tail = seg.words.slice(k + 1);
  const part = (ws: EngineWord[]): EngineSegment => ({ ...seg, start: ws[0]!.start, end: ws.at(-1)!.end, text: ws.map((x) => x.word).join(' '), words: ws });
  return { before: [...before, { ...part(head), start: seg.start }], after: [part(tail), ...after] };
}
