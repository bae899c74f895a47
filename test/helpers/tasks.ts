// Builders for task records in store and actor tests.
import type { Segment, Task } from '../../client/protocol/types.ts';
import type { ChunkRecord, TaskRecord } from '../../actors/stores/task-store.ts';

let clock = Date.parse('2026-01-01T00:00:00Z');
let serial = 0;

export function makeTask(over: Partial<Task> = {}): Task {
  const createdAt = new Date((clock += 1000)).toISOString();
  return {
    id: `task-${++serial}-${clock}`,
    userId: 'alice',
    kind: 'file',
    status: 'queued',
    createdAt,
    updatedAt: createdAt,
    progress: { done: 0, total: 0, pct: 0 },
    segments: [],
    seq: 0,
    ...over,
  };
}

export const record = (task: Task, over: Partial<TaskRecord> = {}): TaskRecord => ({ task, audioPath: `/spool/${task.id}.upload`, pcmPath: `/spool/${task.id}.pcm`, ...over });

export const chunkOf = (taskId: string, chunk: number, texts: string[] = [`chunk ${chunk}`]): ChunkRecord => ({
  taskId,
  chunk,
  segments: texts.map((text, i): Segment => ({ start: chunk * 30 + i, end: chunk * 30 + i + 1, text, chunk })),
});
