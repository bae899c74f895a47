// Worker thread entry of the embedded store: better-sqlite3 is synchronous, so
// it lives here and the hub's loop only posts messages. Documents are checked
// against the stored-task schema before they leave this thread.
import { workerData, parentPort } from 'node:worker_threads';
import Database from 'better-sqlite3';
import * as Comlink from 'comlink';
import { portEndpoint } from '../../native/endpoints.ts';
import { FINISHED_STATUSES } from '../../client/protocol.ts';
import { parseStoredTask, type ListQuery, type StoredTask } from './task-store.ts';

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
    doc TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS tasks_by_user ON tasks (user_id, created_at DESC, id DESC);
  CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status);
`);

const insert = db.prepare('INSERT INTO tasks (id, user_id, status, created_at, updated_at, seq, doc) VALUES (?, ?, ?, ?, ?, ?, ?)');
const update = db.prepare('UPDATE tasks SET status = ?, updated_at = ?, seq = ?, doc = ? WHERE id = ? AND seq < ?');
const getOne = db.prepare<[string], { doc: string }>('SELECT doc FROM tasks WHERE id = ?');
const remove = db.prepare('DELETE FROM tasks WHERE id = ?');
const finished = FINISHED_STATUSES.map((s) => `'${s}'`).join(',');
const unfinished = db.prepare<[], { id: string; doc: string }>(`SELECT id, doc FROM tasks WHERE status NOT IN (${finished}) ORDER BY created_at`);

const updateMany = db.transaction((docs: StoredTask[]) => {
  for (const d of docs) update.run(d.task.status, d.task.updatedAt, d.task.seq, JSON.stringify(d), d.task.id, d.task.seq);
});

export type Read<T> = { ok: true; value: T } | { ok: false; code: 'corrupt_record'; message: string };

function read(id: string, doc: string): Read<StoredTask> {
  try {
    return { ok: true, value: parseStoredTask(doc, id) };
  } catch (error) {
    return { ok: false, code: 'corrupt_record', message: (error as Error).message };
  }
}

const api = {
  insert(doc: StoredTask): void {
    const t = doc.task;
    insert.run(t.id, t.userId, t.status, t.createdAt, t.updatedAt, t.seq, JSON.stringify(doc));
  },
  update(docs: StoredTask[]): void {
    updateMany(docs);
  },
  get(id: string): Read<StoredTask> | undefined {
    const row = getOne.get(id);
    return row ? read(id, row.doc) : undefined;
  },
  /** Corrupt rows are left out and named in `corrupt`. */
  list(q: ListQuery): { tasks: StoredTask['task'][]; corrupt: string[] } {
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
    const rows = db.prepare<unknown[], { id: string; doc: string }>(`SELECT id, doc FROM tasks WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`).all(...args, q.limit);
    const tasks: StoredTask['task'][] = [];
    const corrupt: string[] = [];
    for (const row of rows) {
      const r = read(row.id, row.doc);
      if (r.ok) tasks.push(r.value.task);
      else corrupt.push(r.message);
    }
    return { tasks, corrupt };
  },
  unfinished(): { docs: StoredTask[]; corrupt: string[] } {
    const docs: StoredTask[] = [];
    const corrupt: string[] = [];
    for (const row of unfinished.all()) {
      const r = read(row.id, row.doc);
      if (r.ok) docs.push(r.value);
      else corrupt.push(r.message);
    }
    return { docs, corrupt };
  },
  delete(id: string): boolean {
    return remove.run(id).changes > 0;
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
