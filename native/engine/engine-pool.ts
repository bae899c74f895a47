// The engine workers: N supervised child processes, each with every model
// loaded once, running up to `slotsPerWorker` jobs at once on separate whisper
// states (the hub's whisper.cpp addon; @napi-rs/whisper runs one at a time). A
// worker that dies (native abort, SIGKILL, OOM) fails its jobs with
// `engine_crashed` and is replaced. Cancelling a job stops it inside whisper
// when the worker runs the addon (the process stays; it is killed only if the
// run has not stopped within ABORT_GRACE_MS), and kills the worker otherwise
// (@napi-rs/whisper cannot be interrupted). A job that asks for them hears its
// segments as whisper emits them. The pool never decides who goes next: the
// scheduler does, and never asks for more concurrent jobs than `capacity`.
import { EventEmitter } from 'node:events';
import { ChildWorker } from '../isolates.ts';
import { EngineError, type EngineInfo, type EngineJob, type EngineResult, type EngineSegment } from './types.ts';
import type { EngineApi } from './engine-process.ts';
import type { Remote } from 'comlink';
import type { DiarizeJob, DiarizeResult } from '../diarize/speaker-embedder.ts';
import { isSegmentsEvent } from './engine-events.ts';
import type { LogFn } from '../log-fn.ts';

export interface EnginePoolOptions {
  /** model files every worker loads; the first is the default */
  modelPaths: string[];
  size: number;
  /** jobs one worker runs at once (default 1; a worker that cannot share its model runs one) */
  slotsPerWorker?: number;
  /** whisper threads per job */
  threadsPerJob: number;
  /** which whisper implementation the workers run (default: @napi-rs/whisper) */
  impl?: 'whisper.cpp' | 'napi-rs';
  /** how the whisper.cpp addon dates words (default: token timestamps) */
  wordTiming?: 'tokens' | 'dtw';
  /** the converted speaker-embedding model, loaded by a worker on its first diarization job */
  voiceModel?: string;
  log?: LogFn;
}

export interface WorkerInfo {
  /** the worker's index in the pool */
  slot: number;
  pid: number | undefined;
  /** busy: running at least one job */
  state: 'starting' | 'idle' | 'busy' | 'stopped';
  startedAt: number;
  /** the jobs it runs now */
  jobs: EngineJob[];
  /** jobs it can run at once */
  slots: number;
  restarts: number;
  /** what the worker runs, once it has loaded the model */
  engine?: EngineInfo;
  /** GPU memory in use on its device after its last job (CUDA workers) */
  deviceMemoryUsedBytes?: number;
}

/** One engine process and what the pool knows of it. */
interface Member {
  info: Omit<WorkerInfo, 'jobs'>;
  worker: ChildWorker<EngineApi> | undefined;
  /** jobs running on it, by the pool's job id */
  running: Map<number, EngineJob>;
  crashesInARow: number;
  /** the worker can stop a run inside whisper */
  abortable: boolean;
}

export type SegmentsListener = (segments: EngineSegment[]) => void;

const ENTRY = new URL('./engine-process.ts', import.meta.url);
const MAX_RESTART_DELAY_MS = 30_000;
/**
 * A worker asked to stop a run that has not stopped after this long is killed.
 * whisper checks for an abort between graph steps: ~0.1–0.5 s on an idle
 * CPU, but seconds when other processes share the cores (OpenMP threads wait
 * on a descheduled one: 1.9 and 2.8 s measured under a parallel test run).
 * Killing costs a model reload, so only an engine that truly hangs is killed.
 */
const ABORT_GRACE_MS = 5000;
/** Engine threads fill every core; at a lower priority they leave the hub's loop a core the moment it needs one. */
const WORKER_NICENESS = 10;

export class EnginePool extends EventEmitter {
  private readonly members: Member[] = [];
  /** who hears the segments of each running job that asked for them */
  private readonly segmentListeners = new Map<number, SegmentsListener>();
  private closed = false;
  private fatal: string | undefined;
  private jobs = 0;
  /** warnings already logged */
  private readonly warned = new Set<string>();
  /** restarts waiting for their back-off; cleared on close */
  private readonly restarts = new Set<NodeJS.Timeout>();
  private readonly slotsPerWorker: number;

  constructor(private readonly options: EnginePoolOptions) {
    super();
    this.slotsPerWorker = options.slotsPerWorker ?? 1;
    this.setMaxListeners(0);
    for (let i = 0; i < options.size; i++) {
      const member: Member = { info: { slot: i, pid: undefined, state: 'stopped', startedAt: 0, slots: this.slotsPerWorker, restarts: 0 }, worker: undefined, running: new Map(), crashesInARow: 0, abortable: false };
      this.members.push(member);
      this.spawn(member);
    }
  }

  get size(): number {
    return this.options.size;
  }

  /** jobs the pool runs at once, as configured (a worker that turns out unable to share its model runs fewer) */
  get capacity(): number {
    return this.options.size * this.slotsPerWorker;
  }

  /** Resolves once every worker has loaded the model; rejects if the model cannot be loaded. */
  async ready(): Promise<void> {
    for (const member of this.members) {
      while (member.info.state !== 'idle' && member.info.state !== 'busy') {
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
    return this.members.map((m) => ({ ...m.info, jobs: [...m.running.values()] }));
  }

  /** jobs running now */
  get busy(): number {
    return this.members.reduce((n, m) => n + m.running.size, 0);
  }

  /**
   * Runs one chunk on a worker with a free slot. Callers keep at most
   * `capacity` jobs in flight. `onSegments` hears the chunk's segments kept so
   * far each time whisper emits one (the whisper.cpp addon only).
   */
  run(job: EngineJob, signal: AbortSignal, onSegments?: SegmentsListener): Promise<EngineResult> {
    return this.onSlot(job, signal, (api, id) => api.transcribe(job, id, onSegments !== undefined), onSegments);
  }

  /** Tells the speakers of a task's speech windows apart, on a slot like a chunk (it is counted by the same scheduler). */
  diarize(job: DiarizeJob, signal: AbortSignal): Promise<DiarizeResult> {
    const speech = job.windows.reduce((n, [start, end]) => n + Math.round((end - start) * 16_000), 0);
    const shown: EngineJob = { pcmPath: job.pcmPath, start: 0, end: speech, ...(job.tag ? { tag: job.tag } : {}) };
    return this.onSlot(shown, signal, (api) => api.diarize(job));
  }

  /** The speaker embedding of live audio (a final's), on a slot. */
  embedSpeech(samples: Float32Array, signal: AbortSignal, tag?: EngineJob['tag']): Promise<Float32Array> {
    return this.onSlot({ samples, ...(tag ? { tag } : {}) }, signal, (api) => api.embedSpeech(samples));
  }

  private async onSlot<T>(job: EngineJob, signal: AbortSignal, call: (api: Remote<EngineApi>, id: number) => Promise<T>, onSegments?: SegmentsListener): Promise<T> {
    signal.throwIfAborted();
    const member = await this.claim(signal);
    if (signal.aborted) throw new EngineError('cancelled', 'cancelled');
    const worker = member.worker!;
    const id = ++this.jobs;
    member.running.set(id, job);
    member.info.state = 'busy';
    if (onSegments) this.segmentListeners.set(id, onSegments);
    let grace: NodeJS.Timeout | undefined;
    const stop = () => {
      if (!member.abortable) return worker.kill();
      void worker.call((api) => api.abort(id)).catch(() => {});
      grace = setTimeout(() => worker.kill(), ABORT_GRACE_MS);
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      const result = await worker.call((api) => call(api, id));
      member.crashesInARow = 0;
      if (member.info.engine?.backend === 'cuda') {
        void worker.call((api) => api.deviceMemory()).then((bytes) => (member.info.deviceMemoryUsedBytes = bytes), () => {});
      }
      return result;
    } catch (error) {
      if (signal.aborted) throw new EngineError('cancelled', 'cancelled');
      if (!worker.alive) throw new EngineError('engine_crashed', (error as Error).message);
      throw new EngineError('engine_failed', error instanceof Error ? error.message : String(error));
    } finally {
      signal.removeEventListener('abort', stop);
      clearTimeout(grace);
      this.segmentListeners.delete(id);
      if (member.worker === worker && worker.alive) {
        member.running.delete(id);
        if (member.running.size === 0) member.info.state = 'idle';
        this.emit('change');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.restarts) clearTimeout(timer);
    this.restarts.clear();
    await Promise.all(this.members.map((m) => m.worker?.stop()));
    this.emit('change');
  }

  private spawn(member: Member): void {
    if (this.closed) return;
    const worker = new ChildWorker<EngineApi>(ENTRY, 'engine worker', {
      env: {
        ENGINE_MODELS: JSON.stringify(this.options.modelPaths),
        ENGINE_THREADS: String(this.options.threadsPerJob),
        ENGINE_IMPL: this.options.impl ?? 'napi-rs',
        ENGINE_WORD_TIMING: this.options.wordTiming ?? 'tokens',
        ...(this.options.voiceModel ? { ENGINE_VOICE_MODEL: this.options.voiceModel } : {}),
        // whisper.cpp's OpenMP threads sleep when they wait, instead of spinning: with any other busy
        // process on the cores, a spinning thread holds the core its partner needs (a live pass on
        // 2 threads went from 0.35 s to 12 s with one busy core beside it; passive: 0.68 s, and the
        // same as spinning on a quiet machine). docs/decisions.md has the figures.
        OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
      },
      nice: WORKER_NICENESS,
    });
    member.worker = worker;
    member.running.clear();
    member.info = { ...member.info, pid: worker.pid, state: 'starting', startedAt: worker.startedAt };
    worker.exited.catch(() => this.onExit(member, worker));
    worker.child.on('message', (message: unknown) => {
      if (isSegmentsEvent(message)) this.segmentListeners.get(message.engineSegmentsOf)?.(message.segments);
    });
    worker
      .call((api) => api.info())
      .then((info) => {
        if (member.worker !== worker) return;
        member.abortable = info.abortable;
        member.info.engine = info.engine;
        member.info.slots = info.concurrent ? this.slotsPerWorker : 1;
        if (!info.concurrent && this.slotsPerWorker > 1) this.warnOnce(`${info.engine.impl} runs one job per engine worker: HUB_ENGINE_SLOTS=${this.slotsPerWorker} is not used`);
        member.info.state = 'idle';
        this.emit('change');
      })
      .catch((error: unknown) => {
        if (member.worker !== worker || this.closed || !worker.alive) return; // an exit is handled by onExit
        // The model itself is unusable: restarting will not help.
        this.fatal = error instanceof Error ? error.message : String(error);
        this.options.log?.('error', 'engine cannot load the model', { error: this.fatal });
        worker.kill();
        this.emit('change');
      });
  }

  private onExit(member: Member, worker: ChildWorker<EngineApi>): void {
    if (member.worker !== worker) return;
    const jobs = [...member.running.values()].map((j) => j.tag).filter((tag) => tag !== undefined);
    member.worker = undefined;
    member.running.clear();
    member.info.state = 'stopped';
    this.emit('change');
    if (this.closed || this.fatal) return;
    member.info.restarts++;
    const shortLived = Date.now() - worker.startedAt < 5_000;
    member.crashesInARow = shortLived ? member.crashesInARow + 1 : 0;
    const delay = member.crashesInARow > 1 ? Math.min(MAX_RESTART_DELAY_MS, 250 * 2 ** member.crashesInARow) : 0;
    const { exitCode, signalCode } = worker.child;
    this.options.log?.('warn', 'engine worker exited; replacing it', {
      pid: worker.pid, code: exitCode, signal: signalCode, wasBusy: jobs.length > 0, jobs, restartInMs: delay, stderr: worker.stderrTail,
    });
    // Held (not unref'd): a pool waiting to replace a worker is work in progress; close() clears it.
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      this.spawn(member);
    }, delay);
    this.restarts.add(timer);
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.options.log?.('warn', message);
  }

  /** The loaded worker with the most free slots (jobs spread over processes), waiting for one if none has a free slot. */
  private async claim(signal: AbortSignal): Promise<Member> {
    for (;;) {
      if (this.closed) throw new EngineError('shutting_down', 'the hub is shutting down');
      if (this.fatal) throw new EngineError('engine_failed', this.fatal);
      let free: Member | undefined;
      for (const m of this.members) {
        const loaded = m.info.state === 'idle' || m.info.state === 'busy';
        if (loaded && m.running.size < m.info.slots && (!free || m.info.slots - m.running.size > free.info.slots - free.running.size)) free = m;
      }
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
