// The engine as the rest of the hub sees it: the models being resolved
// (fetched, imported or generated), then a pool of workers running them, each
// worker with every model loaded once. Chunks that ask before the pool is up
// wait for it; a chunk runs on the model its task's `options.model` names (the
// first model when none). Status says where it stands, for /readyz and tasks.
import { join } from 'node:path';
import { EnginePool } from './engine-pool.ts';
import { EngineError, type EngineInfo, type EngineJob, type EngineResult } from './types.ts';
import type { SegmentsListener } from './engine-pool.ts';
import type { DiarizeJob, DiarizeResult } from '../diarize/speaker-embedder.ts';
import { findAddon } from './whisper-cpp-addon.ts';
import { resolveModel, type ResolvedModel } from '../models/resolve.ts';
import type { LogFn } from '../log-fn.ts';

export interface EngineStatus extends Omit<EngineInfo, 'fallbackReason' | 'deviceMemoryUsedBytes'> {
  state: 'loading' | 'ready' | 'failed';
  /** why the workers do not run the whisper.cpp addon, when they do not */
  implFallback?: string;
  /** the default model (the first WHISPER_MODEL lists) */
  model: string | undefined;
  /** every model the hub runs, the default first */
  models: string[];
  synthetic: boolean;
  fallbackReason?: string;
  failure?: string;
  /** workers being replaced right now */
  restarting: number;
  workers: number;
  /** jobs each worker runs at once on its loaded models */
  slotsPerWorker: number;
  threadsPerJob: number;
  /** threads one worker may run: its slots' */
  threadsPerWorker: number;
}

export interface EngineServiceOptions {
  /** as WHISPER_MODEL lists them; empty: the default model */
  specs: string[];
  dataDir: string;
  workers: number;
  slotsPerWorker: number;
  threadsPerJob: number;
  engine?: 'auto' | 'whisper.cpp' | 'napi-rs';
  wordTiming?: 'tokens' | 'dtw';
  /** the converted speaker-embedding model for diarization (HUB_VOICE_MODEL) */
  voiceModel?: string;
  log: LogFn;
}

interface RunningModel extends ResolvedModel {
  /** as WHISPER_MODEL said it */
  spec: string | undefined;
}

/** The engine as the hub uses it: this process's workers (EngineService) or the engine nodes on the bus (ClusterEngine). */
export interface HubEngine {
  readonly slots: number;
  readonly workerPool: EnginePool | undefined;
  readonly modelNames: string[];
  ready(): Promise<EnginePool | undefined>;
  status(): EngineStatus;
  knowsModel(name: string): boolean;
  modelNameFor(wanted: string | undefined): string | undefined;
  run(job: EngineJob, signal: AbortSignal, onSegments?: SegmentsListener): Promise<EngineResult>;
  /** Speakers of a task's speech windows; absent where the engine cannot (the engine nodes of cluster mode, for now). */
  diarize?(job: DiarizeJob, signal: AbortSignal): Promise<DiarizeResult>;
  /** The speaker embedding of live audio; absent as diarize is. */
  embedSpeech?(samples: Float32Array, signal: AbortSignal, tag?: EngineJob['tag']): Promise<Float32Array>;
  close(): Promise<void>;
}

export class EngineService implements HubEngine {
  private models: RunningModel[] = [];
  private pool: EnginePool | undefined;
  private failure: string | undefined;
  private loaded = false;
  private readonly started: Promise<EnginePool>;
  /** the implementation the workers are started with, and why not the addon */
  private readonly impl: { impl: EngineInfo['impl']; fallback?: string };

  constructor(private readonly options: EngineServiceOptions) {
    this.impl = chooseImpl(options.engine ?? 'napi-rs');
    if (this.impl.fallback) options.log(options.engine === 'whisper.cpp' ? 'error' : 'warn', `${this.impl.fallback}: the engine runs on @napi-rs/whisper (CPU only, no abort inside a run, no words)`);
    this.started = this.start();
    this.started.catch(() => {}); // reported through status() and run()
  }

  /** jobs the engine runs at once: every slot of every worker */
  get slots(): number {
    return this.options.workers * this.options.slotsPerWorker;
  }

  /** Resolves when the model is loaded in every worker; rejects if it cannot be. */
  ready(): Promise<EnginePool> {
    return this.started;
  }

  /** The default model's name, once resolved. */
  get modelName(): string | undefined {
    return this.models[0]?.name;
  }

  /** What this hub runs, for messages: the models' names (or specs, before they are resolved). */
  get modelNames(): string[] {
    return this.models.length ? this.models.map((m) => m.name) : this.options.specs;
  }

  /** Whether `name` is a model this hub runs (as WHISPER_MODEL said it, or by its resolved name). */
  knowsModel(name: string): boolean {
    return this.options.specs.includes(name) || this.models.some((m) => m.name === name);
  }

  /** The resolved name of the model a task asking for `wanted` runs on (undefined before the models are resolved). */
  modelNameFor(wanted: string | undefined): string | undefined {
    return this.find(wanted)?.name;
  }

  private find(wanted: string | undefined): RunningModel | undefined {
    if (wanted === undefined) return this.models[0];
    return this.models.find((m) => m.spec === wanted || m.name === wanted) ?? this.models[0];
  }

  get workerPool(): EnginePool | undefined {
    return this.pool;
  }

  async run(job: EngineJob, signal: AbortSignal, onSegments?: SegmentsListener): Promise<EngineResult> {
    const pool = await this.started.catch((e: Error) => {
      throw new EngineError('engine_failed', e.message);
    });
    const wanted = job.options?.model;
    return pool.run(wanted === undefined ? job : { ...job, model: this.find(wanted)!.path }, signal, onSegments);
  }

  async diarize(job: DiarizeJob, signal: AbortSignal): Promise<DiarizeResult> {
    const pool = await this.started.catch((e: Error) => {
      throw new EngineError('engine_failed', e.message);
    });
    return pool.diarize(job, signal);
  }

  async embedSpeech(samples: Float32Array, signal: AbortSignal, tag?: EngineJob['tag']): Promise<Float32Array> {
    const pool = await this.started.catch((e: Error) => {
      throw new EngineError('engine_failed', e.message);
    });
    return pool.embedSpeech(samples, signal, tag);
  }

  status(): EngineStatus {
    const failure = this.failure ?? this.pool?.failure;
    // A worker being replaced after a crash or a cancel is not "not ready": the
    // model loads fine, and chunks just wait the half second it takes.
    const workers = this.pool?.workers() ?? [];
    const restarting = workers.filter((w) => w.state === 'starting' || w.state === 'stopped').length;
    const running = workers.find((w) => w.engine)?.engine;
    const implFallback = running?.fallbackReason ?? this.impl.fallback;
    const fallbackReason = this.models.flatMap((m) => m.fallbackReason ?? []).join('; ');
    return {
      state: failure ? 'failed' : this.loaded ? 'ready' : 'loading',
      impl: running?.impl ?? this.impl.impl,
      version: running?.version ?? '',
      backend: running?.backend ?? 'cpu',
      ...(running?.device ? { device: running.device } : {}),
      ...(implFallback ? { implFallback } : {}),
      restarting,
      model: this.modelName,
      models: this.models.map((m) => m.name),
      synthetic: this.models.some((m) => m.synthetic),
      ...(fallbackReason ? { fallbackReason } : {}),
      ...(failure ? { failure } : {}),
      workers: this.options.workers,
      slotsPerWorker: this.options.slotsPerWorker,
      threadsPerJob: this.options.threadsPerJob,
      threadsPerWorker: this.options.threadsPerJob * this.options.slotsPerWorker,
    };
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private async start(): Promise<EnginePool> {
    const { log } = this.options;
    try {
      const cache = join(this.options.dataDir, 'models');
      const specs = this.options.specs.length ? this.options.specs : [undefined];
      const models: RunningModel[] = [];
      for (const spec of specs) models.push({ ...(await resolveModel(spec, cache, log)), spec });
      this.models = models;
      const { workers, slotsPerWorker, threadsPerJob } = this.options;
      this.pool = new EnginePool({ modelPaths: [...new Set(models.map((m) => m.path))], size: workers, slotsPerWorker, threadsPerJob, impl: this.impl.impl, ...(this.options.wordTiming ? { wordTiming: this.options.wordTiming } : {}), ...(this.options.voiceModel ? { voiceModel: this.options.voiceModel } : {}), log });
      await this.pool.ready();
      this.loaded = true;
      const info = this.pool.workers()[0]?.engine;
      if (info?.fallbackReason) log('error', `${info.fallbackReason}: the engine runs on @napi-rs/whisper (CPU only, no abort inside a run, no words)`);
      log('info', 'engine ready', { models: this.modelNames, ...info, workers, slotsPerWorker, threadsPerJob });
      return this.pool;
    } catch (error) {
      this.failure = (error as Error).message;
      log('error', 'engine failed to start', { error: this.failure });
      throw error;
    }
  }
}

/** HUB_ENGINE: auto takes the addon when it is built; asked for by name and missing, the workers fall back (loudly). */
export function chooseImpl(wanted: 'auto' | 'whisper.cpp' | 'napi-rs'): { impl: EngineInfo['impl']; fallback?: string } {
  if (wanted === 'napi-rs') return { impl: 'napi-rs' };
  const found = findAddon();
  if ('path' in found) return { impl: 'whisper.cpp' };
  return wanted === 'whisper.cpp' ? { impl: 'whisper.cpp', fallback: found.missing } : { impl: 'napi-rs', fallback: found.missing };
}
