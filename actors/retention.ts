// Removes the audio of finished tasks once the retention period is over (the
// transcript stays). Runs now and then in the background; a failure is logged
// and tried again next time.
import type { TaskStore } from './stores/task-store.ts';
import type { TaskFiles } from './task-files.ts';
import type { LogFn } from '../native/log-fn.ts';

const SWEEP_EVERY_MS = 10 * 60_000;
const BATCH = 200;

export class AudioRetention {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: TaskStore,
    private readonly files: TaskFiles,
    private readonly retentionHours: number,
    private readonly log: LogFn = () => {},
  ) {}

  start(): void {
    if (this.retentionHours <= 0) return; // keep audio forever
    const run = () => void this.sweep().catch((error: unknown) => this.log('warn', 'audio retention sweep failed; will try again', { error: String(error) }));
    setTimeout(run, 5_000).unref();
    this.timer = setInterval(run, SWEEP_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Removes the audio of tasks finished before the cutoff; returns how many. */
  async sweep(now = new Date()): Promise<number> {
    const cutoff = new Date(now.getTime() - this.retentionHours * 3_600_000).toISOString();
    let removed = 0;
    for (;;) {
      const expired = await this.store.expiredAudio(cutoff, BATCH);
      if (expired.length === 0) break;
      await Promise.all(expired.map((r) => this.files.remove(r)));
      await this.store.markAudioRemoved(
        expired.map((r) => r.task.id),
        now.toISOString(),
      );
      removed += expired.length;
      if (expired.length < BATCH) break;
    }
    if (removed > 0) this.log('info', 'removed the audio of finished tasks past retention', { count: removed, retentionHours: this.retentionHours });
    return removed;
  }
}
