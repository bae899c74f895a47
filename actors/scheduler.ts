// Hands out engine slots. Live work goes before batch work; within a priority,
// slots go round-robin between users and, within a user, between tasks, so a
// short file never waits behind anybody's three-hour recording (its own owner's
// included). While live sessions are open one slot is kept from batch work, and
// when live work finds every slot taken by batch work, one batch lease is
// preempted (its chunk is aborted and queued again): a live pass never waits
// for a batch chunk (seconds of engine time) to finish. Owns only the queue: it
// never touches an engine.

export type Priority = 'live' | 'batch';
export const PRIORITIES: readonly Priority[] = ['live', 'batch'];

export interface SlotRequest {
  userId: string;
  taskId: string;
  priority: Priority;
}

export interface Lease {
  release(): void;
  /** aborted when live work takes this slot back: stop, and ask again */
  readonly preempted: AbortSignal;
}

export class PreemptedError extends Error {
  readonly code = 'preempted';
}

interface Waiter extends SlotRequest {
  order: number;
  grant: (lease: Lease) => void;
  fail: (error: Error) => void;
}

export interface SchedulerStats {
  capacity: number;
  inUse: number;
  queued: Record<Priority, number>;
  queuedByUser: Record<string, number>;
}

export class SchedulerClosedError extends Error {
  readonly code = 'shutting_down';
}

export class Scheduler {
  private inUse = 0;
  private waiting: Waiter[] = [];
  private arrivals = 0;
  /** when each user / task was last served: lower goes first */
  private readonly servedUser = new Map<string, number>();
  private readonly servedTask = new Map<string, number>();
  private serves = 0;
  private closed = false;
  private liveSessions = 0;
  /** batch leases held now, oldest first: the candidates for preemption */
  private readonly batchLeases: AbortController[] = [];

  /** `onChange` hears of every grant and release (the admin view follows the queue with it). */
  constructor(
    private readonly capacity: number,
    private readonly onChange: () => void = () => {},
  ) {}

  acquire(request: SlotRequest, signal: AbortSignal): Promise<Lease> {
    if (this.closed) return Promise.reject(new SchedulerClosedError('the hub is shutting down'));
    signal.throwIfAborted();
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        ...request,
        order: this.arrivals++,
        grant: (lease) => {
          signal.removeEventListener('abort', onAbort);
          resolve(lease);
        },
        fail: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(waiter);
      this.dispatch();
      this.onChange();
    });
  }

  /** How many live sessions are open: while any is, one slot is kept for live work. */
  setLiveSessions(n: number): void {
    const opening = this.liveSessions === 0 && n > 0;
    this.liveSessions = n;
    // A session just opened: free a slot now, so its first pass finds a fresh worker.
    if (opening && this.inUse >= this.capacity) this.preemptBatch();
    this.dispatch();
  }

  /** Forget a finished task's turn history. */
  forgetTask(taskId: string): void {
    this.servedTask.delete(taskId);
  }

  stats(): SchedulerStats {
    const queued: Record<Priority, number> = { live: 0, batch: 0 };
    const queuedByUser: Record<string, number> = {};
    for (const w of this.waiting) {
      queued[w.priority]++;
      queuedByUser[w.userId] = (queuedByUser[w.userId] ?? 0) + 1;
    }
    return { capacity: this.capacity, inUse: this.inUse, queued, queuedByUser };
  }

  /** Refuses new requests and fails the waiting ones. */
  close(): void {
    this.closed = true;
    const waiting = this.waiting;
    this.waiting = [];
    for (const w of waiting) w.fail(new SchedulerClosedError('the hub is shutting down'));
  }

  private dispatch(): void {
    if (this.inUse >= this.capacity && this.waiting.some((w) => w.priority === 'live')) this.preemptBatch();
    while (this.inUse < this.capacity && this.waiting.length > 0) {
      const next = this.pick();
      if (!next) return;
      this.waiting = this.waiting.filter((w) => w !== next);
      this.inUse++;
      const turn = ++this.serves;
      this.servedUser.set(next.userId, turn);
      this.servedTask.set(next.taskId, turn);
      const preemption = new AbortController();
      if (next.priority === 'batch') this.batchLeases.push(preemption);
      let released = false;
      next.grant({
        preempted: preemption.signal,
        release: () => {
          if (released) return;
          released = true;
          const i = this.batchLeases.indexOf(preemption);
          if (i >= 0) this.batchLeases.splice(i, 1);
          this.inUse--;
          this.dispatch();
          this.onChange();
        },
      });
    }
  }

  /** Takes the oldest batch lease back (once): its holder aborts and releases it. */
  private preemptBatch(): void {
    const victim = this.batchLeases.find((c) => !c.signal.aborted);
    victim?.abort(new PreemptedError('preempted by live work'));
  }

  private pick(): Waiter | undefined {
    const priority = PRIORITIES.find((p) => this.waiting.some((w) => w.priority === p))!;
    const reserved = this.liveSessions > 0 ? 1 : 0;
    if (priority === 'batch' && this.inUse >= this.capacity - reserved) return undefined;
    const candidates = this.waiting.filter((w) => w.priority === priority);
    const key = (w: Waiter) => [this.servedUser.get(w.userId) ?? 0, this.servedTask.get(w.taskId) ?? 0, w.order];
    return candidates.reduce((best, w) => (lexLess(key(w), key(best)) ? w : best));
  }
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
