// The production store: MongoDB through the official driver, used when
// MONGODB_URI is set. Two collections: `tasks` (one small document per task:
// its record plus the fields queries filter and sort on) and `task_chunks`
// (one immutable document per finished chunk). Every document read back is
// validated before it reaches the hub.
import { MongoClient, type Collection, type Db, type AnyBulkWriteOperation } from 'mongodb';
import { FINISHED_STATUSES, isFinished, summary, type TaskStatus, type TaskSummary } from '../../client/protocol/types.ts';
import { MongoLeases, type Lease, type LeaseOptions } from './mongo-leases.ts';
import {
  parseChunkSegments,
  parseTaskRecord,
  withoutSegments,
  type ListQuery,
  type StoredTask,
  type TaskRecord,
  type TaskStore,
  type WriteBatch,
} from './task-store.ts';

interface TaskDoc {
  _id: string;
  userId: string;
  status: TaskStatus;
  createdAt: string;
  updatedAt: string;
  seq: number;
  audioRemovedAt?: string;
  record: TaskRecord;
  /** cluster mode: who owns the task (mongo-leases.ts) */
  lease?: Lease;
}

interface ChunkDoc {
  _id: string;
  taskId: string;
  chunk: number;
  segments: unknown;
}

const chunkId = (taskId: string, chunk: number) => `${taskId}:${String(chunk).padStart(6, '0')}`;

export class MongoStore implements TaskStore {
  readonly kind = 'mongodb';
  private readonly client: MongoClient;
  private opened: { db: Db; tasks: Collection<TaskDoc>; chunks: Collection<ChunkDoc> } | undefined;
  readonly leases: MongoLeases | undefined;

  /** `onCorrupt` hears of every corrupt document a list leaves out; `lease`: cluster mode, this hub owns the tasks it runs. */
  constructor(
    uri: string,
    private readonly onCorrupt: (message: string) => void = () => {},
    options: { serverSelectionTimeoutMS?: number; lease?: LeaseOptions } = {},
  ) {
    this.leases = options.lease ? new MongoLeases(() => this.c.db.collection('tasks'), options.lease) : undefined;
    // Fail fast when the server is away: persistence retries on its own schedule.
    this.client = new MongoClient(uri, { serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5_000, appName: 'whisper-hub' });
  }

  async open(): Promise<void> {
    await this.client.connect();
    const db = this.client.db(); // the database named in the URI ("test" if none)
    const tasks = db.collection<TaskDoc>('tasks');
    const chunks = db.collection<ChunkDoc>('task_chunks');
    // One index per command: FerretDB 1.24 drops the connection when a command asks again for
    // several indexes that exist already (every start after the first).
    await tasks.createIndex({ userId: 1, createdAt: -1, _id: -1 }, { name: 'by_user' });
    await tasks.createIndex({ status: 1, updatedAt: 1 }, { name: 'by_status' });
    await chunks.createIndex({ taskId: 1, chunk: 1 }, { name: 'by_task' });
    this.opened = { db, tasks, chunks };
  }

  /** Until `open` succeeds every call fails like an unreachable server (and is retried as one). */
  private get c() {
    if (!this.opened) throw Object.assign(new Error('MongoDB is not connected yet'), { name: 'MongoNotConnectedError' });
    return this.opened;
  }

  private get tasks(): Collection<TaskDoc> {
    return this.c.tasks;
  }

  private get chunks(): Collection<ChunkDoc> {
    return this.c.chunks;
  }

  async insert(record: TaskRecord): Promise<void> {
    const lease = this.leases?.forNewTask(record.task.id);
    await this.tasks.insertOne({ ...this.toDoc(record), ...(lease ? { lease } : {}) });
  }

  async write(batch: WriteBatch): Promise<void> {
    if (batch.chunks.length > 0) {
      // Chunks only for tasks that exist: a deleted task is never recreated.
      const ids = [...new Set(batch.chunks.map((c) => c.taskId))];
      const found = await this.tasks.find({ _id: { $in: ids } }, { projection: { _id: 1, lease: 1 } }).toArray();
      // (and, in cluster mode, only while this hub holds their lease)
      const existing = new Set(found.filter((d) => this.holds(d)).map((d) => d._id));
      const ops: AnyBulkWriteOperation<ChunkDoc>[] = batch.chunks
        .filter((c) => existing.has(c.taskId))
        .map((c) => ({
          replaceOne: { filter: { _id: chunkId(c.taskId, c.chunk) }, replacement: { _id: chunkId(c.taskId, c.chunk), taskId: c.taskId, chunk: c.chunk, segments: c.segments }, upsert: true },
        }));
      if (ops.length) await this.chunks.bulkWrite(ops, { ordered: false });
    }
    if (batch.tasks.length > 0) {
      // Versioned by seq (a late or repeated write matches nothing) and, in cluster mode, fenced by the lease. No upsert.
      const ops: AnyBulkWriteOperation<TaskDoc>[] = [];
      for (const r of batch.tasks) {
        const fence = this.leases ? this.leases.fence(r.task.id) : {};
        if (fence === null) continue; // another hub owns it now: this hub's word no longer counts
        const { _id, ...fields } = this.toDoc(r);
        ops.push({ updateOne: { filter: { _id, seq: { $lt: r.task.seq }, ...fence }, update: { $set: fields } } });
      }
      if (ops.length) await this.tasks.bulkWrite(ops, { ordered: false });
      for (const r of batch.tasks) if (isFinished(r.task.status)) this.leases?.forget(r.task.id);
    }
  }

  /** Whether this hub may write the task of `doc` (always, outside cluster mode). */
  private holds(doc: Pick<TaskDoc, '_id' | 'lease'>): boolean {
    const fence = this.leases?.fence(doc._id);
    if (fence === undefined) return true;
    return fence !== null && doc.lease?.owner === fence['lease.owner'] && doc.lease.epoch === fence['lease.epoch'];
  }

  async get(id: string): Promise<StoredTask | undefined> {
    const doc = await this.tasks.findOne({ _id: id });
    if (!doc) return undefined;
    const record = this.fromDoc(doc);
    record.task.segments = await this.transcript(id);
    return record;
  }

  async list(query: ListQuery): Promise<TaskSummary[]> {
    const filter: Record<string, unknown> = { userId: query.userId };
    if (query.status) filter.status = query.status;
    if (query.before) filter.createdAt = { $lt: query.before };
    const docs = await this.tasks.find(filter).sort({ createdAt: -1, _id: -1 }).limit(query.limit).toArray();
    if (!query.segments) return this.readAll(docs).map((r) => summary(r.task));
    const records = await this.withTranscripts(this.readAll(docs));
    return records.map((r) => r.task);
  }

  async unfinished(): Promise<StoredTask[]> {
    const docs = await this.tasks.find({ status: { $nin: [...FINISHED_STATUSES] } }).sort({ createdAt: 1 }).toArray();
    return this.withTranscripts(this.readAll(docs));
  }

  async expiredAudio(before: string, limit: number): Promise<TaskRecord[]> {
    const docs = await this.tasks
      .find({ status: { $in: [...FINISHED_STATUSES] }, updatedAt: { $lt: before }, audioRemovedAt: { $exists: false } })
      .sort({ updatedAt: 1 })
      .limit(limit)
      .toArray();
    return this.readAll(docs);
  }

  async markAudioRemoved(ids: string[], at: string): Promise<void> {
    if (ids.length) await this.tasks.updateMany({ _id: { $in: ids } }, { $set: { audioRemovedAt: at } });
  }

  async delete(id: string): Promise<boolean> {
    const { deletedCount } = await this.tasks.deleteOne({ _id: id });
    await this.chunks.deleteMany({ taskId: id });
    return deletedCount > 0;
  }

  async ping(): Promise<void> {
    await this.c.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  private toDoc(record: TaskRecord): TaskDoc {
    const t = record.task;
    return { _id: t.id, userId: t.userId, status: t.status, createdAt: t.createdAt, updatedAt: t.updatedAt, seq: t.seq, record: withoutSegments(record) };
  }

  private fromDoc(doc: TaskDoc): TaskRecord {
    const record = parseTaskRecord(doc.record, String(doc._id));
    if (typeof doc.audioRemovedAt === 'string') record.audioRemovedAt = doc.audioRemovedAt;
    return record;
  }

  /** Valid records; corrupt documents are reported and left out. */
  private readAll(docs: TaskDoc[]): TaskRecord[] {
    const records: TaskRecord[] = [];
    for (const doc of docs) {
      try {
        records.push(this.fromDoc(doc));
      } catch (error) {
        this.onCorrupt((error as Error).message);
      }
    }
    return records;
  }

  private async transcript(taskId: string) {
    const docs = await this.chunks.find({ taskId }).sort({ chunk: 1 }).toArray();
    return docs.flatMap((d) => parseChunkSegments(d.segments, taskId, d.chunk));
  }

  private async withTranscripts(records: TaskRecord[]): Promise<TaskRecord[]> {
    if (records.length === 0) return records;
    const docs = await this.chunks
      .find({ taskId: { $in: records.map((r) => r.task.id) } })
      .sort({ taskId: 1, chunk: 1 })
      .toArray();
    const out: TaskRecord[] = [];
    for (const record of records) {
      try {
        record.task.segments = docs.filter((d) => d.taskId === record.task.id).flatMap((d) => parseChunkSegments(d.segments, record.task.id, d.chunk));
        out.push(record);
      } catch (error) {
        this.onCorrupt((error as Error).message);
      }
    }
    return out;
  }
}
