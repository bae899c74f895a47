// Composition: builds the hub's parts from a validated config, wires them,
// listens, and knows how to take it all down again. main.ts runs it as a
// process; tests and benchmarks run it in-process (with their own store).
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { HubConfig } from './config.ts';
import { createLogger, logFn } from './log.ts';
import { loadUws, type WebSocket, type us_listen_socket } from './uws.ts';
import { Authenticator } from './auth.ts';
import { Spool } from './spool.ts';
import { AudioRetention } from '../actors/retention.ts';
import { HubMetrics } from './metrics.ts';
import type { HubContext } from './context.ts';
import { registerTaskRoutes } from './http/task-routes.ts';
import { registerOpsRoutes } from './http/ops-routes.ts';
import { registerUploadRoutes } from './http/upload-routes.ts';
import { loadWebClient, registerStaticRoutes } from './http/static-routes.ts';
import { registerTaskSocket, TopicPublisher } from './ws/task-socket.ts';
import { registerStreamSocket } from './ws/stream-socket.ts';
import { registerAdminSocket, adminPublisher, adminWatched } from './ws/admin-socket.ts';
import { LoopMonitor } from './loop-monitor.ts';
import { httpRoutes } from './guard.ts';
import { collectStats } from './stats.ts';
import { Inspector } from '../actors/inspector.ts';
import type { SocketState } from './ws/backpressure.ts';
import { LiveLoad } from '../actors/live-load.ts';
import { CLOSE } from './ws/upgrade.ts';
import { sweep, cutOffCount } from './ws/backpressure.ts';
import { EmbeddedStore } from '../actors/stores/embedded-store.ts';
import { MongoStore } from '../actors/stores/mongo-store.ts';
import type { TaskStore } from '../actors/stores/task-store.ts';
import { Persistence, DEFAULT_PERSISTENCE, type PersistenceOptions } from '../actors/persistence.ts';
import { openStore, resumeLeftovers } from '../actors/boot.ts';
import { Scheduler } from '../actors/scheduler.ts';
import { TaskRegistry } from '../actors/task-registry.ts';
import { TaskReader } from '../actors/task-reader.ts';
import { AudioPreparer } from '../native/audio/audio-preparer.ts';
import { findFfmpeg, type FfmpegInfo } from '../native/audio/ffmpeg.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import { EngineService } from '../native/engine/engine-service.ts';
import { SileroService } from '../native/audio/silero-vad.ts';
import { DEFAULT_MODEL } from '../native/models/catalog.ts';
import { isFinished } from '../client/protocol/types.ts';

/** How long start-up waits for the store before serving without it. */
const STORE_WAIT_AT_START_MS = 10_000;

export interface HubOverrides {
  store?: TaskStore;
  logger?: Logger;
  persistence?: Partial<PersistenceOptions>;
  /** null: behave as on a machine without ffmpeg */
  ffmpeg?: FfmpegInfo | null;
}

export interface Hub {
  url: string;
  port: number;
  context: HubContext;
  close(options?: { chunkGraceMs?: number; flushMs?: number }): Promise<void>;
}

export async function startHub(config: HubConfig, overrides: HubOverrides = {}): Promise<Hub> {
  const uWS = loadUws();
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const log = logFn(logger);
  const spoolDir = join(config.dataDir, 'spool');
  await mkdir(spoolDir, { recursive: true });
  const spool = new Spool(spoolDir, config.spoolMaxBytes, log);
  await spool.start();

  const app = uWS.App();
  const loop = new LoopMonitor();
  const sockets = new Set<WebSocket<SocketState>>();
  // The admin view and the metrics come first: the parts report to them as they are built.
  const inspector = new Inspector(adminPublisher(app));
  const metrics = new HubMetrics();

  const onCorrupt = (message: string) => log('error', message);
  const store =
    overrides.store ?? (config.mongodbUri ? new MongoStore(config.mongodbUri, onCorrupt) : new EmbeddedStore(join(config.dataDir, 'hub.sqlite'), onCorrupt));
  const persistence: Persistence = new Persistence(
    store,
    { ...DEFAULT_PERSISTENCE, ...overrides.persistence },
    (what, error) => log('error', 'the store refused a write for good; it is set aside', { what, error: String(error) }),
    { inspect: inspector.inspect, onWrite: (ms) => metrics.storeWriteSeconds.observe(ms / 1000) },
  );
  const engine = new EngineService({ spec: config.model, dataDir: config.dataDir, workers: config.workers, threadsPerWorker: config.threadsPerWorker, log });
  const scheduler = new Scheduler(config.workers, () => inspector.touch('scheduler'));
  const ffmpeg = overrides.ffmpeg === undefined ? await findFfmpeg() : (overrides.ffmpeg ?? undefined);
  if (ffmpeg) log('info', 'ffmpeg found', { version: ffmpeg.version });
  else log('warn', 'ffmpeg not found: Opus (webm/ogg) streams are refused, and uploads decode in-process (wav, flac, mp3, ogg/vorbis, m4a up to 16 MB); install ffmpeg');
  // Decoding is handed out like engine slots: fair between users, a bounded number at once.
  const decodeSlots = new Scheduler(Math.max(1, config.workers));
  const preparer = new AudioPreparer({ maxSamples: Math.round(config.maxAudioHours * 3600 * SAMPLE_RATE), ffmpeg }, Math.max(1, config.workers), (path, attempt, error) =>
    log('error', 'the audio worker crashed while decoding', { upload: basename(path), attempt, error: String(error) }),
  );
  // Silero VAD finds utterances in live streams; without it (HUB_VAD=energy,
  // or it cannot load) the energy detector does, which fails in noise: said loudly.
  let vadFailure: string | undefined;
  const silero =
    config.vad === 'silero'
      ? await SileroService.start().catch((error: unknown) => {
          vadFailure = error instanceof Error ? error.message : String(error);
          log('error', 'Silero VAD could not start: live streams fall back to the energy detector, which misses speech in noise', { error: vadFailure });
          return undefined;
        })
      : undefined;
  const liveLoad = new LiveLoad(config.workers);
  const batchEngine = metrics.measured(engine, 'batch');
  const liveEngine = metrics.measured(engine, 'live');
  const registry: TaskRegistry = new TaskRegistry(
    {
      prepareAudio: (input, pcm, signal) => preparer.prepare(input, pcm, signal),
      decodeSlots,
      scheduler,
      engine: batchEngine,
      stream: {
        scheduler,
        engine: liveEngine,
        graceMs: config.streamGraceMs,
        detector: silero
          ? (startAt, taskId) =>
              silero.detector(startAt, {}, (error) => log('warn', 'the VAD worker failed: this session goes on with the energy detector', { taskId, error: String(error) }))
          : undefined,
        onPass: (sessionId, pass) => {
          liveLoad.record(sessionId, pass.engineMs);
          metrics.livePassWait.observe(pass.waitMs / 1000);
          metrics.livePassOverhead.observe(pass.overheadMs / 1000);
        },
        onEnd: (sessionId) => liveLoad.end(sessionId),
      },
      onChunkPreempted: () => metrics.chunksPreempted.inc(),
      onChunkRetry: (taskId, index, attempt, error) => {
        metrics.chunkRetries.inc();
        log('warn', 'retrying chunk on a fresh engine worker', { taskId, chunk: index, attempt, error: String(error) });
      },
    },
    persistence,
    { files: spool, model: () => engine.modelName ?? config.model ?? DEFAULT_MODEL, maxActivePerUser: 1000, historyLength: 1000, recentLength: 1000 },
    log,
    { inspect: inspector.inspect, started: (id) => inspector.started(id), stopped: (id) => inspector.stopped(id) },
  );
  // Wiring: the inspector and the gauges read the parts, now that they exist.
  inspector.attach({ registry, persistence, scheduler, pool: () => engine.workerPool });
  metrics.readFrom({
    tasksByStatus: () => countBy(registry.actors().map((a) => a.getSnapshot().context.task.status)),
    socketsByRoute: () => ({ ws: 0, stream: 0, admin: 0, ...countBy([...sockets].map((ws) => (ws.getUserData() as { route?: string }).route ?? 'other')) }),
    persistenceBacklog: () => persistence.stats().backlog,
    queued: () => scheduler.stats().queued,
    busyWorkers: () => engine.workerPool?.busy ?? 0,
    loopLag: () => loop.last,
    cutOffs: cutOffCount,
  });
  void engine.ready().then((pool) => pool.on('change', () => pool.workers().forEach((w) => inspector.touch(`worker-${w.slot}`)))).catch(() => {});

  let shuttingDown = false;
  const context: HubContext = {
    config, log: logger, auth: new Authenticator(config.tokens), registry, tasks: new TaskReader(registry, store), persistence, scheduler, engine, metrics, spoolDir, spool, ffmpeg,
    vad: { impl: silero ? 'silero' : 'energy', ...(vadFailure ? { failure: vadFailure } : {}), worker: () => silero?.stats() },
    shuttingDown: () => shuttingDown,
  };

  const routes = httpRoutes(app, logger);
  registerTaskRoutes(routes, context);
  registerOpsRoutes(routes, context);
  registerUploadRoutes(routes, context);
  registerTaskSocket(app, context, sockets);
  registerStreamSocket(app, context, sockets, liveLoad);
  registerAdminSocket(app, context, sockets, inspector);
  registerStaticRoutes(routes, await loadWebClient());
  registry.attach(new TopicPublisher(app, () => metrics.framesPublished.inc()));
  registry.attach({
    publish: (_id, frame) => {
      if (frame.type === 'status' && isFinished(frame.status)) metrics.tasksFinished.inc({ status: frame.status });
      if (frame.type === 'lag') metrics.streamLag.observe(frame.seconds);
    },
  });
  // The store may be down at start (a database still booting): the hub serves
  // anyway, /readyz says why it is not ready, and the leftovers of the previous
  // run resume once the store answers.
  const startedAt = Date.now();
  const storeReady = openStore(store, log, () => shuttingDown).then(() => resumeLeftovers(store, registry, log));
  storeReady.catch((error: unknown) => log('error', 'could not open the store or resume the previous run', { error: String(error) }));
  // Housekeeping after the resume, in the background: start-up never waits for it.
  storeReady
    .then(() =>
      spool.sweepOrphans(async (id) => {
        if (registry.isLive(id)) return 'unfinished';
        const stored = await store.get(id).catch(() => null);
        if (stored === null) return 'unfinished'; // cannot tell: keep it
        return !stored ? 'missing' : isFinished(stored.task.status) ? 'finished' : 'unfinished';
      }, startedAt),
    )
    .then((swept) => swept.length > 0 && log('info', 'removed what the previous run left in the spool', { files: swept.length }))
    .catch((error: unknown) => log('warn', 'could not sweep the spool; will try at the next start', { error: String(error) }));
  await Promise.race([storeReady.catch(() => {}), new Promise((r) => setTimeout(r, STORE_WAIT_AT_START_MS).unref())]);
  const retention = new AudioRetention(store, spool, config.retentionHours, log);
  retention.start();

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (socket) => (socket ? resolve(socket) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket as never);
  const sweeper = setInterval(() => sweep(sockets), 500);
  sweeper.unref();
  const publishAdmin = adminPublisher(app);
  const statsTimer = setInterval(() => {
    if (adminWatched(app)) publishAdmin(collectStats(context, loop, sockets));
  }, 1000);
  statsTimer.unref();
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, host: config.host, port }, `hub listening on ${url}`);
  if (context.auth.open) logger.warn('HUB_TOKENS is not set: anyone who can reach this port is the local admin user');

  return {
    url,
    port,
    context,
    /**
     * Graceful shutdown: refuse new work, tell the sockets, let the chunks
     * already on an engine finish (bounded), stop the actors, write out what
     * persistence holds. Unfinished tasks stay unfinished in the store: the
     * next run resumes them.
     */
    async close(options: { chunkGraceMs?: number; flushMs?: number } = {}) {
      if (shuttingDown) return;
      shuttingDown = true;
      const { chunkGraceMs = 8_000, flushMs = 5_000 } = options;
      uWS.us_listen_socket_close(listenSocket);
      clearInterval(sweeper);
      clearInterval(statsTimer);
      inspector.close();
      loop.stop();
      retention.stop();
      spool.stop();
      for (const ws of sockets) ws.end(CLOSE.goingAway, 'the hub is shutting down');
      scheduler.close();
      decodeSlots.close();
      const deadline = Date.now() + chunkGraceMs;
      while ((engine.workerPool?.busy ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      registry.stopAll();
      await Promise.all([engine.close(), preparer.close(), silero?.close()]);
      const drained = await persistence.drain(flushMs);
      if (!drained) logger.warn({ backlog: persistence.stats().backlog }, 'shut down before every record was written');
      persistence.stop();
      await store.close();
      logger.info('hub stopped');
    },
  };
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}
