// Whisper's best-known failure: on short audio with a shrunken encoder context
// (the live passes size it to the audio, for speed) the decoder can fall into
// a loop and repeat a word or phrase until its token budget is spent ("5, 5,
// 5, ..." for a 1.8 s "five five"), or say a phrase twice ("have been made
// amiable himself. And have been made amiable himself." for 3 s of audio),
// both measured on the real recordings. Such a transcript is recognisable:
// more words than anyone can say in that time, one phrase over and over, or a
// long phrase twice. The engine then runs the pass again with the full context
// (engine-process.ts): a false alarm costs one pass, never words.

/** words per second nobody speaks (fast speech is about 4) */
const MAX_WORDS_PER_SEC = 6;
/** a phrase of up to this many words ... */
const MAX_PHRASE = 4;
/** ... said this many times in a row is a loop */
const LOOP_REPEATS = 4;
/** a phrase this long said twice in one short pass is an echo */
const ECHO_WORDS = 4;

export function isRunaway(text: string, audioSec: number): boolean {
  const words = text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s]/gu, ' ')
    .split(/\s+/)
    .filter(Boolean);
  if (words.length > Math.max(8, MAX_WORDS_PER_SEC * audioSec)) return true;
  const seen = new Map<string, number>(); // phrase → where it ended
  for (let start = 0; start + ECHO_WORDS <= words.length; start++) {
    const phrase = words.slice(start, start + ECHO_WORDS).join(' ');
    const end = seen.get(phrase);
    if (end !== undefined && start >= end) return true;
    if (end === undefined) seen.set(phrase, start + ECHO_WORDS);
  }
  for (let n = 1; n <= MAX_PHRASE; n++) {
    for (let start = 0; start + n * LOOP_REPEATS <= words.length; start++) {
      let repeats = 1;
      while (start + (repeats + 1) * n <= words.length && sameRun(words, start, start + repeats * n, n)) repeats++;
      if (repeats >= LOOP_REPEATS) return true;
    }
  }
  return false;
}

function sameRun(words: string[], a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (words[a + i] !== words[b + i]) return false;
  return true;
}
