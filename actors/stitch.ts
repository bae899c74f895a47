// Places a chunk's segments on the recording's timeline: shifts them by the
// chunk's offset and keeps the transcript ordered and non-overlapping across
// chunk boundaries. Pure.
import type { Segment } from '../client/protocol/types.ts';
import type { EngineSegment } from '../native/engine/types.ts';

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;
/** A word's time on the recording's timeline, kept inside its segment. */
const within = (seconds: number, start: number, end: number) => Math.min(end, Math.max(start, round(seconds)));

/**
 * @param offsetSec where the chunk starts in the recording
 * @param chunkEndSec where it ends: no segment runs past it
 * @param previousEnd where the transcript so far ends: no segment starts before it
 */
export function stitchChunk(chunk: number, raw: EngineSegment[], offsetSec: number, chunkEndSec: number, previousEnd: number): Segment[] {
  const out: Segment[] = [];
  let floor = previousEnd;
  for (const s of raw) {
    const text = s.text.trim();
    if (!text) continue;
    const start = Math.min(chunkEndSec, Math.max(floor, round(offsetSec + s.start)));
    const end = Math.min(chunkEndSec, Math.max(start, round(offsetSec + s.end)));
    const segment: Segment = { start, end, text, chunk };
    if (s.words) segment.words = s.words.map((w) => ({ ...w, start: within(offsetSec + w.start, start, end), end: within(offsetSec + w.end, start, end) }));
    if (s.avgLogprob !== undefined) segment.avgLogprob = s.avgLogprob;
    if (s.noSpeechProb !== undefined) segment.noSpeechProb = s.noSpeechProb;
    out.push(segment);
    floor = end;
  }
  return out;
}
