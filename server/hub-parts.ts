// Step one of the composition: builds the hub's parts from a validated config
// and nothing else — no listening, no routes. The admin view comes first, since
// the other parts report to it as they are built. The parts are wired to the
// sockets and routes in hub.ts.
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from './config.ts';
import type { HubOverrides } from './hub.ts';
import { createLogger, logFn } from './log.ts';
import { Spool } from './spool.ts';
import type { HubMetrics } from './metrics.ts';
import { LoopMonitor } from './loop-monitor.ts';
import { Inspector } from '../actors/inspector.ts';
import { LiveLoad } from '../actors/live-load.ts';
import { EmbeddedStore } from '../actors/stores/embedded-store.ts';
import { MongoStore } from '../actors/stores/mongo-store.ts';
import type { TaskStore } from '../actors/stores/task-store.ts';
import { Persistence, DEFAULT_PERSISTENCE } from '../actors/persistence.ts';
import { Scheduler } from '../actors/scheduler.ts';
import { TaskRegistry, type FramePort } from '../actors/task-registry.ts';
import type { StreamServices } from '../actors/stream-machine.ts';
import { AudioPreparer } from '../native/audio/audio-preparer.ts';
import { findFfmpeg, type FfmpegInfo } from '../native/audio/ffmpeg.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import { EngineService, type HubEngine } from '../native/engine/engine-service.ts';
import { SharedUploads } from './shared-uploads.ts';
import type { DiarizeJob } from '../native/diarize/speaker-embedder.ts';
import { ClusterEngine } from '../native/engine/bus/cluster-engine.ts';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SileroService, type SileroOptions } from '../native/audio/silero-vad.ts';
import { vadEndSilenceMs, type TurnOptions } from '../actors/live-transcriber.ts';
import { DEFAULT_MODEL } from '../native/models/catalog.ts';
import type { LogFn } from '../native/log-fn.ts';
import { isFinished } from '../client/protocol/types.ts';

export interface HubParts {
  config: HubConfig;
  logger: Logger;
  log: LogFn;
  spool: Spool;
  loop: LoopMonitor;
  inspector: Inspector;
  metrics: HubMetrics;
  store: TaskStore;
  persistence: Persistence;
  engine: HubEngine;
  /** the bus (cluster mode) */
  nats: NatsConnection | undefined;
  scheduler: Scheduler;
  decodeSlots: Scheduler;
  preparer: AudioPreparer;
  ffmpeg: FfmpegInfo | undefined;
  silero: SileroService | undefined;
  vadFailure: string | undefined;
  liveLoad: LiveLoad;
  registry: TaskRegistry;
}

/** What the parts report to, made before them: the metrics, and where the inspector's frames go (the admin topic). */
export interface Observers {
  metrics: HubMetrics;
  adminFrames: ConstructorParameters<typeof Inspector>[0];
}

export async function buildParts(config: HubConfig, overrides: HubOverrides, { metrics, adminFrames }: Observers): Promise<HubParts> {
  const base = overrides.logger ?? createLogger(config.logLevel);
  // (in cluster mode every line says which node wrote it)
  const logger = config.role === 'all' ? base : base.child({ role: config.role, node: config.nodeId });
  const log = logFn(logger);
  const spoolDir = join(config.dataDir, 'spool');
  await mkdir(spoolDir, { recursive: true });
  const spool = new Spool(spoolDir, config.spoolMaxBytes, log);
  await spool.start();
  const inspector = new Inspector(adminFrames);

  const onCorrupt = (message: string) => log('error', message);
  const store =
    overrides.store ??
    (config.mongodbUri
      ? new MongoStore(config.mongodbUri, onCorrupt, config.role === 'hub' ? { lease: { owner: config.nodeId, ttlMs: config.leaseTtlMs } } : {}) // several hubs: one owner per task
      : new EmbeddedStore(join(config.dataDir, 'hub.sqlite'), onCorrupt));
  const persistence = new Persistence(
    store,
    { ...DEFAULT_PERSISTENCE, ...overrides.persistence },
    (what, error) => log('error', 'the store refused a write for good; it is set aside', { what, error: String(error) }),
    { inspect: inspector.inspect, onWrite: (ms) => metrics.storeWriteSeconds.observe(ms / 1000) },
  );
  // The scheduler hands out every slot of every worker (in cluster mode: of every engine node, as they come and go).
  const { engine, nats } = await buildEngine(config, log, (slots) => {
    scheduler.setCapacity(slots);
    inspector.touch('scheduler');
  });
  if (nats) spool.shareThrough(await SharedUploads.open(nats));
  const scheduler = new Scheduler(engine.slots, () => inspector.touch('scheduler'));
  const ffmpeg = overrides.ffmpeg === undefined ? await findFfmpeg() : (overrides.ffmpeg ?? undefined);
  if (ffmpeg) log('info', 'ffmpeg found', { version: ffmpeg.version });
  else log('warn', 'ffmpeg not found: Opus (webm/ogg) streams are refused, and uploads decode in-process (wav, flac, mp3, ogg/vorbis, m4a up to 16 MB); install ffmpeg');
  // Decoding is handed out like engine slots: fair between users, a bounded number at once.
  const decodeSlots = new Scheduler(Math.max(1, config.workers));
  const preparer = new AudioPreparer({ maxSamples: Math.round(config.maxAudioHours * 3600 * SAMPLE_RATE), ffmpeg }, Math.max(1, config.workers), (path, attempt, error) =>
    log('error', 'the audio worker crashed while decoding', { upload: basename(path), attempt, error: String(error) }),
  );
  const { silero, failure: vadFailure } = await startVad(config, log);
  const liveLoad = new LiveLoad(() => engine.slots);
  const parts = { config, logger, log, spool, loop: new LoopMonitor(), inspector, metrics, store, persistence, engine, nats, scheduler, decodeSlots, preparer, ffmpeg, silero, vadFailure, liveLoad };
  const registry = buildRegistry(parts);
  registry.attach(metricsPort(metrics));
  return { ...parts, registry };
}

/** This process's engine workers, or (HUB_ROLE=hub) the engine nodes on the bus. */
async function buildEngine(config: HubConfig, log: LogFn, onSlots: (slots: number) => void): Promise<{ engine: HubEngine; nats: NatsConnection | undefined }> {
  if (config.role !== 'hub') {
    const engine = new EngineService({ specs: config.models, dataDir: config.dataDir, workers: config.workers, slotsPerWorker: config.engineSlots, threadsPerJob: config.threadsPerJob, engine: config.engine, wordTiming: config.wordTiming, voiceModel: config.voiceModel, log });
    return { engine, nats: undefined };
  }
  let nats: NatsConnection;
  try {
    nats = await connect({ servers: config.natsUrl!.split(','), name: config.nodeId, maxReconnectAttempts: -1 });
  } catch (error) {
    throw new Error(`cannot reach the NATS server at ${config.natsUrl}: ${(error as Error).message}`, { cause: error });
  }
  log('info', 'cluster mode: tasks are leased to one hub at a time; uploads are shared through the NATS object store (docs/scaling.md)', { leaseTtlSec: config.leaseTtlMs / 1000 });
  return { engine: new ClusterEngine(nats, log, onSlots), nats };
}

/**
 * Silero VAD finds utterances in live streams; without it (HUB_VAD=energy,
 * or it cannot load) the energy detector does, which fails in noise: said loudly.
 */
async function startVad(config: HubConfig, log: LogFn): Promise<{ silero?: SileroService; failure?: string }> {
  if (config.vad !== 'silero') return {};
  try {
    return { silero: await SileroService.start() };
  } catch (error) {
    const failure = error instanceof Error ? error.message : String(error);
    log('error', 'Silero VAD could not start: live streams fall back to the energy detector, which misses speech in noise', { error: failure });
    return { failure };
  }
}

/** A session's turn options as Silero's: the end silence its rule wants, and a threshold with Silero's usual 0.15 of hysteresis below it. */
function sileroOptions(turns: TurnOptions): Partial<SileroOptions> {
  return {
    endSilenceMs: vadEndSilenceMs(turns),
    ...(turns.threshold !== undefined ? { threshold: turns.threshold, negThreshold: Math.max(0.01, turns.threshold - 0.15) } : {}),
  };
}

function buildRegistry(p: Omit<HubParts, 'registry'>): TaskRegistry {
  const { config, log, metrics, scheduler, engine, silero, liveLoad, inspector } = p;
  const stream: StreamServices = {
    scheduler,
    engine: metrics.measured(engine, 'live'),
    graceMs: config.streamGraceMs,
    detector: silero
      ? (startAt, taskId, turns) =>
          silero.detector(startAt, sileroOptions(turns), (error) => log('warn', 'the VAD worker failed: this session goes on with the energy detector', { taskId, error: String(error) }))
      : undefined,
    onPass: (sessionId, pass) => {
      liveLoad.record(sessionId, pass.engineMs);
      metrics.livePassWait.observe(pass.waitMs / 1000);
      metrics.livePassOverhead.observe(pass.overheadMs / 1000);
    },
    onEnd: (sessionId) => liveLoad.end(sessionId),
    ...(engine.embedSpeech
      ? {
          // A live final's speaker: a short job on a live slot (live work goes before batch).
          embedSpeech: async (samples: Float32Array, signal: AbortSignal, task: { id: string; userId: string }) => {
            const lease = await scheduler.acquire({ userId: task.userId, taskId: task.id, priority: 'live' }, signal);
            const started = performance.now();
            try {
              return await engine.embedSpeech!(samples, signal, { taskId: task.id });
            } finally {
              lease.release();
              metrics.diarizeSeconds.observe({ stage: 'live' }, (performance.now() - started) / 1000);
            }
          },
        }
      : {}),
  };
  return new TaskRegistry(
    {
      prepareAudio: (input, pcm, signal) => p.preparer.prepare(input, pcm, signal),
      decodeSlots: p.decodeSlots,
      scheduler,
      engine: metrics.measured(engine, 'batch'),
      stream,
      ...(engine.diarize
        ? {
            diarize: async (job: DiarizeJob, signal: AbortSignal) => {
              const result = await engine.diarize!(job, signal);
              metrics.diarizeSeconds.observe({ stage: 'embed' }, result.embedMs / 1000);
              metrics.diarizeSeconds.observe({ stage: 'cluster' }, result.clusterMs / 1000);
              log('info', 'speakers told apart', { taskId: job.tag?.taskId, windows: job.windows.length, speakers: new Set(result.labels).size, speechSec: Math.round(result.audioSec), embedMs: Math.round(result.embedMs), clusterMs: Math.round(result.clusterMs) });
              return result;
            },
          }
        : {}),
      onChunkPreempted: () => metrics.chunksPreempted.inc(),
      onChunkRetry: (taskId, index, attempt, error) => {
        metrics.chunkRetries.inc();
        log('warn', 'retrying chunk on a fresh engine worker', { taskId, chunk: index, attempt, error: String(error) });
      },
    },
    p.persistence,
    { files: p.spool, model: (wanted) => engine.modelNameFor(wanted) ?? config.models[0] ?? DEFAULT_MODEL, maxActivePerUser: 1000, historyLength: 1000, recentLength: 1000 },
    log,
    { inspect: inspector.inspect, started: (id) => inspector.started(id), stopped: (id) => inspector.stopped(id) },
  );
}

/** Task outcomes and stream lag, counted as their frames go by. */
function metricsPort(metrics: HubMetrics): FramePort {
  return {
    publish: (_id, frame) => {
      if (frame.type === 'status' && isFinished(frame.status)) metrics.tasksFinished.inc({ status: frame.status });
      if (frame.type === 'lag') metrics.streamLag.observe(frame.seconds);
    },
  };
}
