// Builders for task records in store and actor tests.
import type { Task } from '../../client/protocol.ts';
import type { StoredTask } from '../../actors/stores/task-store.ts';

let clock = Date.parse('2026-01-01T00:00:00Z');

export function makeTask(over: Partial<Task> = {}): Task {
  const createdAt = new Date((clock += 1000)).toISOString();
  return {
    id: `task-${clock}`,
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

export const stored = (task: Task): StoredTask => ({ task, audioPath: `/spool/${task.id}.upload`, pcmPath: `/spool/${task.id}.pcm` });
