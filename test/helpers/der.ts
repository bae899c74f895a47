// Diarization error rate, as NIST scores it: over the reference's speech
// time, the share that is missed (no hypothesis speaker), false alarm
// (hypothesis speech where the reference has none) and confusion (the wrong
// speaker, after mapping hypothesis speakers to reference speakers the way
// that agrees most). Time within `collar` seconds of a reference boundary is
// not scored. Frames of 10 ms.

export interface Labelled {
  speaker: string;
  start: number;
  end: number;
}

export interface Der {
  der: number;
  missed: number;
  falseAlarm: number;
  confusion: number;
  /** seconds of scored reference speech */
  speech: number;
}

const FRAME = 0.01;

export function diarizationError(reference: Labelled[], hypothesis: Labelled[], collar = 0.25): Der {
  const end = Math.max(...reference.map((r) => r.end), ...hypothesis.map((h) => h.end), 0);
  const frames = Math.ceil(end / FRAME);
  const ref: (string | undefined)[] = new Array(frames);
  const hyp: (string | undefined)[] = new Array(frames);
  const scored = new Array<boolean>(frames).fill(true);
  const paint = (into: (string | undefined)[], turns: Labelled[]) => {
    for (const t of turns) for (let f = Math.round(t.start / FRAME); f < Math.round(t.end / FRAME) && f < frames; f++) into[f] = t.speaker;
  };
  paint(ref, reference);
  paint(hyp, hypothesis);
  for (const r of reference) {
    for (const edge of [r.start, r.end]) {
      for (let f = Math.max(0, Math.round((edge - collar) / FRAME)); f < Math.min(frames, Math.round((edge + collar) / FRAME)); f++) scored[f] = false;
    }
  }
  // Overlap of each hypothesis speaker with each reference speaker, then the best one-to-one mapping.
  const refSpeakers = [...new Set(reference.map((r) => r.speaker))];
  const hypSpeakers = [...new Set(hypothesis.map((h) => h.speaker))];
  const overlap = new Map<string, number>();
  for (let f = 0; f < frames; f++) if (scored[f] && ref[f] && hyp[f]) overlap.set(`${hyp[f]}|${ref[f]}`, (overlap.get(`${hyp[f]}|${ref[f]}`) ?? 0) + 1);
  const mapping = bestMapping(hypSpeakers, refSpeakers, (h, r) => overlap.get(`${h}|${r}`) ?? 0);
  let [speech, missed, falseAlarm, confusion] = [0, 0, 0, 0];
  for (let f = 0; f < frames; f++) {
    if (!scored[f]) continue;
    if (ref[f]) speech++;
    if (ref[f] && !hyp[f]) missed++;
    else if (!ref[f] && hyp[f]) falseAlarm++;
    else if (ref[f] && hyp[f] && mapping.get(hyp[f]!) !== ref[f]) confusion++;
  }
  const share = (n: number) => (speech === 0 ? 0 : n / speech);
  return { der: share(missed + falseAlarm + confusion), missed: share(missed), falseAlarm: share(falseAlarm), confusion: share(confusion), speech: speech * FRAME };
}

/** The one-to-one mapping of hypothesis to reference speakers with the most agreement (exhaustive: a handful of speakers). */
function bestMapping(hyp: string[], ref: string[], agree: (h: string, r: string) => number): Map<string, string> {
  let best = new Map<string, string>();
  let bestScore = -1;
  const walk = (i: number, used: Set<string>, current: Map<string, string>, score: number) => {
    if (i === hyp.length) {
      if (score > bestScore) [bestScore, best] = [score, new Map(current)];
      return;
    }
    walk(i + 1, used, current, score); // this hypothesis speaker maps to nobody
    for (const r of ref) {
      if (used.has(r)) continue;
      used.add(r);
      current.set(hyp[i]!, r);
      walk(i + 1, used, current, score + agree(hyp[i]!, r));
      current.delete(hyp[i]!);
      used.delete(r);
    }
  };
  walk(0, new Set(), new Map(), 0);
  return best;
}
