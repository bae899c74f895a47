// Composition, in explicit steps: build the parts (hub-parts.ts), wire them to
// the routes and sockets, start the background work, listen — and close, the
// same steps undone. main.ts runs it as a process; tests and benchmarks run it
// in-process (with their own store).
import type { Logger } from 'pino';
import type { HubConfig } from './config.ts';
import { loadUws, type TemplatedApp, type WebSocket, type us_listen_socket } from './uws.ts';
import { Authenticator } from './auth.ts';
import type { HubContext } from './context.ts';
import { buildParts, type HubParts } from './hub-parts.ts';
import { HubMetrics } from './metrics.ts';
import { registerTaskRoutes } from './http/task-routes.ts';
import { registerOpsRoutes } from './http/ops-routes.ts';
import { registerUploadRoutes } from './http/upload-routes.ts';
import { registerOpenAiRoutes } from './compat/openai-routes.ts';
import { realtimeRoute } from './compat/openai-realtime.ts';
import { listenRoute } from './compat/deepgram-listen.ts';
import { registerDeepgramRoutes } from './compat/deepgram-routes.ts';
import { loadWebClient, registerStaticRoutes } from './http/static-routes.ts';
import { httpRoutes } from './guard.ts';
import { mountSocket } from './ws/uws-socket.ts';
import { taskRoute } from './ws/task-socket.ts';
import { streamRoute } from './ws/stream-socket.ts';
import { adminRoute, answerAdmin } from './ws/admin-socket.ts';
import { ClusterAdmin } from './cluster-admin.ts';
import type { StatsFrame } from '../client/protocol/admin.ts';
import { BusFrames } from './ws/bus-frames.ts';
import { TopicPublisher } from './ws/publisher.ts';
import { topics } from './ws/socket-port.ts';
import { startSweeper, cutOffCount, type SocketState } from './ws/backpressure.ts';
import { collectStats, startStatsFeed } from './stats.ts';
import { AudioRetention } from '../actors/retention.ts';
import { LiveSessions } from '../actors/live-sessions.ts';
import { openStore, resumeLeftovers, taskStateFor } from '../actors/boot.ts';
import { TaskReader } from '../actors/task-reader.ts';
import { LeaseKeeper } from '../actors/lease-keeper.ts';
import { FrameTap } from '../actors/frame-tap.ts';
import type { TaskStore } from '../actors/stores/task-store.ts';
import type { PersistenceOptions } from '../actors/persistence.ts';
import type { FfmpegInfo } from '../native/audio/ffmpeg.ts';
import { CLOSE } from '../client/protocol/close.ts';

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
  const app = uWS.App();
  // The metrics and the publisher come first: the parts report to them as they are built.
  const metrics = new HubMetrics();
  const publisher = new TopicPublisher(app, () => metrics.framesPublished.inc());
  const parts = await buildParts(config, overrides, { metrics, adminFrames: (frame) => publisher.admin(frame) });
  let shuttingDown = false;
  const sockets = new Set<WebSocket<SocketState>>();
  const { context, cluster } = wire(app, parts, publisher, sockets, () => shuttingDown);
  registerStaticRoutes(httpRoutes(app, parts.logger), await loadWebClient());
  const stopBackground = await startBackground(parts, () => shuttingDown);
  const publishStats = (frame: StatsFrame) => {
    publisher.admin(frame);
    if (cluster) publisher.admin({ type: 'nodes', nodes: cluster.views() });
  };
  const stopFeeds = [startSweeper(sockets), startStatsFeed(publishStats, () => publisher.watched(topics.admin), () => collectStats(context, parts.loop, sockets)), () => cluster?.close()];

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (socket) => (socket ? resolve(socket) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket as never);
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  parts.logger.info({ url, host: config.host, port }, `hub listening on ${url}`);
  if (context.auth.open) parts.logger.warn('HUB_TOKENS is not set: anyone who can reach this port is the local admin user');

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
    async close(options = {}) {
      if (shuttingDown) return;
      shuttingDown = true;
      uWS.us_listen_socket_close(listenSocket);
      for (const stop of [...stopFeeds, stopBackground]) stop();
      for (const ws of sockets) ws.end(CLOSE.goingAway, 'the hub is shutting down');
      await closeParts(parts, options);
    },
  };
}

/** Step two: the routes and sockets get the parts' front doors; the parts get their ports. */
function wire(app: TemplatedApp, parts: HubParts, publisher: TopicPublisher, sockets: Set<WebSocket<SocketState>>, shuttingDown: () => boolean): { context: HubContext; cluster: ClusterAdmin | undefined } {
  const { config, logger, log, registry, persistence, scheduler, engine, metrics, inspector, silero } = parts;
  parts.inspector.attach({ registry, persistence, scheduler, pool: () => engine.workerPool });
  metrics.readFrom({
    tasksByStatus: () => countBy(registry.actors().map((a) => a.getSnapshot().context.task.status)),
    socketsByRoute: () => ({ ws: 0, stream: 0, admin: 0, ...countBy([...sockets].map((ws) => (ws.getUserData() as { route?: string }).route ?? 'other')) }),
    persistenceBacklog: () => persistence.stats().backlog,
    queued: () => scheduler.stats().queued,
    busyWorkers: () => engine.workerPool?.workers().filter((w) => w.state === 'busy').length ?? 0,
    runningJobs: () => engine.workerPool?.busy ?? 0,
    engineSlots: () => engine.slots,
    engineWorkers: () => engine.workerPool?.workers() ?? [],
    loopLag: () => parts.loop.last,
    cutOffs: cutOffCount,
  });
  void engine.ready().then((pool) => pool?.on('change', () => pool.workers().forEach((w) => inspector.touch(`worker-${w.slot}`)))).catch(() => {});
  const context: HubContext = {
    config, log: logger, auth: new Authenticator(config.tokens), registry, frames: new FrameTap(), tasks: new TaskReader(registry, parts.store), persistence, scheduler, engine, metrics,
    spool: parts.spool, ffmpeg: parts.ffmpeg, shuttingDown,
    vad: { impl: silero ? 'silero' : 'energy', ...(parts.vadFailure ? { failure: parts.vadFailure } : {}), worker: () => silero?.stats() },
  };
  const routes = httpRoutes(app, logger);
  registerTaskRoutes(routes, context);
  registerOpsRoutes(routes, context);
  registerUploadRoutes(routes, context);
  registerOpenAiRoutes(routes, context);
  registerDeepgramRoutes(routes, context);
  const sessions = new LiveSessions({
    createStream: (input) => registry.createStream(input),
    reviveStream: (id, userId, turns) => registry.reviveStream(id, userId, turns),
    framesSince: (id, since) => registry.framesSince(id, since),
    utilization: () => parts.liveLoad.utilization(),
    ffmpeg: parts.ffmpeg,
    idleMs: config.streamIdleMs,
    limits: { maxStreams: config.maxStreams, maxStreamsPerUser: config.maxStreamsPerUser },
    rule: config.endpointing,
    shuttingDown,
    log,
  });
  const socketDeps = { log: logger, auth: context.auth, sockets };
  mountSocket(app, socketDeps, taskRoute(context, { cluster: config.role === 'hub' }));
  mountSocket(app, socketDeps, streamRoute(sessions, (name) => engine.knowsModel(name)));
  // Cluster mode: the admin view of every node, and inspect/cancel forwarded to the hub that runs an actor.
  const admin = { ctx: context, inspector };
  const cluster = parts.nats
    ? new ClusterAdmin(
        parts.nats,
        { node: config.nodeId, role: 'hub' },
        () => {
          const { type: _, ...stats } = collectStats(context, parts.loop, sockets);
          return { actors: inspector.list(), stats };
        },
        () => publisher.watched(topics.admin),
        (ask) => answerAdmin(admin, ask),
        log,
      )
    : undefined;
  mountSocket(app, socketDeps, adminRoute(admin, cluster));
  const knowsModel = (name: string) => engine.knowsModel(name);
  mountSocket(app, socketDeps, realtimeRoute({ sessions, frames: context.frames, knowsModel, modelNames: () => engine.modelNames }));
  mountSocket(app, socketDeps, listenRoute({ sessions, frames: context.frames, knowsModel, model: (name) => ({ name: engine.modelNameFor(name) ?? engine.modelNames[0] ?? 'whisper', version: engine.status().version }) }));
  registry.attach(publisher);
  registry.attach(context.frames);
  // Cluster mode: frames to and from the other hubs (closed with the bus connection).
  if (parts.nats) registry.attach(new BusFrames(parts.nats, config.nodeId, publisher, log));
  return { context, cluster };
}

/**
 * Step three: the store may be down at start (a database still booting): the
 * hub serves anyway, /readyz says why it is not ready, and the leftovers of the
 * previous run resume once the store answers. Returns the stop.
 */
async function startBackground(parts: HubParts, shuttingDown: () => boolean): Promise<() => void> {
  const { store, registry, spool, log } = parts;
  const startedAt = Date.now();
  const storeReady = openStore(store, log, shuttingDown).then(() => resumeLeftovers(store, registry, log));
  storeReady.catch((error: unknown) => log('error', 'could not open the store or resume the previous run', { error: String(error) }));
  // Housekeeping after the resume, in the background: start-up never waits for it.
  storeReady
    .then(() => spool.sweepOrphans(taskStateFor(store, registry), startedAt))
    .then((swept) => swept.length > 0 && log('info', 'removed what the previous run left in the spool', { files: swept.length }))
    .catch((error: unknown) => log('warn', 'could not sweep the spool; will try at the next start', { error: String(error) }));
  await Promise.race([storeReady.catch(() => {}), new Promise((r) => setTimeout(r, STORE_WAIT_AT_START_MS).unref())]);
  const retention = new AudioRetention(store, spool, parts.config.retentionHours, log);
  retention.start();
  // Cluster mode: this hub's leases renewed, the tasks of hubs that stopped renewing theirs taken over.
  const leases = store.leases ? new LeaseKeeper(store, store.leases, registry, parts.config.leaseTtlMs, log) : undefined;
  void storeReady.then(() => !shuttingDown() && leases?.start(), () => {});
  return () => {
    retention.stop();
    leases?.stop();
  };
}

/** The last step undone: stop taking work, let running chunks finish (bounded), stop the actors, flush, close. */
async function closeParts(parts: HubParts, options: { chunkGraceMs?: number; flushMs?: number }): Promise<void> {
  const { chunkGraceMs = 8_000, flushMs = 5_000 } = options;
  const { engine, persistence, logger } = parts;
  parts.inspector.close();
  parts.loop.stop();
  parts.spool.stop();
  parts.scheduler.close();
  parts.decodeSlots.close();
  const deadline = Date.now() + chunkGraceMs;
  while ((engine.workerPool?.busy ?? 0) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  parts.registry.stopAll();
  await Promise.all([engine.close(), parts.preparer.close(), parts.silero?.close()]);
  await parts.nats?.drain().catch(() => {});
  const drained = await persistence.drain(flushMs);
  if (!drained) logger.warn({ backlog: persistence.stats().backlog }, 'shut down before every record was written');
  persistence.stop();
  // Cluster mode: the other hubs take this one's unfinished tasks at their next round, not after the leases expire.
  await parts.store.leases?.release().catch((error: unknown) => logger.warn({ err: error }, 'could not release the task leases: they expire instead'));
  await parts.store.close();
  logger.info('hub stopped');
}

function countBy(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const k of keys) counts[k] = (counts[k] ?? 0) + 1;
  return counts;
}
