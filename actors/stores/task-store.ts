// The contract every task store keeps (the embedded SQLite store, MongoStore),
// and the shapes of what it keeps, validated whenever they are read back.
//
// A task is stored as one small record (the Task without its transcript, plus
// what resuming it needs) and one immutable record per finished chunk holding
// that chunk's segments, so a long transcript never means rewriting a growing
// document on every chunk.
import { transcribeOptionsSchema } from '../../client/protocol/messages.ts';
import { z } from 'zod';
import { TASK_STATUSES, type Segment, type Task, type TaskStatus, type TaskSummary } from '../../client/protocol/types.ts';
import type { ChunkPlan } from '../../native/audio/chunk-planner.ts';

/** Where a task's work stands: enough to resume it after a crash. */
export interface Checkpoint {
  /** the chunk plan (sample ranges of the pcm) */
  chunks: ChunkPlan[];
  /** chunks [0, emitted) are on the transcript, and stored as chunk records */
  emitted: number;
}

export interface TaskRecord {
  /** the public task; its `segments` are not kept here but in chunk records */
  task: Task;
  /** the upload as received, in the spool */
  audioPath: string;
  /** the decoded pcm, in the spool, while the task runs */
  pcmPath: string;
  checkpoint?: Checkpoint;
  /** set once retention removed the audio */
  audioRemovedAt?: string;
}

/** One finished chunk's place on the transcript. Written once; rewriting it is harmless (same content). */
export interface ChunkRecord {
  taskId: string;
  chunk: number;
  segments: Segment[];
}

/** A task as read back: its record, with `task.segments` assembled from its chunk records. */
export type StoredTask = TaskRecord;

export interface WriteBatch {
  tasks: TaskRecord[];
  chunks: ChunkRecord[];
}

export interface ListQuery {
  userId: string;
  status?: TaskStatus;
  limit: number;
  /** only tasks created before this instant (ISO-8601): the cursor of the next page */
  before?: string;
  /** with their transcripts (costly for long recordings: read only when asked) */
  segments?: boolean;
}

/** Cluster mode: one owner per unfinished task, fenced (stores/mongo-leases.ts). A store without it serves one hub. */
export interface TaskLeases {
  /** Renews the leases held; returns the tasks another hub took meanwhile (their actors must stop here). */
  renew(): Promise<string[]>;
  /** Takes the leases of unfinished tasks nobody holds (`own`: also this node id's, from a previous run); returns their ids. */
  claim(own?: boolean): Promise<string[]>;
  /** Takes one task's lease whoever holds it (a live session resumed on this hub); false if it changed hands meanwhile or is gone. */
  takeOver(taskId: string): Promise<boolean>;
  /** Lets go of every lease held (graceful shutdown): other hubs take the tasks at once. */
  release(): Promise<void>;
  /** No more renewals for this task here. */
  forget(taskId: string): void;
  held(): string[];
}

export interface TaskStore {
  readonly kind: string;
  /** present in cluster mode: every task has one owner, and writes by any other hub are refused */
  readonly leases?: TaskLeases;
  /** Creates the indexes and checks the connection. */
  open(): Promise<void>;
  /** Records a new task; the one write anybody waits for (the upload's 201). */
  insert(record: TaskRecord): Promise<void>;
  /**
   * Writes chunk records (first: a checkpoint never claims chunks the store
   * lacks), then task records. Idempotent and ordered by seq: an older or equal
   * seq never overwrites a task, and a deleted task is never recreated.
   */
  write(batch: WriteBatch): Promise<void>;
  get(id: string): Promise<StoredTask | undefined>;
  /** A user's tasks, newest first. */
  list(query: ListQuery): Promise<TaskSummary[]>;
  /** Tasks not in a final state, for resuming after a restart. */
  unfinished(): Promise<StoredTask[]>;
  /** Finished tasks last updated before `before` whose audio is still kept. */
  expiredAudio(before: string, limit: number): Promise<TaskRecord[]>;
  markAudioRemoved(ids: string[], at: string): Promise<void>;
  /** Deletes the task and its chunk records. */
  delete(id: string): Promise<boolean>;
  /** Throws when the store cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A stored document that does not have the shape it must have. */
export class CorruptRecordError extends Error {
  readonly code = 'corrupt_record';
}

export const segmentSchema = z.object({
  start: z.number(),
  end: z.number(),
  text: z.string(),
  chunk: z.number().int().optional(),
  speaker: z.string().optional(),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number(), p: z.number(), speaker: z.string().max(10).optional() })).optional(),
  avgLogprob: z.number().optional(),
  noSpeechProb: z.number().optional(),
});

export const taskSchema = z.object({
  id: z.string().min(1),
  userId: z.string().min(1),
  kind: z.enum(['file', 'stream']),
  status: z.enum(TASK_STATUSES),
  createdAt: z.string(),
  updatedAt: z.string(),
  name: z.string().optional(),
  language: z.string().optional(),
  durationSec: z.number().optional(),
  progress: z.object({ done: z.number(), total: z.number(), pct: z.number() }),
  segments: z.array(segmentSchema),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
  seq: z.number().int().min(0),
  model: z.string().optional(),
  options: transcribeOptionsSchema.optional(),
  warnings: z.array(z.string().max(1000)).max(20).optional(),
});

export const taskRecordSchema = z.object({
  task: taskSchema,
  audioPath: z.string(),
  pcmPath: z.string(),
  checkpoint: z
    .object({
      chunks: z.array(z.object({ index: z.number().int().min(0), start: z.number().int().min(0), end: z.number().int().min(0), silent: z.boolean() })),
      emitted: z.number().int().min(0),
    })
    .optional(),
  audioRemovedAt: z.string().optional(),
});

export const chunkSegmentsSchema = z.array(segmentSchema);

/** Validates a task record read back from a store. */
export function parseTaskRecord(value: unknown, id: string): TaskRecord {
  const parsed = taskRecordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new CorruptRecordError(`stored task ${id} is malformed: ${issue?.path.join('.')} ${issue?.message ?? ''}`.trim());
  }
  return parsed.data as TaskRecord;
}

export function parseChunkSegments(value: unknown, id: string, chunk: number): Segment[] {
  const parsed = chunkSegmentsSchema.safeParse(value);
  if (!parsed.success) throw new CorruptRecordError(`stored chunk ${chunk} of task ${id} is malformed`);
  return parsed.data;
}

/** The record as stored: the transcript lives in chunk records. */
export const withoutSegments = (record: TaskRecord): TaskRecord => ({ ...record, task: { ...record.task, segments: [] } });
