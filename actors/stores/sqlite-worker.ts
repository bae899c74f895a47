// Worker thread entry of the embedded store: better-sqlite3 is synchronous, so
// it lives here and the hub's loop only posts messages. Documents are checked
// against their schemas before they leave this thread.
import { workerData, parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import * as Comlink from 'comlink';
import { portEndpoint } from '../../native/endpoints.ts';
import { FINISHED_STATUSES, summary, type Segment, type TaskSummary } from '../../client/protocol/types.ts';
import { parseChunkSegments, parseTaskRecord, withoutSegments, type ListQuery, type TaskRecord, type WriteBatch } from './task-store.ts';

const db = new Database((workerData as { path: string }).path);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
db.exec(`
  CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    seq INTEGER NOT NULL,
    audio_removed_at TEXT,
    doc TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tasks_by_user ON tasks (user_id, created_at DESC, id DESC);
  CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, updated_at);
  CREATE TABLE IF NOT EXISTS task_chunks (
    task_id TEXT NOT NULL,
    chunk INTEGER NOT NULL,
    segments TEXT NOT NULL,
    PRIMARY KEY (task_id, chunk)
  );
`);

const finished = FINISHED_STATUSES.map((s) => `'${s}'`).join(',');
const sql = {
  insert: db.prepare('INSERT INTO tasks (id, user_id, status, created_at, updated_at, seq, doc) VALUES (?, ?, ?, ?, ?, ?, ?)'),
  update: db.prepare('UPDATE tasks SET status = ?, updated_at = ?, seq = ?, doc = ? WHERE id = ? AND seq < ?'),
  putChunk: db.prepare('INSERT OR REPLACE INTO task_chunks (task_id, chunk, segments) SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM tasks WHERE id = ?)'),
  get: db.prepare<[string], { id: string; doc: string; audio_removed_at: string | null }>('SELECT id, doc, audio_removed_at FROM tasks WHERE id = ?'),
  chunks: db.prepare<[string], { chunk: number; segments: string }>('SELECT chunk, segments FROM task_chunks WHERE task_id = ? ORDER BY chunk'),
  unfinished: db.prepare<[], { id: string; doc: string; audio_removed_at: string | null }>(`SELECT id, doc, audio_removed_at FROM tasks WHERE status NOT IN (${finished}) ORDER BY created_at`),
  expired: db.prepare<[string, number], { id: string; doc: string; audio_removed_at: string | null }>(
    `SELECT id, doc, audio_removed_at FROM tasks WHERE status IN (${finished}) AND updated_at < ? AND audio_removed_at IS NULL ORDER BY updated_at LIMIT ?`,
  ),
  markRemoved: db.prepare('UPDATE tasks SET audio_removed_at = ? WHERE id = ?'),
  delete: db.prepare('DELETE FROM tasks WHERE id = ?'),
  deleteChunks: db.prepare('DELETE FROM task_chunks WHERE task_id = ?'),
};

const writeBatch = db.transaction((batch: WriteBatch) => {
  for (const c of batch.chunks) sql.putChunk.run(c.taskId, c.chunk, JSON.stringify(c.segments), c.taskId);
  for (const r of batch.tasks) {
    const t = r.task;
    sql.update.run(t.status, t.updatedAt, t.seq, JSON.stringify(withoutSegments(r)), t.id, t.seq);
  }
});
const markRemoved = db.transaction((ids: string[], at: string) => {
  for (const id of ids) sql.markRemoved.run(at, id);
});
const deleteTask = db.transaction((id: string) => {
  sql.deleteChunks.run(id);
  return sql.delete.run(id).changes > 0;
});

export type Read<T> = { ok: true; value: T } | { ok: false; code: 'corrupt_record'; message: string };

interface Row {
  id: string;
  doc: string;
  audio_removed_at: string | null;
}

/** A validated record; `withTranscript` assembles `task.segments` from the chunk records. */
function read(row: Row, withTranscript: boolean): Read<TaskRecord> {
  try {
    const record = parseTaskRecord(JSON.parse(row.doc), row.id);
    if (row.audio_removed_at) record.audioRemovedAt = row.audio_removed_at;
    if (withTranscript) record.task.segments = transcript(row.id);
    return { ok: true, value: record };
  } catch (error) {
    const message = error instanceof SyntaxError ? `stored task ${row.id} is not valid JSON` : (error as Error).message;
    return { ok: false, code: 'corrupt_record', message };
  }
}

function transcript(id: string): Segment[] {
  return sql.chunks.all(id).flatMap((c) => parseChunkSegments(JSON.parse(c.segments), id, c.chunk));
}

function readAll(rows: Row[], withTranscript: boolean): { records: TaskRecord[]; corrupt: string[] } {
  const records: TaskRecord[] = [];
  const corrupt: string[] = [];
  for (const row of rows) {
    const r = read(row, withTranscript);
    if (r.ok) records.push(r.value);
    else corrupt.push(r.message);
  }
  return { records, corrupt };
}

const api = {
  insert(record: TaskRecord): void {
    const t = record.task;
    sql.insert.run(t.id, t.userId, t.status, t.createdAt, t.updatedAt, t.seq, JSON.stringify(withoutSegments(record)));
  },
  write(batch: WriteBatch): void {
    writeBatch(batch);
  },
  get(id: string): Read<TaskRecord> | undefined {
    const row = sql.get.get(id);
    return row ? read(row, true) : undefined;
  },
  /** Corrupt rows are left out and named in `corrupt`. */
  list(q: ListQuery): { tasks: TaskSummary[]; corrupt: string[] } {
    const where = ['user_id = ?'];
    const args: (string | number)[] = [q.userId];
    if (q.status) {
      where.push('status = ?');
      args.push(q.status);
    }
    if (q.before) {
      where.push('created_at < ?');
      args.push(q.before);
    }
    const rows = db.prepare<unknown[], Row>(`SELECT id, doc, audio_removed_at FROM tasks WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args, q.limit);
    const { records, corrupt } = readAll(rows, q.segments === true);
    return { tasks: records.map((r) => (q.segments ? r.task : summary(r.task))), corrupt };
  },
  unfinished(): { records: TaskRecord[]; corrupt: string[] } {
    return readAll(sql.unfinished.all(), true);
  },
  expiredAudio(before: string, limit: number): { records: TaskRecord[]; corrupt: string[] } {
    return readAll(sql.expired.all(before, limit), false);
  },
  markAudioRemoved(ids: string[], at: string): void {
    markRemoved(ids, at);
  },
  delete(id: string): boolean {
    return deleteTask(id);
  },
  ping(): true {
    db.prepare('SELECT 1').get();
    return true;
  },
  close(): void {
    db.close();
  },
};

export type SqliteWorkerApi = typeof api;

Comlink.expose(api, portEndpoint(parentPort!));
