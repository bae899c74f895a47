// The persistence actor: follows the task actors and writes their snapshots to
// the store. It coalesces (only the newest snapshot per task is kept), writes
// in batches, and retries with backoff and jitter when the store fails. Nobody
// waits on it: transcription, pushes and reads carry on whatever the store does.
import { setup, assign, fromPromise, createActor, type ActorRefFrom } from 'xstate';
import type { StoredTask, TaskStore } from './stores/task-store.ts';

/** The newest not-yet-written snapshot of each task. */
export class SnapshotBuffer {
  private readonly pending = new Map<string, StoredTask>();

  put(doc: StoredTask): void {
    const current = this.pending.get(doc.task.id);
    if (!current || current.task.seq < doc.task.seq) this.pending.set(doc.task.id, doc);
  }

  /** Removes and returns up to `max` snapshots, oldest first. */
  take(max: number): StoredTask[] {
    const batch: StoredTask[] = [];
    for (const [id, doc] of this.pending) {
      if (batch.length >= max) break;
      batch.push(doc);
      this.pending.delete(id);
    }
    return batch;
  }

  drop(id: string): void {
    this.pending.delete(id);
  }

  get size(): number {
    return this.pending.size;
  }
}

export interface PersistenceOptions {
  /** how long snapshots gather before a write: more coalescing, fewer writes */
  gatherMs: number;
  maxBatch: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

export const DEFAULT_PERSISTENCE: PersistenceOptions = { gatherMs: 25, maxBatch: 500, retryBaseMs: 100, retryMaxMs: 10_000 };

interface PersistenceContext {
  batch: StoredTask[];
  attempt: number;
  written: number;
  lastWriteAt: string | undefined;
  lastError: string | undefined;
}

export function createPersistenceMachine(store: TaskStore, buffer: SnapshotBuffer, options: PersistenceOptions = DEFAULT_PERSISTENCE) {
  return setup({
    types: { context: {} as PersistenceContext, events: {} as { type: 'SNAPSHOT' } },
    actors: {
      writeBatch: fromPromise<void, StoredTask[]>(({ input }) => store.update(input)),
    },
    delays: {
      gather: options.gatherMs,
      // Exponential with full jitter, so a recovering store is not hit in step.
      retry: ({ context }) => Math.random() * Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** context.attempt),
    },
    guards: {
      hasPending: () => buffer.size > 0,
    },
  }).createMachine({
    id: 'persistence',
    context: { batch: [], attempt: 0, written: 0, lastWriteAt: undefined, lastError: undefined },
    initial: 'idle',
    states: {
      idle: {
        always: { guard: 'hasPending', target: 'gathering' },
        on: { SNAPSHOT: { guard: 'hasPending', target: 'gathering' } },
      },
      gathering: {
        after: { gather: 'writing' },
      },
      writing: {
        entry: assign({ batch: ({ context }) => (context.batch.length ? context.batch : buffer.take(options.maxBatch)) }),
        invoke: {
          src: 'writeBatch',
          input: ({ context }) => context.batch,
          onDone: {
            target: 'idle',
            actions: assign({
              written: ({ context }) => context.written + context.batch.length,
              batch: [],
              attempt: 0,
              lastWriteAt: () => new Date().toISOString(),
            }),
          },
          onError: {
            target: 'backingOff',
            actions: assign({
              attempt: ({ context }) => context.attempt + 1,
              lastError: ({ event }) => (event.error instanceof Error ? event.error.message : String(event.error)),
            }),
          },
        },
      },
      // The failed batch stays in context and is retried as it is; newer
      // snapshots of the same tasks wait in the buffer and win by seq.
      backingOff: {
        after: { retry: 'writing' },
      },
    },
  });
}

export type PersistenceActor = ActorRefFrom<ReturnType<typeof createPersistenceMachine>>;

/** The persistence actor with its buffer: what the rest of the hub talks to. */
export class Persistence {
  readonly buffer = new SnapshotBuffer();
  readonly actor: PersistenceActor;

  constructor(
    readonly store: TaskStore,
    options: PersistenceOptions = DEFAULT_PERSISTENCE,
  ) {
    this.actor = createActor(createPersistenceMachine(store, this.buffer, options), { systemId: 'persistence' });
    this.actor.start();
  }

  /** Hands a snapshot over; returns at once. */
  save(doc: StoredTask): void {
    this.buffer.put(doc);
    this.actor.send({ type: 'SNAPSHOT' });
  }

  /** Forget unwritten snapshots of a task that is being deleted. */
  forget(id: string): void {
    this.buffer.drop(id);
  }

  stats() {
    const { context, value } = this.actor.getSnapshot();
    return {
      state: value,
      backlog: this.buffer.size + context.batch.length,
      written: context.written,
      attempt: context.attempt,
      lastWriteAt: context.lastWriteAt,
      lastError: context.lastError,
    };
  }

  /** Resolves once everything handed over so far is written, or after `timeoutMs`. */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const s = this.actor.getSnapshot();
      if (s.value === 'idle' && this.buffer.size === 0) return true;
      await new Promise((r) => setTimeout(r, 10));
    }
    return false;
  }

  stop(): void {
    this.actor.stop();
  }
}
