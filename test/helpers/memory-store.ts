// Test double for a TaskStore: keeps tasks in a Map, records every write, and
// can be made slow (stands for a loaded database) or failing (stands for a
// database that is down). It checks nothing about durability or indexes: the
// contract those need is exercised against the real embedded store.
import type { Task } from '../../client/protocol.ts';
import { isFinished } from '../../client/protocol.ts';
import type { ListQuery, StoredTask, TaskStore } from '../../actors/stores/task-store.ts';

export class MemoryStore implements TaskStore {
  readonly kind = 'memory (test double)';
  readonly docs = new Map<string, StoredTask>();
  readonly batches: StoredTask[][] = [];
  /** added to every write */
  writeDelayMs = 0;
  /** while set, every call fails with this message */
  down: string | undefined;

  private async gate(write: boolean): Promise<void> {
    if (write && this.writeDelayMs) await new Promise((r) => setTimeout(r, this.writeDelayMs));
    if (this.down) throw new Error(this.down);
  }

  async insert(doc: StoredTask): Promise<void> {
    await this.gate(true);
    if (this.docs.has(doc.task.id)) throw new Error('duplicate id');
    this.docs.set(doc.task.id, structuredClone(doc));
  }

  async update(docs: StoredTask[]): Promise<void> {
    await this.gate(true);
    this.batches.push(docs);
    for (const d of docs) {
      const current = this.docs.get(d.task.id);
      if (current && current.task.seq < d.task.seq) this.docs.set(d.task.id, structuredClone(d));
    }
  }

  async get(id: string): Promise<StoredTask | undefined> {
    await this.gate(false);
    return this.docs.get(id);
  }

  async list(q: ListQuery): Promise<Task[]> {
    await this.gate(false);
    return [...this.docs.values()]
      .map((d) => d.task)
      .filter((t) => t.userId === q.userId && (!q.status || t.status === q.status) && (!q.before || t.createdAt < q.before))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, q.limit);
  }

  async unfinished(): Promise<StoredTask[]> {
    await this.gate(false);
    return [...this.docs.values()].filter((d) => !isFinished(d.task.status));
  }

  async delete(id: string): Promise<boolean> {
    await this.gate(true);
    return this.docs.delete(id);
  }

  async ping(): Promise<void> {
    await this.gate(false);
  }

  async close(): Promise<void> {}
}
