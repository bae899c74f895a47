// Cluster mode: keeps this hub's task leases alive and takes over the tasks of
// hubs that stopped renewing theirs. Every third of the lease's life it renews
// what it holds (a task another hub took meanwhile stops here) and claims what
// nobody holds, resuming it as a restart would. A store that does not answer
// is tried again at the next tick: meanwhile the leases may expire elsewhere,
// and fencing keeps this hub's late writes out.
import type { TaskLeases, TaskStore } from './stores/task-store.ts';
import type { TaskRegistry } from './task-registry.ts';
import { resumeTasks } from './boot.ts';
import type { LogFn } from '../native/log-fn.ts';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(
    private readonly store: TaskStore,
    private readonly leases: TaskLeases,
    private readonly registry: TaskRegistry,
    private readonly ttlMs: number,
    private readonly log: LogFn,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.round(this.ttlMs / 3)));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round: renew, then claim. Never two at once (a slow store must not pile rounds up). */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const id of await this.leases.renew()) {
        this.log('warn', 'another hub took this task over: it stops here', { taskId: id });
        this.registry.abandon(id);
      }
      const taken = await this.leases.claim();
      if (taken.length > 0) await resumeTasks(this.store, this.registry, taken, this.log);
    } catch (error) {
      this.log('warn', 'could not renew or claim task leases; trying again', { error: String(error) });
    } finally {
      this.busy = false;
    }
  }
}
