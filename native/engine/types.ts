// What crosses between the hub and an engine worker.
import type { TranscribeOptions } from '../../client/protocol/types.ts';

/** A chunk of a file in the spool, or live audio sent along. */
export type EngineJob = (FileAudio | LiveAudio) & {
  /** ISO code, or undefined to detect */
  language?: string;
  /** the task's or stream's transcription options */
  options?: TranscribeOptions;
  /** the model file to run (one the workers loaded); absent: the hub's default model */
  model?: string;
  /** what the job is for (shown to operators) */
  tag?: { taskId: string; chunk?: number };
};

export interface FileAudio {
  /** the spool's pcm file (16 kHz mono f32) */
  pcmPath: string;
  /** sample range of the chunk */
  start: number;
  end: number;
}

export interface LiveAudio {
  /** 16 kHz mono samples (a live utterance, at most 30 s) */
  samples: Float32Array;
  /** size the encoder to the audio instead of whisper's 30 s window: far faster on short audio */
  fitContext?: boolean;
}

/** Seconds from the start of the chunk. */
export interface EngineWord {
  word: string;
  start: number;
  end: number;
  p: number;
}

/** Seconds from the start of the chunk; words and confidence where the engine gives them (the whisper.cpp addon). */
export interface EngineSegment {
  start: number;
  end: number;
  text: string;
  words?: EngineWord[];
  avgLogprob?: number;
  noSpeechProb?: number;
}

/** What runs in an engine worker: the implementation, and where. */
export interface EngineInfo {
  impl: 'whisper.cpp' | 'napi-rs';
  version: string;
  backend: 'cpu' | 'cuda';
  /** the GPU it runs on, when it does */
  device?: string;
  /** memory in use on that GPU (the whole device's, as the driver reports it) */
  deviceMemoryUsedBytes?: number;
  /** whisper.cpp was asked for but could not be loaded: why */
  fallbackReason?: string;
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
