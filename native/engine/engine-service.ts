// The engine as the rest of the hub sees it: the model being resolved (fetched
// or generated), then a pool of workers running it. Chunks that ask before the
// pool is up wait for it; status says where it stands, for /readyz and tasks.
import { join } from 'node:path';
import { EnginePool } from './engine-pool.ts';
import { EngineError, type EngineInfo, type EngineJob, type EngineResult } from './types.ts';
import { findAddon } from './whisper-cpp-addon.ts';
import { resolveModel, type ResolvedModel } from '../models/resolve.ts';
import type { LogFn } from '../log-fn.ts';

export interface EngineStatus extends Omit<EngineInfo, 'fallbackReason' | 'deviceMemoryUsedBytes'> {
  state: 'loading' | 'ready' | 'failed';
  /** why the workers do not run the whisper.cpp addon, when they do not */
  implFallback?: string;
  model: string | undefined;
  synthetic: boolean;
  fallbackReason?: string;
  failure?: string;
  /** workers being replaced right now */
  restarting: number;
  workers: number;
  threadsPerWorker: number;
}

export class EngineService {
  private model: ResolvedModel | undefined;
  private pool: EnginePool | undefined;
  private failure: string | undefined;
  private loaded = false;
  private readonly started: Promise<EnginePool>;
  /** the implementation the workers are started with, and why not the addon */
  private readonly impl: { impl: EngineInfo['impl']; fallback?: string };

  constructor(
    private readonly options: { spec: string | undefined; dataDir: string; workers: number; threadsPerWorker: number; engine?: 'auto' | 'whisper.cpp' | 'napi-rs'; log: LogFn },
  ) {
    this.impl = chooseImpl(options.engine ?? 'napi-rs');
    if (this.impl.fallback) options.log(options.engine === 'whisper.cpp' ? 'error' : 'warn', `${this.impl.fallback}: the engine runs on @napi-rs/whisper (CPU only, no abort inside a run, no words)`);
    this.started = this.start();
    this.started.catch(() => {}); // reported through status() and run()
  }

  get slots(): number {
    return this.options.workers;
  }

  /** Resolves when the model is loaded in every worker; rejects if it cannot be. */
  ready(): Promise<EnginePool> {
    return this.started;
  }

  get modelName(): string | undefined {
    return this.model?.name;
  }

  /** Whether `name` is the model this hub runs (as WHISPER_MODEL said it, or by its resolved name). */
  knowsModel(name: string): boolean {
    return name === this.options.spec || name === this.model?.name;
  }

  get workerPool(): EnginePool | undefined {
    return this.pool;
  }

  async run(job: EngineJob, signal: AbortSignal): Promise<EngineResult> {
    const pool = await this.started.catch((e: Error) => {
      throw new EngineError('engine_failed', e.message);
    });
    return pool.run(job, signal);
  }

  status(): EngineStatus {
    const failure = this.failure ?? this.pool?.failure;
    // A worker being replaced after a crash or a cancel is not "not ready": the
    // model loads fine, and chunks just wait the half second it takes.
    const workers = this.pool?.workers() ?? [];
    const restarting = workers.filter((w) => w.state === 'starting' || w.state === 'stopped').length;
    const running = workers.find((w) => w.engine)?.engine;
    const implFallback = running?.fallbackReason ?? this.impl.fallback;
    return {
      state: failure ? 'failed' : this.loaded ? 'ready' : 'loading',
      impl: running?.impl ?? this.impl.impl,
      version: running?.version ?? '',
      backend: running?.backend ?? 'cpu',
      ...(running?.device ? { device: running.device } : {}),
      ...(implFallback ? { implFallback } : {}),
      restarting,
      model: this.model?.name,
      synthetic: this.model?.synthetic ?? false,
      ...(this.model?.fallbackReason ? { fallbackReason: this.model.fallbackReason } : {}),
      ...(failure ? { failure } : {}),
      workers: this.options.workers,
      threadsPerWorker: this.options.threadsPerWorker,
    };
  }

  async close(): Promise<void> {
    await this.pool?.close();
  }

  private async start(): Promise<EnginePool> {
    const { log } = this.options;
    try {
      this.model = await resolveModel(this.options.spec, join(this.options.dataDir, 'models'), log);
      this.pool = new EnginePool({ modelPath: this.model.path, size: this.options.workers, threadsPerWorker: this.options.threadsPerWorker, impl: this.impl.impl, log });
      await this.pool.ready();
      this.loaded = true;
      const info = this.pool.workers()[0]?.engine;
      if (info?.fallbackReason) log('error', `${info.fallbackReason}: the engine runs on @napi-rs/whisper (CPU only, no abort inside a run, no words)`);
      log('info', 'engine ready', { model: this.model.name, ...info, workers: this.options.workers, threadsPerWorker: this.options.threadsPerWorker });
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
