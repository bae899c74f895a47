// What an engine worker needs of a whisper implementation: a model loaded
// once, runs that can be aborted (where the implementation allows it), and
// segments in seconds. Two implementations: the hub's own whisper.cpp addon
// (whisper-cpp-backend.ts) and @napi-rs/whisper (napi-rs-backend.ts), the
// zero-build fallback.
import type { EngineInfo, EngineSegment } from './types.ts';

export interface BackendParams {
  threads: number;
  /** an ISO code, or 'auto' */
  language: string;
  /** encoder positions (whisper's 1500 for 30 s); 0 or absent: the whole window */
  audioCtx?: number;
  /** tokens per segment at most */
  maxTokens?: number;
  translate?: boolean;
  prompt?: string;
  temperature?: number;
  /** beams (1 or absent: greedy) */
  beamSize?: number;
  /** false: no temperature fallback (whisper's retries at higher temperatures when it is unsure; seconds each) */
  fallback?: boolean;
}

export interface BackendResult {
  segments: EngineSegment[];
  language: string | null;
  /** the run was stopped by abort(): its segments are incomplete */
  aborted: boolean;
}

export interface BackendRun {
  done: Promise<BackendResult>;
  /** Stops the run inside whisper; false when this implementation cannot (the run goes on). */
  abort(): boolean;
}

export interface Backend {
  readonly info: EngineInfo;
  readonly multilingual: boolean;
  /** several runs at once on one loaded model (each on a state of its own) */
  readonly concurrent: boolean;
  /** `onSegment` hears each segment as whisper emits it, where the implementation can tell (else nothing until the end) */
  run(input: Float32Array, params: BackendParams, onSegment?: (segment: EngineSegment) => void): BackendRun;
  /** memory in use on the GPU now, when there is one */
  deviceMemoryUsedBytes?(): number | undefined;
}
