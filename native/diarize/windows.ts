// Where speakers are told apart: a transcript's segments cut into windows of
// about WINDOW_SEC at word boundaries (a turn can change inside a segment),
// each embedded and clustered; then the labels go back onto the words, and a
// segment whose words were said by two speakers is split where the turn
// changes. Speakers are `S1`, `S2`, … in order of first appearance.
import type { Segment, Word } from '../../client/protocol/types.ts';

/** Long enough for a steady embedding, short enough to catch a turn inside a segment. */
export const WINDOW_SEC = 1.5;
/** A last piece shorter than this joins the window before it. */
const MIN_WINDOW_SEC = 0.75;

export interface SpeechWindow {
  start: number;
  end: number;
  /** the segment it belongs to */
  segment: number;
}

export function speechWindows(segments: Segment[]): SpeechWindow[] {
  const windows: SpeechWindow[] = [];
  segments.forEach((segment, index) => {
    const cuts = segment.words?.length ? wordCuts(segment.words) : evenCuts(segment.start, segment.end);
    for (const [start, end] of cuts) if (end > start) windows.push({ start, end, segment: index });
  });
  return windows;
}

function wordCuts(words: Word[]): [number, number][] {
  const cuts: [number, number][] = [];
  let from = words[0]!.start;
  for (const word of words) {
    if (word.end - from >= WINDOW_SEC) {
      cuts.push([from, word.end]);
      from = word.end;
    }
  }
  const last = words[words.length - 1]!.end;
  if (last > from) {
    if (cuts.length > 0 && last - from < MIN_WINDOW_SEC) cuts[cuts.length - 1]![1] = last;
    else cuts.push([from, last]);
  }
  return cuts;
}

function evenCuts(start: number, end: number): [number, number][] {
  const n = Math.max(1, Math.floor((end - start) / WINDOW_SEC));
  return Array.from({ length: n }, (_, i) => [start + ((end - start) * i) / n, start + ((end - start) * (i + 1)) / n]);
}

/** The segments with speakers (labels: one per window, 0-based, in order of first appearance); a segment split where its words change speaker. */
export function labelSegments(segments: Segment[], windows: SpeechWindow[], labels: number[]): Segment[] {
  const name = (label: number) => `S${label + 1}`;
  const bySegment = new Map<number, { window: SpeechWindow; label: number }[]>();
  windows.forEach((window, i) => bySegment.set(window.segment, [...(bySegment.get(window.segment) ?? []), { window, label: labels[i]! }]));
  return segments.flatMap((segment, index) => {
    const mine = bySegment.get(index) ?? [];
    if (mine.length === 0) return [segment];
    const labelAt = (t: number) => (mine.find(({ window }) => t <= window.end) ?? mine[mine.length - 1]!).label;
    if (!segment.words?.length) return [{ ...segment, speaker: name(majority(mine.map((m) => m.label))) }];
    // Runs of words said by one speaker.
    const runs: { label: number; words: Word[] }[] = [];
    for (const word of segment.words) {
      const label = labelAt((word.start + word.end) / 2);
      const run = runs[runs.length - 1];
      if (run && run.label === label) run.words.push(word);
      else runs.push({ label, words: [word] });
    }
    const said = (label: number, words: Word[]) => words.map((w) => ({ ...w, speaker: name(label) }));
    if (runs.length === 1) return [{ ...segment, words: said(runs[0]!.label, segment.words), speaker: name(runs[0]!.label) }];
    return runs.map(({ label, words }) => ({
      ...segment,
      start: words[0]!.start,
      end: words[words.length - 1]!.end,
      text: words.map((w) => w.word).join('').trim(),
      words: said(label, words),
      speaker: name(label),
    }));
  });
}

function majority(labels: number[]): number {
  const counts = new Map<number, number>();
  for (const l of labels) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
}
