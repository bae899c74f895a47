// Hands out engine slots. Live work goes before batch work; within a priority,
// slots go round-robin between users and, within a user, between tasks, so a
// short file never waits behind anybody's three-hour recording (its own owner's
// included). When live work finds every slot taken by batch work, one batch
// lease is preempted (its chunk is aborted and queued again): a live pass never
// waits for a batch chunk (seconds of engine time) to finish. For a moment after
// a live pass (LIVE_HOLD_MS) one slot stays kept from batch work, so a stream
// that is talking (a pass every half second) does not preempt a chunk at every
// pass; a session that is open but quiet keeps nothing, and batch work runs at
// full speed beside it. Owns only the queue: it never touches an engine.

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

/** After a live lease ends, one slot stays kept from batch work this long. */
export const LIVE_HOLD_MS = 2000;

export class Scheduler {
  private inUse = 0;
  private waiting: Waiter[] = [];
  private arrivals = 0;
  /** when each user / task was last served: lower goes first */
  private readonly servedUser = new Map<string, number>();
  private readonly servedTask = new Map<string, number>();
  private serves = 0;
  private closed = false;
  private liveInUse = 0;
  private lastLiveAt = Number.NEGATIVE_INFINITY;
  private holdTimer: NodeJS.Timeout | undefined;
  /** batch leases held now, oldest first: the candidates for preemption */
  private readonly batchLeases: AbortController[] = [];

  /** `onChange` hears of every grant and release (the admin view follows the queue with it). */
  constructor(
    private capacity: number,
    private readonly onChange: () => void = () => {},
    private readonly liveHoldMs = LIVE_HOLD_MS,
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

  /** The slots to hand out changed (cluster mode: an engine node came or went); leases already out stay out. */
  setCapacity(capacity: number): void {
    this.capacity = capacity;
    this.dispatch();
    this.onChange();
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
    clearTimeout(this.holdTimer);
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
      const live = next.priority === 'live';
      if (live) this.liveInUse++;
      else this.batchLeases.push(preemption);
      let released = false;
      next.grant({
        preempted: preemption.signal,
        release: () => {
          if (released) return;
          released = true;
          const i = this.batchLeases.indexOf(preemption);
          if (i >= 0) this.batchLeases.splice(i, 1);
          if (live) {
            this.liveInUse--;
            this.lastLiveAt = Date.now();
          }
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

  private liveRecently(): boolean {
    return this.liveInUse > 0 || Date.now() - this.lastLiveAt < this.liveHoldMs;
  }

  /** Batch work waits only for the hold: hand it the slot once the hold is over. */
  private dispatchWhenHoldEnds(): void {
    if (this.holdTimer || this.liveInUse > 0 || this.closed) return;
    const wait = Math.max(1, this.lastLiveAt + this.liveHoldMs - Date.now());
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      this.dispatch();
      this.onChange();
    }, wait);
  }

  private pick(): Waiter | undefined {
    const priority = PRIORITIES.find((p) => this.waiting.some((w) => w.priority === p))!;
    if (priority === 'batch' && this.inUse >= this.capacity - (this.liveRecently() ? 1 : 0)) {
      this.dispatchWhenHoldEnds();
      return undefined;
    }
    const candidates = this.waiting.filter((w) => w.priority === priority);
    const key = (w: Waiter) => [this.servedUser.get(w.userId) ?? 0, this.servedTask.get(w.taskId) ?? 0, w.order];
    return candidates.reduce((best, w) => (lexLess(key(w), key(best)) ? w : best));
  }
}

function lexLess(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
