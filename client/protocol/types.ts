// The hub's public contract (docs/protocol.md) as types and constants. Shared
// by the server, the SDK, the CLI and the web app: it must stay free of
// Node-only imports and of zod (the validators live in messages.ts), so that
// browser bundles stay small.

export const TASK_STATUSES = ['queued', 'decoding', 'transcribing', 'completed', 'failed', 'cancelled', 'interrupted'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const FINISHED_STATUSES: readonly TaskStatus[] = ['completed', 'failed', 'cancelled', 'interrupted'];
export const isFinished = (status: TaskStatus) => FINISHED_STATUSES.includes(status);

export type TaskKind = 'file' | 'stream';

/** One word of a segment, in seconds from the recording's start; `p` is whisper's probability for it (0..1). */
export interface Word {
  word: string;
  start: number;
  end: number;
  p: number;
  /** who said it (diarization) */
  speaker?: string;
}

export interface Segment {
  start: number;
  end: number;
  text: string;
  chunk?: number;
  words?: Word[];
  /** the mean log probability of the segment's tokens, and whisper's estimate that it holds no speech */
  avgLogprob?: number;
  noSpeechProb?: number;
  speaker?: string;
}

/** How a task or stream is transcribed, as its client asked (echoed on the Task). */
export interface TranscribeOptions {
  /** translate to English */
  translate?: boolean;
  /** an initial prompt: vocabulary, names, the style to follow */
  prompt?: string;
  /** the first decoding temperature (0 to 1; higher ones follow when a pass fails) */
  temperature?: number;
  /** beam search with this many beams (1: greedy) */
  beam?: number;
  /** the model asked for by name (this hub runs one: naming another is `unknown_model`) */
  model?: string;
  /** tell speakers apart: `speaker` on segments and words (S1, S2, … in order of first appearance) */
  diarize?: boolean;
  /** how many speakers there are, when the caller knows (with diarize) */
  speakers?: number;
}

export interface Progress {
  done: number;
  total: number;
  pct: number;
}

export interface TaskError {
  code: ErrorCode;
  message: string;
}

/** A list item: a Task without its transcript unless it was asked for (`?segments=1`). */
export type TaskSummary = Omit<Task, 'segments'> & { segments?: Segment[] };

export function summary(task: Task): TaskSummary {
  const { segments: _segments, ...rest } = task;
  return rest;
}

export interface Task {
  id: string;
  userId: string;
  kind: TaskKind;
  status: TaskStatus;
  createdAt: string;
  updatedAt: string;
  name?: string;
  language?: string;
  durationSec?: number;
  progress: Progress;
  segments: Segment[];
  error?: TaskError;
  seq: number;
  /** the transcription options the client gave, when it gave any */
  options?: TranscribeOptions;
  /** what the hub could not do as asked, though the task went on (e.g. speakers left out, and why) */
  warnings?: string[];
  /** the engine model that transcribes it, e.g. `synthetic:tiny` (addition to the contract) */
  model?: string;
}

/** Stable error codes: on HTTP bodies and socket `error` frames. */
export const ERROR_CODES = [
  'unauthorized',
  'forbidden',
  'not_found',
  'bad_request',
  'unsupported_audio',
  'payload_too_large',
  'overloaded',
  'internal',
  'engine_failed',
  'shutting_down',
  'corrupt_record',
  'insufficient_storage',
  'store_unavailable',
  'audio_too_long',
  'unknown_model',
  // a live session's client went away and did not come back within the grace period
  'disconnected',
  'interrupted',
  // close reasons of /v1/stream (4008, 4009), as the SDK reports them
  'idle_timeout',
  'too_slow',
  // engine outcomes a task's error can carry
  'engine_crashed',
  'preempted',
  'cancelled',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** A code that crossed a process boundary as a string: itself when it is one of ours, else `internal`. */
export const asErrorCode = (code: string): ErrorCode => ((ERROR_CODES as readonly string[]).includes(code) ? (code as ErrorCode) : 'internal');

// ---- hub → client frames ----------------------------------------------------

export interface TaskSnapshotFrame {
  type: 'task';
  id: string;
  seq: number;
  task: Task;
}
export interface StatusFrame {
  type: 'status';
  id: string;
  seq: number;
  status: TaskStatus;
  error?: TaskError;
}
export interface ProgressFrame {
  type: 'progress';
  id: string;
  seq: number;
  done: number;
  total: number;
  pct: number;
  /** once known: the recording's length and language (additions to the contract) */
  durationSec?: number;
  language?: string;
}
export interface SegmentsFrame {
  type: 'segments';
  id: string;
  seq: number;
  chunk: number;
  segments: Segment[];
}
/** The text of a chunk still being transcribed, as whisper emits it (an addition): that chunk's `segments` frame replaces it. */
export interface PartialSegmentsFrame {
  type: 'partial_segments';
  id: string;
  seq: number;
  chunk: number;
  segments: Segment[];
}
export interface ErrorFrame {
  type: 'error';
  code: ErrorCode;
  message: string;
  ref?: unknown;
}
export interface PongFrame {
  type: 'pong';
  ref?: unknown;
}
/** Acknowledges subscribe/unsubscribe when the client sent a `ref` (addition to the contract). */
export interface AckFrame {
  type: 'subscribed' | 'unsubscribed';
  id: string;
  ref?: unknown;
}
/** Answers `watch_tasks` (always) and `unwatch_tasks` (with a `ref`): the caller's task feed is on or off (addition). */
export interface FeedAckFrame {
  type: 'watching' | 'unwatched';
  ref?: unknown;
}
/** On the task feed: the caller has a new task (an upload or a live session, from any client) (addition). */
export interface CreatedFrame {
  type: 'created';
  id: string;
  seq: number;
  task: Task;
}
/** On the task feed: one of the caller's tasks was deleted (addition). */
export interface DeletedFrame {
  type: 'deleted';
  id: string;
}
export type FeedFrame = CreatedFrame | DeletedFrame;

// ---- /v1/stream frames -------------------------------------------------------

export interface ReadyFrame {
  type: 'ready';
  id: string;
  /** on a resume: seconds of audio the session had received (addition to the contract) */
  durationSec?: number;
}
interface UtteranceText<T extends 'partial' | 'final'> {
  type: T;
  id: string;
  seq: number;
  segId: string;
  start: number;
  end: number;
  text: string;
  /** the words with their times (seconds from the stream's start) and probabilities, where the engine gives them (addition) */
  words?: Word[];
}
/** Text of the open utterance so far: replaced by a later partial or final with the same segId. */
export type PartialFrame = UtteranceText<'partial'>;
/** Text that never changes again (empty when a partial turned out to be nothing). */
export type FinalFrame = UtteranceText<'final'>;
/** The engine is behind the live audio by `seconds` (addition to the contract). */
export interface LagFrame {
  type: 'lag';
  id: string;
  seq: number;
  seconds: number;
}
export interface ClosedFrame {
  type: 'closed';
  id: string;
  durationSec: number;
}
/** `utterance_end_ms` of audio have passed since the last final word with no new speech (addition; asked for with `utterance_end_ms`). */
export interface UtteranceEndFrame {
  type: 'utterance_end';
  id: string;
  /** seconds from the stream's start */
  lastWordEnd: number;
}

/** A frame about one task: each carries the task's next `seq`. */
/** Something went wrong in a task that goes on (a live pass that failed): told, and kept in its frame history. */
export interface TaskErrorFrame {
  type: 'error';
  id: string;
  seq: number;
  code: ErrorCode;
  message: string;
}
/** Live diarization: the speakers of earlier finals, by segId (a final never changes; its speaker comes, or is corrected, this way). */
export interface SpeakersFrame {
  type: 'speakers';
  id: string;
  seq: number;
  labels: Record<string, string>;
}
export type TaskEventFrame = StatusFrame | ProgressFrame | SegmentsFrame | PartialSegmentsFrame | PartialFrame | FinalFrame | LagFrame | TaskErrorFrame | SpeakersFrame;
export type ServerFrame = TaskSnapshotFrame | TaskEventFrame | ErrorFrame | PongFrame | AckFrame | FeedAckFrame | FeedFrame | ReadyFrame | ClosedFrame | UtteranceEndFrame;

/** Raw PCM (`s16le`, `f32le`, G.711 `mulaw` / `alaw` at `rate`), Opus in `webm` / `ogg`, or `auto`: any container ffmpeg recognises. */
export const STREAM_FORMATS = ['s16le', 'f32le', 'mulaw', 'alaw', 'webm', 'ogg', 'auto'] as const;
export type StreamFormat = (typeof STREAM_FORMATS)[number];


/** Transcript export formats of `GET /v1/tasks/{id}/transcript`. */
export const TRANSCRIPT_FORMATS = ['json', 'txt', 'srt', 'vtt'] as const;
export type TranscriptFormat = (typeof TRANSCRIPT_FORMATS)[number];

/** Languages whisper knows (ISO 639-1 where one exists); `language=` takes one of these or `auto`. */
export const LANGUAGES = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et ' +
  'mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su yue'
).split(' ');
