// The contract every task store keeps (embedded SQLite today, MongoDB later),
// and the shape of a stored task, validated whenever one is read back.
import { z } from 'zod';
import { TASK_STATUSES, type Task, type TaskStatus } from '../../client/protocol.ts';

export interface StoredTask {
  task: Task;
  /** the upload as received, in the spool */
  audioPath: string;
  /** the decoded pcm, in the spool */
  pcmPath: string;
}

export interface ListQuery {
  userId: string;
  status?: TaskStatus;
  limit: number;
  /** only tasks created before this instant (ISO-8601): the cursor of the next page */
  before?: string;
}

export interface TaskStore {
  readonly kind: string;
  /** Records a new task; the one write anybody waits for (the upload's 201). */
  insert(doc: StoredTask): Promise<void>;
  /** Writes newer versions of existing tasks: an older or equal seq never overwrites, a deleted task stays deleted. */
  update(docs: StoredTask[]): Promise<void>;
  get(id: string): Promise<StoredTask | undefined>;
  /** A user's tasks, newest first. */
  list(query: ListQuery): Promise<Task[]>;
  /** Tasks not in a final state, for resuming after a restart. */
  unfinished(): Promise<StoredTask[]>;
  delete(id: string): Promise<boolean>;
  /** Throws when the store cannot serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** A stored document that does not have the shape it must have. */
export class CorruptRecordError extends Error {
  readonly code = 'corrupt_record';
}

const segmentSchema = z.object({
  start: z.number(),
  end: z.number(),
  text: z.string(),
  chunk: z.number().int().optional(),
  speaker: z.string().optional(),
  words: z.array(z.object({ start: z.number(), end: z.number(), text: z.string() })).optional(),
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
});

const storedTaskSchema = z.object({ task: taskSchema, audioPath: z.string(), pcmPath: z.string() });

export function parseStoredTask(json: string, id: string): StoredTask {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new CorruptRecordError(`stored task ${id} is not valid JSON`);
  }
  const parsed = storedTaskSchema.safeParse(value);
  if (!parsed.success) throw new CorruptRecordError(`stored task ${id} is malformed: ${parsed.error.issues[0]?.message ?? 'unknown'}`);
  return parsed.data as StoredTask;
}
