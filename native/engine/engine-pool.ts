// The engine workers: N supervised child processes, each with the model loaded
// once, one job at a time. A worker that dies (native abort, SIGKILL, OOM) fails
// its job with `engine_crashed` and is replaced. Cancelling a job stops it
// inside whisper when the worker runs the hub's whisper.cpp addon (the process
// stays; it is killed only if it does not stop within ABORT_GRACE_MS), and
// kills the worker otherwise (@napi-rs/whisper cannot be interrupted). The
// pool never decides who goes next: the scheduler does, and never asks for
// more concurrent jobs than `size`.
import { EventEmitter } from 'node:events';
import { ChildWorker } from '../isolates.ts';
import { EngineError, type EngineInfo, type EngineJob, type EngineResult } from './types.ts';
import type { EngineApi } from './engine-process.ts';
import type { LogFn } from '../log-fn.ts';

export interface EnginePoolOptions {
  modelPath: string;
  size: number;
  threadsPerWorker: number;
  /** which whisper implementation the workers run (default: @napi-rs/whisper) */
  impl?: 'whisper.cpp' | 'napi-rs';
  log?: LogFn;
}

export interface WorkerInfo {
  slot: number;
  pid: number | undefined;
  state: 'starting' | 'idle' | 'busy' | 'stopped';
  startedAt: number;
  job: EngineJob | undefined;
  restarts: number;
  /** what the worker runs, once it has loaded the model */
  engine?: EngineInfo;
  /** GPU memory in use on its device after its last job (CUDA workers) */
  deviceMemoryUsedBytes?: number;
}

interface Slot {
  info: WorkerInfo;
  worker: ChildWorker<EngineApi> | undefined;
  crashesInARow: number;
  /** the worker can stop a run inside whisper */
  abortable: boolean;
}

const ENTRY = new URL('./engine-process.ts', import.meta.url);
const MAX_RESTART_DELAY_MS = 30_000;
/** A worker asked to stop a run that has not stopped after this long is killed. */
const ABORT_GRACE_MS = 1000;
/** Engine threads fill every core; at a lower priority they leave the hub's loop a core the moment it needs one. */
const WORKER_NICENESS = 10;

export class EnginePool extends EventEmitter {
  private readonly slots: Slot[] = [];
  private closed = false;
  private fatal: string | undefined;
  private jobs = 0;
  /** restarts waiting for their back-off; cleared on close */
  private readonly restarts = new Set<NodeJS.Timeout>();

  constructor(private readonly options: EnginePoolOptions) {
    super();
    this.setMaxListeners(0);
    for (let i = 0; i < options.size; i++) {
      const slot: Slot = { info: { slot: i, pid: undefined, state: 'stopped', startedAt: 0, job: undefined, restarts: 0 }, worker: undefined, crashesInARow: 0, abortable: false };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  get size(): number {
    return this.options.size;
  }

  /** Resolves once every worker has loaded the model; rejects if the model cannot be loaded. */
  async ready(): Promise<void> {
    for (const slot of this.slots) {
      while (slot.info.state !== 'idle' && slot.info.state !== 'busy') {
        if (this.fatal) throw new Error(this.fatal);
        if (this.closed) throw new Error('the engine pool is closed');
        await new Promise((resolve) => this.once('change', resolve));
      }
    }
  }

  get failure(): string | undefined {
    return this.fatal;
  }

  workers(): WorkerInfo[] {
    return this.slots.map((s) => ({ ...s.info }));
  }

  get busy(): number {
    return this.slots.filter((s) => s.info.state === 'busy').length;
  }

  /** Runs one chunk on a free worker. Callers keep at most `size` jobs in flight. */
  async run(job: EngineJob, signal: AbortSignal): Promise<EngineResult> {
    signal.throwIfAborted();
    const slot = await this.claim(signal);
    if (signal.aborted) throw new EngineError('cancelled', 'cancelled');
    const worker = slot.worker!;
    const id = ++this.jobs;
    slot.info.state = 'busy';
    slot.info.job = job;
    let grace: NodeJS.Timeout | undefined;
    const stop = () => {
      if (!slot.abortable) return worker.kill();
      void worker.call((api) => api.abort(id)).catch(() => {});
      grace = setTimeout(() => worker.kill(), ABORT_GRACE_MS);
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      const result = await worker.call((api) => api.transcribe(job, id));
      slot.crashesInARow = 0;
      if (slot.info.engine?.backend === 'cuda') {
        void worker.call((api) => api.deviceMemory()).then((bytes) => (slot.info.deviceMemoryUsedBytes = bytes), () => {});
      }
      return result;
    } catch (error) {
      if (signal.aborted) throw new EngineError('cancelled', 'cancelled');
      if (!worker.alive) throw new EngineError('engine_crashed', (error as Error).message);
      throw new EngineError('engine_failed', error instanceof Error ? error.message : String(error));
    } finally {
      signal.removeEventListener('abort', stop);
      clearTimeout(grace);
      if (slot.worker === worker && worker.alive) {
        slot.info.state = 'idle';
        slot.info.job = undefined;
        this.emit('change');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    await Promise.all(this.slots.map((slot) => slot.worker?.stop()));
    this.emit('change');
  }

  private spawn(slot: Slot): void {
    if (this.closed) return;
    const worker = new ChildWorker<EngineApi>(ENTRY, 'engine worker', {
      env: { ENGINE_MODEL_PATH: this.options.modelPath, ENGINE_THREADS: String(this.options.threadsPerWorker), ENGINE_IMPL: this.options.impl ?? 'napi-rs' },
      nice: WORKER_NICENESS,
    });
    slot.worker = worker;
    slot.info = { ...slot.info, pid: worker.pid, state: 'starting', startedAt: worker.startedAt, job: undefined };
    worker.exited.catch(() => this.onExit(slot, worker));
    worker
      .call((api) => api.info())
      .then((info) => {
        if (slot.worker !== worker) return;
        slot.abortable = info.abortable;
        slot.info.engine = info.engine;
        slot.info.state = 'idle';
        this.emit('change');
      })
      .catch((error: unknown) => {
        if (slot.worker !== worker || this.closed || !worker.alive) return; // an exit is handled by onExit
        // The model itself is unusable: restarting will not help.
        this.fatal = error instanceof Error ? error.message : String(error);
        this.options.log?.('error', 'engine cannot load the model', { error: this.fatal });
        worker.kill();
        this.emit('change');
      });
  }

  private onExit(slot: Slot, worker: ChildWorker<EngineApi>): void {
    if (slot.worker !== worker) return;
    const wasBusy = slot.info.state === 'busy';
    const job = slot.info.job?.tag;
    slot.worker = undefined;
    slot.info.state = 'stopped';
    slot.info.job = undefined;
    this.emit('change');
    if (this.closed || this.fatal) return;
    slot.info.restarts++;
    const shortLived = Date.now() - worker.startedAt < 5_000;
    slot.crashesInARow = shortLived ? slot.crashesInARow + 1 : 0;
    const delay = slot.crashesInARow > 1 ? Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** slot.crashesInARow) : 0;
    const { exitCode, signalCode } = worker.child;
    this.options.log?.('warn', 'engine worker exited; replacing it', {
      pid: worker.pid, code: exitCode, signal: signalCode, wasBusy, ...(job ? { taskId: job.taskId, chunk: job.chunk } : {}), restartInMs: delay, stderr: worker.stderrTail,
    });
    // Held (not unref'd): a pool waiting to replace a worker is work in progress; close() clears it.
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      this.spawn(slot);
    }, delay);
    this.restarts.add(timer);
  }

  /** The first idle worker, waiting for one if all are busy or starting. */
  private async claim(signal: AbortSignal): Promise<Slot> {
    for (;;) {
      if (this.closed) throw new EngineError('shutting_down', 'the hub is shutting down');
      if (this.fatal) throw new EngineError('engine_failed', this.fatal);
      const free = this.slots.find((s) => s.info.state === 'idle');
      if (free) return free;
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal.removeEventListener('abort', cancel);
          resolve();
        };
        const cancel = () => {
          this.off('change', wake);
          reject(new EngineError('cancelled', 'cancelled'));
        };
        this.once('change', wake);
        signal.addEventListener('abort', cancel, { once: true });
      });
    }
  }
}
