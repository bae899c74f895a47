// The persistence actor: follows the task actors and writes what they publish
// to the store. It coalesces (only the newest record per task is kept; chunk
// records are kept until written), writes in batches, retries transient
// failures with backoff and jitter, and sets aside what the store refuses for
// good. Nobody waits on it: transcription, pushes and reads carry on whatever
// the store does, and its backlog is bounded by the live tasks' size.
import { setup, assign, fromPromise, createActor, type ActorRefFrom, type InspectionEvent } from 'xstate';
import type { ChunkRecord, TaskRecord, TaskStore, WriteBatch } from './stores/task-store.ts';
import { WriteBuffer } from './write-buffer.ts';
import { isTransient } from './stores/transient.ts';

export interface PersistenceOptions {
  /** how long writes gather before a flush: more coalescing, fewer writes */
  gatherMs: number;
  maxBatch: number;
  retryBaseMs: number;
  retryMaxMs: number;
  coalesce: boolean;
}

export const DEFAULT_PERSISTENCE: PersistenceOptions = { gatherMs: 25, maxBatch: 500, retryBaseMs: 100, retryMaxMs: 10_000, coalesce: true };

interface PersistenceContext {
  batch: WriteBatch;
  attempt: number;
  written: number;
  dropped: number;
  lastWriteAt: string | undefined;
  lastError: string | undefined;
  lastErrorPermanent: boolean;
}

const EMPTY: WriteBatch = { tasks: [], chunks: [] };
const sizeOf = (b: WriteBatch) => b.tasks.length + b.chunks.length;
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function createPersistenceMachine(
  store: TaskStore,
  buffer: WriteBuffer,
  options: PersistenceOptions,
  onDropped: (what: string, error: unknown) => void,
  onWrite: (ms: number, records: number) => void = () => {},
) {
  return setup({
    types: { context: {} as PersistenceContext, events: {} as { type: 'WRITTEN' } },
    actors: {
      writeBatch: fromPromise<void, WriteBatch>(async ({ input }) => {
        const started = performance.now();
        await store.write(input);
        onWrite(performance.now() - started, sizeOf(input));
      }),
      // A batch the store refused for good: write it piece by piece and set
      // aside only the pieces it refuses, so one bad document blocks nothing.
      isolate: fromPromise<number, WriteBatch>(async ({ input }) => {
        let dropped = 0;
        const pieces: [string, WriteBatch][] = [
          ...input.chunks.map((c): [string, WriteBatch] => [`chunk ${c.chunk} of task ${c.taskId}`, { tasks: [], chunks: [c] }]),
          ...input.tasks.map((t): [string, WriteBatch] => [`task ${t.task.id} (seq ${t.task.seq})`, { tasks: [t], chunks: [] }]),
        ];
        for (const [what, piece] of pieces) {
          try {
            await store.write(piece);
          } catch (error) {
            if (isTransient(error)) throw error;
            dropped++;
            onDropped(what, error);
          }
        }
        return dropped;
      }),
    },
    delays: {
      gather: options.gatherMs,
      // Exponential with full jitter, so a recovering store is not hit in step.
      retry: ({ context }) => Math.random() * Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** context.attempt),
    },
    guards: {
      hasPending: () => buffer.size > 0,
      transient: ({ event }) => isTransient((event as unknown as { error: unknown }).error),
    },
  }).createMachine({
    id: 'persistence',
    context: { batch: EMPTY, attempt: 0, written: 0, dropped: 0, lastWriteAt: undefined, lastError: undefined, lastErrorPermanent: false },
    initial: 'idle',
    states: {
      idle: {
        always: { guard: 'hasPending', target: 'gathering' },
        on: { WRITTEN: { guard: 'hasPending', target: 'gathering' } },
      },
      gathering: {
        after: { gather: 'writing' },
      },
      writing: {
        entry: assign({ batch: ({ context }) => (sizeOf(context.batch) ? context.batch : buffer.take(options.maxBatch)) }),
        invoke: {
          src: 'writeBatch',
          input: ({ context }) => context.batch,
          onDone: {
            target: 'idle',
            actions: assign({
              written: ({ context }) => context.written + sizeOf(context.batch),
              batch: EMPTY,
              attempt: 0,
              lastWriteAt: () => new Date().toISOString(),
            }),
          },
          onError: [
            {
              guard: 'transient',
              target: 'backingOff',
              actions: assign({ attempt: ({ context }) => context.attempt + 1, lastError: ({ event }) => message(event.error), lastErrorPermanent: false }),
            },
            { target: 'isolating', actions: assign({ lastError: ({ event }) => message(event.error), lastErrorPermanent: true }) },
          ],
        },
      },
      // The failed batch stays in context and is retried as it is; newer
      // records of the same tasks wait in the buffer and win by seq.
      backingOff: {
        after: { retry: 'writing' },
      },
      isolating: {
        invoke: {
          src: 'isolate',
          input: ({ context }) => context.batch,
          onDone: {
            target: 'idle',
            actions: assign({
              written: ({ context, event }) => context.written + sizeOf(context.batch) - event.output,
              dropped: ({ context, event }) => context.dropped + event.output,
              batch: EMPTY,
              attempt: 0,
              lastWriteAt: () => new Date().toISOString(),
            }),
          },
          onError: {
            target: 'backingOff',
            actions: assign({ attempt: ({ context }) => context.attempt + 1, lastError: ({ event }) => message(event.error), lastErrorPermanent: false }),
          },
        },
      },
    },
  });
}

export type PersistenceActor = ActorRefFrom<ReturnType<typeof createPersistenceMachine>>;

/** The persistence actor with its buffer: what the rest of the hub talks to. */
export class Persistence {
  readonly buffer: WriteBuffer;
  readonly actor: PersistenceActor;

  constructor(
    readonly store: TaskStore,
    options: PersistenceOptions = DEFAULT_PERSISTENCE,
    onDropped: (what: string, error: unknown) => void = () => {},
    hooks: { inspect?: (event: InspectionEvent) => void; onWrite?: (ms: number, records: number) => void } = {},
  ) {
    this.buffer = new WriteBuffer(options.coalesce);
    const machine = createPersistenceMachine(store, this.buffer, options, onDropped, hooks.onWrite);
    this.actor = createActor(machine, { id: 'persistence', systemId: 'persistence', ...(hooks.inspect ? { inspect: hooks.inspect } : {}) });
    this.actor.start();
  }

  /** Hands a task record over; returns at once. */
  saveTask(record: TaskRecord): void {
    this.buffer.putTask(record);
    this.wake();
  }

  /** Hands a finished chunk over; returns at once. */
  saveChunk(chunk: ChunkRecord): void {
    this.buffer.putChunk(chunk);
    this.wake();
  }

  /** Only an idle actor needs telling: a busy one looks at the buffer when it is done. */
  private wake(): void {
    if (this.actor.getSnapshot().value === 'idle') this.actor.send({ type: 'WRITTEN' });
  }

  /** Forget unwritten records of a task that is being deleted. */
  forget(id: string): void {
    this.buffer.drop(id);
  }

  stats() {
    const { context, value } = this.actor.getSnapshot();
    return {
      state: value,
      backlog: this.buffer.size + sizeOf(context.batch),
      written: context.written,
      dropped: context.dropped,
      attempt: context.attempt,
      lastWriteAt: context.lastWriteAt,
      lastError: context.lastError,
      lastErrorPermanent: context.lastErrorPermanent,
    };
  }

  /** True while writes keep failing (the store is down or refusing). */
  get failing(): boolean {
    const { value, context } = this.actor.getSnapshot();
    return value === 'backingOff' || (value === 'writing' && context.attempt > 0);
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
