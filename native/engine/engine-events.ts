// What an engine worker tells its pool besides answering calls: the segments
// of a running job as whisper emits them. Sent on the same IPC channel as
// Comlink's messages, which ignores them (they carry no Comlink id), so they
// arrive in order with the job's answer: every event of a job before its result.
import type { EngineSegment } from './types.ts';

/** the key naming the pool's job id in a segments event */
export const SEGMENTS_EVENT = 'engineSegmentsOf';

export interface SegmentsEvent {
  [SEGMENTS_EVENT]: number;
  /** everything kept so far of the running chunk (replaces the previous event's list) */
  segments: EngineSegment[];
}

export function isSegmentsEvent(message: unknown): message is SegmentsEvent {
  return typeof message === 'object' && message !== null && typeof (message as Record<string, unknown>)[SEGMENTS_EVENT] === 'number';
}
