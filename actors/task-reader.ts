// Reads of tasks for the API: from memory (the live actors and the recently
// finished, which own the truth), else from the store. Never writes.
import { summary, type Task, type TaskSummary } from '../client/protocol/types.ts';
import type { ListQuery, TaskStore } from './stores/task-store.ts';

export interface TaskMemory {
  /** the task from a live actor or the recently finished, if it is there */
  get(id: string): Task | undefined;
}

export class TaskReader {
  constructor(
    private readonly memory: TaskMemory,
    private readonly store: TaskStore,
  ) {}

  get(id: string): Task | undefined {
    return this.memory.get(id);
  }

  async find(id: string): Promise<Task | undefined> {
    return this.memory.get(id) ?? (await this.store.get(id))?.task;
  }

  /** A page of a user's tasks, the live ones as they are in memory; transcripts only when asked. */
  async list(query: ListQuery): Promise<TaskSummary[]> {
    const stored = await this.store.list(query);
    return stored
      .map((t) => {
        const live = this.memory.get(t.id);
        return live ? (query.segments ? live : summary(live)) : t;
      })
      .filter((t) => !query.status || t.status === query.status);
  }
}
