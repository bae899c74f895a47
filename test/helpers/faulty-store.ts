// Test double around a real TaskStore: records every write batch and can make
// the store slow (stands for a loaded or distant database), down (stands for
// one that is unreachable: calls fail with a connection error), or refusing
// particular documents for good (stands for a validation error). Everything it
// lets through is done by the real store underneath.
import type { TaskSummary } from '../../client/protocol/types.ts';
import type { ListQuery, StoredTask, TaskRecord, TaskStore, WriteBatch } from '../../actors/stores/task-store.ts';

export class FaultyStore implements TaskStore {
  readonly batches: WriteBatch[] = [];
  /** added to every write */
  writeDelayMs = 0;
  /** while set, every call fails like an unreachable server */
  down = false;
  /** task ids whose records the store refuses for good */
  readonly refused = new Set<string>();

  constructor(readonly inner: TaskStore) {}

  get kind(): string {
    return `${this.inner.kind} (faulty)`;
  }

  private async gate(write: boolean): Promise<void> {
    if (write && this.writeDelayMs) await new Promise((r) => setTimeout(r, this.writeDelayMs));
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED (test: the store is down)'), { code: 'ECONNREFUSED' });
  }

  async open(): Promise<void> {
    await this.gate(false);
    await this.inner.open();
  }

  async insert(record: TaskRecord): Promise<void> {
    await this.gate(true);
    await this.inner.insert(record);
  }

  async write(batch: WriteBatch): Promise<void> {
    await this.gate(true);
    const bad = batch.tasks.find((r) => this.refused.has(r.task.id));
    if (bad) throw new Error(`document failed validation (test: task ${bad.task.id} is refused)`);
    this.batches.push(batch);
    await this.inner.write(batch);
  }

  async get(id: string): Promise<StoredTask | undefined> {
    await this.gate(false);
    return this.inner.get(id);
  }

  async list(q: ListQuery): Promise<TaskSummary[]> {
    await this.gate(false);
    return this.inner.list(q);
  }

  async unfinished(): Promise<StoredTask[]> {
    await this.gate(false);
    return this.inner.unfinished();
  }

  async expiredAudio(before: string, limit: number): Promise<TaskRecord[]> {
    await this.gate(false);
    return this.inner.expiredAudio(before, limit);
  }

  async markAudioRemoved(ids: string[], at: string): Promise<void> {
    await this.gate(true);
    await this.inner.markAudioRemoved(ids, at);
  }

  async delete(id: string): Promise<boolean> {
    await this.gate(true);
    return this.inner.delete(id);
  }

  async ping(): Promise<void> {
    await this.gate(false);
    await this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
