// What crosses between the hub and an engine worker.

export interface EngineJob {
  /** the spool's pcm file (16 kHz mono f32) */
  pcmPath: string;
  /** sample range of the chunk */
  start: number;
  end: number;
  /** ISO code, or undefined to detect */
  language?: string;
}

/** Seconds from the start of the chunk. */
export interface EngineSegment {
  start: number;
  end: number;
  text: string;
}

export interface EngineResult {
  segments: EngineSegment[];
  language: string | null;
  engineMs: number;
  audioSec: number;
}

/** Failures the pool reports; `engine_crashed` is worth a retry on a fresh worker. */
export class EngineError extends Error {
  constructor(
    readonly code: 'engine_crashed' | 'engine_failed' | 'cancelled' | 'shutting_down',
    message: string,
  ) {
    super(message);
  }
}
