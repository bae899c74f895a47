// The spool's disk budget: uploads (kept until retention removes them) and
// decoded pcm (kept while a task runs) share HUB_SPOOL_MAX_MB, and the disk
// must keep a reserve free besides. An upload that would break either is
// refused with `insufficient_storage` before it fills the disk. Usage is
// measured from the disk every few seconds (the decoder writes pcm out of our
// sight) plus the uploads streaming in right now.
import { access, readdir, rm, stat, statfs } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { HubError } from '../actors/hub-error.ts';
import type { LogFn } from '../native/log-fn.ts';
import type { TaskFiles } from '../actors/task-files.ts';
import type { SharedUploads } from './shared-uploads.ts';

const FREE_RESERVE_BYTES = 512 * 1024 * 1024;
const MEASURE_EVERY_MS = 5_000;
const ABANDONED_AFTER_MS = 7 * 24 * 3_600_000;

/** The extension an upload keeps on disk (decoders look at it): a short plain one from its name, else none. */
export function uploadExtension(name: string | undefined): string {
  const ext = extname(name ?? '');
  return /^\.[a-z0-9]{1,5}$/i.test(ext) ? ext.toLowerCase() : '';
}

export class Spool implements TaskFiles {
  private onDisk = 0;
  private free = Number.POSITIVE_INFINITY;
  private incoming = 0;
  private timer: NodeJS.Timeout | undefined;
  /** cluster mode: the copy of every upload that every hub can read */
  private shared: SharedUploads | undefined;

  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly log: LogFn = () => {},
  ) {}

  async start(): Promise<void> {
    await this.measure();
    // A failed measurement keeps the last figure; it is said, since admission goes by it.
    this.timer = setInterval(() => void this.measure().catch((error: unknown) => this.log('warn', 'could not measure the spool; its storage budget may be stale', { error: String(error) })), MEASURE_EVERY_MS);
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

  /** A resumable upload being received, and its sidecar (what it is, how long). */
  partPath(id: string): string {
    return join(this.dir, `${id}.part`);
  }

  sidecarPath(id: string): string {
    return join(this.dir, `${id}.tus.json`);
  }

  /** The decoded audio of task `id` while it is transcribed. */
  pcmPath(id: string): string {
    return join(this.dir, `${id}.pcm`);
  }

  /** Cluster mode: uploads are copied to (and read back from) the object store every hub shares. */
  shareThrough(shared: SharedUploads): void {
    this.shared = shared;
  }

  /** Removes a task's files (streams have none); a file already gone is fine. */
  async remove(record: { task?: { id: string }; audioPath: string; pcmPath: string }): Promise<void> {
    // By name in this spool: a record written by another hub (cluster mode) names the files on its own disk.
    await Promise.all([record.audioPath, record.pcmPath].filter(Boolean).map((path) => rm(join(this.dir, basename(path)), { force: true })));
    if (record.task) await this.shared?.remove(record.task.id);
  }

  async share(taskId: string, audioPath: string): Promise<void> {
    if (!this.shared) return;
    try {
      await this.shared.put(taskId, audioPath);
    } catch (error) {
      this.log('error', 'could not copy an upload to the shared storage', { taskId, error: String(error) });
      throw new HubError('store_unavailable', 'the upload could not be copied to the cluster\'s shared storage (NATS); try again shortly');
    }
  }

  /**
   * A task taken over from another hub keeps its upload's name but lives in
   * this spool: fetched from the shared copy when it is not on this disk. Its
   * pcm is this hub's (decoded again when missing, as after a restart).
   */
  async localize(record: { task: { id: string }; audioPath: string; pcmPath: string }): Promise<{ audioPath: string; pcmPath: string }> {
    if (!this.shared || !record.audioPath) return record;
    const audioPath = join(this.dir, basename(record.audioPath));
    const here = await access(audioPath).then(() => true, () => false);
    if (!here && !(await this.shared.fetch(record.task.id, audioPath))) {
      throw new HubError('not_found', `the upload of task ${record.task.id} is neither on this hub nor in the shared storage`);
    }
    return { audioPath, pcmPath: this.pcmPath(record.task.id) };
  }

  /** Where an upload for task `id` is stored while and after it is received. */
  uploadPath(id: string, extension = ''): string {
    return join(this.dir, `${id}${extension}.upload`);
  }

  /**
   * Removes what a killed hub left behind: uploads that never became a task
   * (cut by the kill before the task was recorded) and decoded pcm of tasks
   * that are finished or gone. Only files older than `before` (the hub's
   * start), so nothing that arrives meanwhile is touched. Returns the names.
   */
  async sweepOrphans(taskState: (id: string) => Promise<'unfinished' | 'finished' | 'missing'>, before: number): Promise<string[]> {
    const swept: string[] = [];
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.part')) {
        // A resumable upload nobody has written to for a week is abandoned (with its sidecar).
        const info = await stat(join(this.dir, name)).catch(() => undefined);
        if (info && info.mtimeMs < before - ABANDONED_AFTER_MS) {
          const id = name.slice(0, -'.part'.length);
          await Promise.all([rm(this.partPath(id), { force: true }), rm(this.sidecarPath(id), { force: true })]);
          swept.push(name, `${id}.tus.json`);
        }
        continue;
      }
      const orphanIf = name.endsWith('.upload') ? ['missing'] : name.endsWith('.pcm') ? ['missing', 'finished'] : [];
      if (orphanIf.length === 0) continue;
      const path = join(this.dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info || info.mtimeMs >= before) continue;
      if (!orphanIf.includes(await taskState(name.slice(0, name.indexOf('.'))))) continue;
      await rm(path, { force: true });
      swept.push(name);
    }
    if (swept.length > 0) await this.measure();
    return swept;
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
