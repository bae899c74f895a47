// The persistence actor's buffer: what is not written yet. Coalescing keeps
// only the newest record of each task; chunk records are all kept, and a task
// record never leaves before its chunks (a checkpoint never gets ahead of the
// transcript in the store).
import type { ChunkRecord, TaskRecord, WriteBatch } from './stores/task-store.ts';

/** What is not written yet: the newest record of each task, and every chunk record. */
export class WriteBuffer {
  private readonly records = new Map<string, TaskRecord>();
  private readonly queue: TaskRecord[] = [];
  private readonly chunks = new Map<string, ChunkRecord>();

  /** `coalesce: false` writes every snapshot (for measuring what coalescing saves). */
  constructor(private readonly coalesce = true) {}

  putTask(record: TaskRecord): void {
    if (!this.coalesce) {
      this.queue.push(record);
      return;
    }
    const current = this.records.get(record.task.id);
    if (!current || current.task.seq < record.task.seq) this.records.set(record.task.id, record);
  }

  putChunk(chunk: ChunkRecord): void {
    this.chunks.set(`${chunk.taskId}:${chunk.chunk}`, chunk);
  }

  /**
   * Removes and returns a batch. A task record is only taken once none of its
   * chunk records is left behind, so a checkpoint never gets ahead of the
   * transcript in the store.
   */
  take(max: number): WriteBatch {
    const chunks: ChunkRecord[] = [];
    for (const [key, chunk] of this.chunks) {
      if (chunks.length >= max) break;
      chunks.push(chunk);
      this.chunks.delete(key);
    }
    const waiting = new Set([...this.chunks.values()].map((c) => c.taskId));
    const tasks: TaskRecord[] = [];
    if (!this.coalesce) {
      while (tasks.length < max && this.queue.length > 0 && !waiting.has(this.queue[0]!.task.id)) tasks.push(this.queue.shift()!);
    } else {
      for (const [id, record] of this.records) {
        if (tasks.length >= max) break;
        if (waiting.has(id)) continue;
        tasks.push(record);
        this.records.delete(id);
      }
    }
    return { tasks, chunks };
  }

  drop(id: string): void {
    this.records.delete(id);
    for (const [key, chunk] of this.chunks) if (chunk.taskId === id) this.chunks.delete(key);
    for (let i = this.queue.length - 1; i >= 0; i--) if (this.queue[i]!.task.id === id) this.queue.splice(i, 1);
  }

  get size(): number {
    return this.records.size + this.queue.length + this.chunks.size;
  }
}
