// The engine workers: N supervised child processes, each with the model loaded
// once, one job at a time. A worker that dies (native abort, SIGKILL, OOM) fails
// its job with `engine_crashed` and is replaced; cancelling a job kills its
// worker (whisper.cpp cannot be interrupted) and starts a fresh one. The pool
// never decides who goes next: the scheduler does, and never asks for more
// concurrent jobs than `size`.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import * as Comlink from 'comlink';
import { ipcEndpoint } from '../endpoints.ts';
import { EngineError, type EngineJob, type EngineResult } from './types.ts';
import type { EngineApi } from './engine-process.ts';
import { TS_EXEC_ARGV } from '../isolates.ts';

export interface EnginePoolOptions {
  modelPath: string;
  size: number;
  threadsPerWorker: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: object) => void;
}

export interface WorkerInfo {
  slot: number;
  pid: number | undefined;
  state: 'starting' | 'idle' | 'busy' | 'stopped';
  startedAt: number;
  job: EngineJob | undefined;
  restarts: number;
}

interface Slot {
  info: WorkerInfo;
  child: ChildProcess | undefined;
  api: Comlink.Remote<EngineApi> | undefined;
  /** rejects when the current child exits */
  exited: Promise<never>;
  stderrTail: string[];
  crashesInARow: number;
}

const MAX_RESTART_DELAY_MS = 30_000;

export class EnginePool extends EventEmitter {
  private readonly slots: Slot[] = [];
  private closed = false;
  private fatal: string | undefined;

  constructor(private readonly options: EnginePoolOptions) {
    super();
    this.setMaxListeners(0);
    for (let i = 0; i < options.size; i++) {
      const slot: Slot = {
        info: { slot: i, pid: undefined, state: 'stopped', startedAt: 0, job: undefined, restarts: 0 },
        child: undefined,
        api: undefined,
        exited: Promise.reject(new EngineError('engine_crashed', 'not started')),
        stderrTail: [],
        crashesInARow: 0,
      };
      slot.exited.catch(() => {});
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  get size(): number {
    return this.options.size;
  }

  /** Resolves once every worker has loaded the model; rejects if the model cannot be loaded. */
  async ready(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.waitIdle(slot)));
  }

  get isReady(): boolean {
    return !this.fatal && this.slots.some((s) => s.info.state === 'idle' || s.info.state === 'busy');
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
    slot.info.state = 'busy';
    slot.info.job = job;
    const child = slot.child!;
    const kill = () => child.kill('SIGKILL');
    signal.addEventListener('abort', kill, { once: true });
    try {
      const result = await Promise.race([slot.api!.transcribe(job), slot.exited]);
      slot.crashesInARow = 0;
      return result;
    } catch (error) {
      if (signal.aborted) throw new EngineError('cancelled', 'cancelled');
      if (error instanceof EngineError) throw error;
      throw new EngineError('engine_failed', error instanceof Error ? error.message : String(error));
    } finally {
      signal.removeEventListener('abort', kill);
      if (slot.child === child && slot.info.state === 'busy') {
        slot.info.state = 'idle';
        slot.info.job = undefined;
        this.emit('idle');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        const child = slot.child;
        if (!child || child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      }),
    );
    this.emit('idle');
  }

  private spawn(slot: Slot): void {
    if (this.closed) return;
    const child = fork(fileURLToPath(new URL('./engine-process.ts', import.meta.url)), [], {
      execArgv: TS_EXEC_ARGV,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, ENGINE_MODEL_PATH: this.options.modelPath, ENGINE_THREADS: String(this.options.threadsPerWorker) },
    });
    slot.child = child;
    slot.api = Comlink.wrap<EngineApi>(ipcEndpoint(child));
    slot.info = { ...slot.info, pid: child.pid, state: 'starting', startedAt: Date.now(), job: undefined };
    slot.stderrTail = [];
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      slot.stderrTail.push(text);
      if (slot.stderrTail.length > 20) slot.stderrTail.shift();
    });
    child.on('error', () => {}); // a send on a dead channel; the exit handler deals with it
    slot.exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => {
        reject(new EngineError('engine_crashed', `engine worker ${child.pid} exited (${signal ?? code})`));
        this.onExit(slot, child, code, signal);
      });
    });
    slot.exited.catch(() => {});
    slot.api
      .info()
      .then(() => {
        if (slot.child !== child) return;
        slot.info.state = 'idle';
        this.emit('idle');
      })
      .catch((error: unknown) => {
        if (slot.child !== child || this.closed) return;
        // The model itself is unusable: restarting will not help.
        this.fatal = error instanceof Error ? error.message : String(error);
        this.options.log?.('error', 'engine cannot load the model', { error: this.fatal });
        child.kill('SIGKILL');
        this.emit('idle');
      });
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    const wasBusy = slot.info.state === 'busy';
    slot.info.state = 'stopped';
    slot.info.job = undefined;
    slot.child = undefined;
    if (this.closed || this.fatal) return;
    slot.info.restarts++;
    const shortLived = Date.now() - slot.info.startedAt < 5_000;
    slot.crashesInARow = shortLived ? slot.crashesInARow + 1 : 0;
    const delay = slot.crashesInARow > 1 ? Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** slot.crashesInARow) : 0;
    this.options.log?.('warn', 'engine worker exited; replacing it', {
      pid: child.pid, code, signal, wasBusy, restartInMs: delay, stderr: slot.stderrTail.join('').slice(-500),
    });
    setTimeout(() => this.spawn(slot), delay).unref();
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
          this.off('idle', wake);
          reject(new EngineError('cancelled', 'cancelled'));
        };
        this.once('idle', wake);
        signal.addEventListener('abort', cancel, { once: true });
      });
    }
  }

  private async waitIdle(slot: Slot): Promise<void> {
    while (slot.info.state !== 'idle' && slot.info.state !== 'busy') {
      if (this.fatal) throw new Error(this.fatal);
      if (this.closed) throw new Error('closed');
      await new Promise((resolve) => this.once('idle', resolve));
    }
  }
}
