// A task as it is first recorded: a new id (unless the upload chose one), no
// progress, no text, seq 0.
import { randomUUID } from 'node:crypto';
import type { Task, TaskKind, TaskStatus, TranscribeOptions } from '../client/protocol/types.ts';

export interface NewTaskInput {
  id?: string;
  userId: string;
  kind: TaskKind;
  status: TaskStatus;
  model: string;
  name?: string;
  language?: string;
  options?: TranscribeOptions;
}

export function newTask({ id, userId, kind, status, model, name, language, options }: NewTaskInput): Task {
  const now = new Date().toISOString();
  return {
    id: id ?? randomUUID(),
    userId,
    kind,
    status,
    createdAt: now,
    updatedAt: now,
    ...(name ? { name } : {}),
    ...(language ? { language } : {}),
    progress: { done: 0, total: 0, pct: 0 },
    segments: [],
    seq: 0,
    model,
    ...(options ? { options } : {}),
  };
}
