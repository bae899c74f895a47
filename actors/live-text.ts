// Text rules of the live transcriber, apart from its timing: how a pass's
// segments become one line, when two passes agree (LocalAgreement-2 compares
// segment texts), and which words a pass hears again after a commit.
import type { EngineSegment } from '../native/engine/types.ts';

export const joinText = (segments: EngineSegment[]) => segments.map((s) => s.text.trim()).filter(Boolean).join(' ');

/** Two passes agree on a segment when its words are the same (case and spacing aside). */
export const sameText = (a: string, b: string) => norm(a) === norm(b);
const norm = (text: string) => text.trim().toLowerCase().replace(/\s+/g, ' ');

/** the longest repetition of committed words looked for at the start of a later pass (as whisper_streaming) */
export const MAX_OVERLAP = 5;
export const words = (text: string) => text.split(/\s+/).filter(Boolean);
const bare = (word: string) => word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '');

/**
 * The cut after a commit falls where whisper said a segment ended, which can
 * be a little early: the next pass then hears the last word or two again.
 * Drops the longest start of `text` (up to MAX_OVERLAP words) that repeats
 * the end of what was committed.
 */
export function dropOverlap(text: string, tail: string[]): string {
  if (tail.length === 0 || !text) return text;
  const head = words(text);
  for (let n = Math.min(MAX_OVERLAP, tail.length, head.length); n >= 1; n--) {
    let same = true;
    for (let i = 0; i < n && same; i++) same = bare(head[i]!) === bare(tail[tail.length - n + i]!);
    if (same) return head.slice(n).join(' ');
  }
  return text;
}

