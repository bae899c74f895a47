// When a pause ends an utterance: the rule of live streams, apart from the
// transcriber that applies it. The VAD only says where speech paused; this
// listens to the words too. A pause after a complete sentence (the running
// hypothesis, covering all the speech, ends in . ? or !) ends the utterance
// soon; a pause after a dangling word ("and", "the", a comma) waits longer;
// any other pause waits the session's `endpointing` silence. Pure: the caller
// measures the silence and says what the last pass heard.
//
// States, per open utterance:
//   speaking --VAD pause--> paused --VAD start--> speaking
//   paused --endpoint() says end--> ended (its final)
// The thresholds live here, in one place (docs/decisions.md has their measurements).

export const ENDPOINTING = {
  /** silence after which the VAD reports a pause: the transcriber then runs a pass to hear how the words end */
  pauseMs: 120,
  /** a complete sentence ends after this much silence */
  sentenceEndMs: 240,
  /** any other hypothesis ends after the session's endpointing (this by default) */
  defaultMs: 450,
  /** the `silence` rule (the hub's rule before the endpointer): this much silence ends any utterance */
  silenceRuleMs: 600,
  /** a dangling end waits this much longer than that */
  danglingExtraMs: 600,
  /** an utterance due to end waits this much more for a pass already hearing its pause (whose text then is the final) */
  passGraceMs: 800,
} as const;

/** Words that cannot end a sentence: a pause after them is a speaker thinking, not done. */
const DANGLING = new Set(
  'and or but so because the a an to of in on at for with from by as that which who whose whom if than then when while my your his her its our their this these those is are was were be been being i we you he she they it um uh er like just very not no'.split(' '),
);

/** Abbreviations whose period is not the end of a sentence. */
const ABBREVIATIONS = /\b(mr|mrs|ms|dr|prof|st|sr|jr|vs|etc|vol|fig|mt|ft|approx|e\.g|i\.e)\.$/i;

/** The hypothesis ends a sentence: terminal punctuation, not an abbreviation's period. */
export function isComplete(text: string): boolean {
  const t = text.trim().replace(/["'”’)\]]+$/, '');
  return /[.?!]$/.test(t) && !/\.\.\.$/.test(t) && !ABBREVIATIONS.test(t);
}

/** The hypothesis stops on a word that wants another (or on a comma, colon, dash). */
export function isDangling(text: string): boolean {
  const t = text.trim();
  if (/[,;:\-–—]$/.test(t) || /\.\.\.$/.test(t)) return true;
  const last = t.split(/\s+/).pop()?.toLowerCase().replace(/[^\p{L}']/gu, '') ?? '';
  return DANGLING.has(last);
}

export interface PauseState {
  /** ms of silence since speech stopped */
  silenceMs: number;
  /** what the last pass heard, if it covered all the speech before the pause (else undefined: not heard yet) */
  heard: string | undefined;
  /** the session's endpointing: ms of silence that end any utterance */
  maxMs: number;
}

/** Whether the paused utterance ends now. */
export function endpoint(p: PauseState): 'end' | 'wait' {
  if (p.heard !== undefined && isComplete(p.heard) && p.silenceMs >= Math.min(ENDPOINTING.sentenceEndMs, p.maxMs)) return 'end';
  const limit = p.heard !== undefined && isDangling(p.heard) ? p.maxMs + ENDPOINTING.danglingExtraMs : p.maxMs;
  return p.silenceMs >= limit ? 'end' : 'wait';
}
