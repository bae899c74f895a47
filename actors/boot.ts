// Boot: the store is opened (retrying while it is unreachable), and every task
// the previous run left unfinished comes back to life.
import type { StoredTask, TaskStore } from './stores/task-store.ts';
import { RESUME_SEQ_STEP, type TaskRegistry } from './task-registry.ts';
import { isTransient } from './stores/transient.ts';
import { isFinished } from '../client/protocol/types.ts';
import type { LogFn } from '../native/log-fn.ts';

/** Opens the store, retrying with backoff while it is unreachable. */
export async function openStore(store: TaskStore, log: LogFn, stopping: () => boolean): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await store.open();
      if (attempt > 1) log('info', 'the store is reachable now', { kind: store.kind });
      return;
    } catch (error) {
      if (stopping() || !isTransient(error)) throw error;
      const delay = Math.min(30_000, 500 * 2 ** attempt);
      log('error', 'the store is not reachable; retrying', { kind: store.kind, attempt, retryInMs: delay, error: String(error) });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Boot: every task a previous run left unfinished comes back. File tasks
 * resume where their checkpoint says (chunks already on the transcript are
 * skipped); a live stream cannot, and is marked `interrupted` with its finals.
 */
export async function resumeLeftovers(store: TaskStore, registry: TaskRegistry, log: LogFn): Promise<void> {
  // In cluster mode only the tasks nobody holds (and this node's own, from its previous run).
  if (store.leases) return resumeTasks(store, registry, await store.leases.claim(true), log);
  await resume(store, registry, await store.unfinished(), log);
}

/** Resumes the tasks whose leases this hub has just taken (stored records read anew, now that it owns them). */
export async function resumeTasks(store: TaskStore, registry: TaskRegistry, ids: string[], log: LogFn): Promise<void> {
  const records = await Promise.all(ids.map((id) => store.get(id)));
  await resume(store, registry, records.filter((r): r is StoredTask => r !== undefined), log);
}

async function resume(store: TaskStore, registry: TaskRegistry, leftovers: StoredTask[], log: LogFn): Promise<void> {
  const streams = leftovers.filter((r) => r.task.kind === 'stream');
  const now = new Date().toISOString();
  if (streams.length > 0) {
    await store.write({
      chunks: [],
      tasks: streams.map((r) => ({
        ...r,
        task: { ...r.task, status: 'interrupted', updatedAt: now, seq: r.task.seq + RESUME_SEQ_STEP, error: { code: 'interrupted', message: 'the hub stopped while this stream was live' } },
      })),
    });
  }
  for (const record of leftovers.filter((r) => r.task.kind === 'file')) await registry.resume(record);
  if (leftovers.length > 0) log('info', 'resumed the work of the previous run', { files: leftovers.length - streams.length, interruptedStreams: streams.length });
}

/** What a spool file's task is, for the orphan sweep: a store that cannot say counts as `unfinished` (kept). */
export function taskStateFor(store: TaskStore, registry: Pick<TaskRegistry, 'isLive'>) {
  return async (id: string): Promise<'unfinished' | 'finished' | 'missing'> => {
    if (registry.isLive(id)) return 'unfinished';
    const stored = await store.get(id).catch(() => null);
    if (stored === null) return 'unfinished';
    return !stored ? 'missing' : isFinished(stored.task.status) ? 'finished' : 'unfinished';
  };
}
