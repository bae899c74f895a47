// The spool's disk budget: uploads (kept until retention removes them) and
// decoded pcm (kept while a task runs) share HUB_SPOOL_MAX_MB, and the disk
// must keep a reserve free besides. An upload that would break either is
// refused with `insufficient_storage` before it fills the disk. Usage is
// measured from the disk every few seconds (the decoder writes pcm out of our
// sight) plus the uploads streaming in right now.
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { HubError } from '../actors/hub-error.ts';

const FREE_RESERVE_BYTES = 512 * 1024 * 1024;
const MEASURE_EVERY_MS = 5_000;

export class Spool {
  private onDisk = 0;
  private free = Number.POSITIVE_INFINITY;
  private incoming = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  async start(): Promise<void> {
    await this.measure();
    this.timer = setInterval(() => void this.measure().catch(() => {}), MEASURE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get usedBytes(): number {
    return this.onDisk + this.incoming;
  }

  /** Throws `insufficient_storage` if `bytes` more would not fit. */
  check(bytes: number): void {
    if (this.usedBytes + bytes > this.maxBytes) {
      throw new HubError('insufficient_storage', `the hub's storage for recordings is full (${Math.round(this.maxBytes / 1048576)} MB); try again later`);
    }
    if (this.free - this.incoming - bytes < FREE_RESERVE_BYTES) {
      throw new HubError('insufficient_storage', 'the hub is running out of disk space; try again later');
    }
  }

  /** Counts an upload's bytes as they stream in; call the returned function when it is on disk or gone. */
  receiving(): { add(bytes: number): void; done(): void } {
    let counted = 0;
    return {
      add: (bytes) => {
        this.check(bytes);
        counted += bytes;
        this.incoming += bytes;
      },
      done: () => {
        this.incoming -= counted;
        this.onDisk += counted; // until the next measurement says otherwise
        counted = 0;
      },
    };
  }

  async measure(): Promise<void> {
    let total = 0;
    for (const name of await readdir(this.dir)) {
      total += await stat(join(this.dir, name)).then((s) => s.size, () => 0);
    }
    this.onDisk = total;
    const fs = await statfs(this.dir).catch(() => undefined);
    if (fs) this.free = fs.bavail * fs.bsize;
  }
}
