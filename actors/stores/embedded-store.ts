// The zero-setup store: SQLite (better-sqlite3) in a file under the data dir,
// run in its own worker thread so that no query ever blocks the hub's loop.
import { ThreadWorker } from '../../native/isolates.ts';
import type { Read, SqliteWorkerApi } from './sqlite-worker.ts';
import type { TaskSummary } from '../../client/protocol/types.ts';
import { CorruptRecordError, type ListQuery, type StoredTask, type TaskRecord, type TaskStore, type WriteBatch } from './task-store.ts';

export class EmbeddedStore implements TaskStore {
  readonly kind = 'embedded';
  private readonly worker: ThreadWorker<SqliteWorkerApi>;

  /** `onCorrupt` hears of every corrupt record a list leaves out. */
  constructor(
    path: string,
    private readonly onCorrupt: (message: string) => void = () => {},
  ) {
    this.worker = new ThreadWorker<SqliteWorkerApi>(new URL('./sqlite-worker.ts', import.meta.url), 'embedded store', { path });
  }

  async open(): Promise<void> {
    await this.ping();
  }

  insert(record: TaskRecord): Promise<void> {
    return this.worker.call((db) => db.insert(record));
  }

  write(batch: WriteBatch): Promise<void> {
    return this.worker.call((db) => db.write(batch));
  }

  async get(id: string): Promise<StoredTask | undefined> {
    const read = await this.worker.call((db) => db.get(id) as Promise<Read<TaskRecord> | undefined>);
    if (!read) return undefined;
    if (!read.ok) throw new CorruptRecordError(read.message);
    return read.value;
  }

  async list(query: ListQuery): Promise<TaskSummary[]> {
    const { tasks, corrupt } = await this.worker.call((db) => db.list(query));
    corrupt.forEach(this.onCorrupt);
    return tasks;
  }

  async unfinished(): Promise<StoredTask[]> {
    const { records, corrupt } = await this.worker.call((db) => db.unfinished());
    corrupt.forEach(this.onCorrupt);
    return records;
  }

  async expiredAudio(before: string, limit: number): Promise<TaskRecord[]> {
    const { records, corrupt } = await this.worker.call((db) => db.expiredAudio(before, limit));
    corrupt.forEach(this.onCorrupt);
    return records;
  }

  markAudioRemoved(ids: string[], at: string): Promise<void> {
    return this.worker.call((db) => db.markAudioRemoved(ids, at));
  }

  delete(id: string): Promise<boolean> {
    return this.worker.call((db) => db.delete(id));
  }

  async ping(): Promise<void> {
    await this.worker.call((db) => db.ping());
  }

  async close(): Promise<void> {
    await this.worker.call((db) => db.close()).catch(() => {});
    await this.worker.close();
  }
}
