// An engine node as a process (HUB_ROLE=engine): the engine workers of this
// machine, serving the jobs hubs put on the bus; no tasks, no sockets. It
// answers /healthz, /readyz and /metrics on HUB_PORT like a hub, so every
// node is probed the same way.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubConfig } from './config.ts';
import { createLogger, logFn } from './log.ts';
import { loadUws } from './uws.ts';
import { httpRoutes } from './guard.ts';
import { Reply } from './http/reply.ts';
import { EngineService } from '../native/engine/engine-service.ts';
import { EngineNode } from '../native/engine/bus/engine-node.ts';
import { workerInfos } from '../actors/inspector.ts';
import { ClusterAdmin } from './cluster-admin.ts';

export interface EngineRole {
  url: string;
  node: EngineNode;
  engine: EngineService;
  close(): Promise<void>;
}

export async function startEngineRole(config: HubConfig): Promise<EngineRole> {
  const logger = createLogger(config.logLevel).child({ role: 'engine', node: config.nodeId });
  const log = logFn(logger);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: config.natsUrl!.split(','), name: config.nodeId, maxReconnectAttempts: -1 });
  } catch (error) {
    throw new Error(`cannot reach the NATS server at ${config.natsUrl}: ${(error as Error).message}`, { cause: error });
  }
  const engine = new EngineService({ specs: config.models, dataDir: config.dataDir, workers: config.workers, slotsPerWorker: config.engineSlots, threadsPerJob: config.threadsPerJob, engine: config.engine, wordTiming: config.wordTiming, voiceModel: config.voiceModel, log });
  engine.ready().catch(() => {}); // (status() says why)
  const node = await EngineNode.start({ nc, engine, nodeId: config.nodeId, log });
  // Its workers and state in the admin view of every hub (while an admin watches).
  const memoryMb = () => Math.round(process.memoryUsage().rss / 104857.6) / 10;
  const admin = new ClusterAdmin(
    nc,
    { node: config.nodeId, role: 'engine' },
    () => ({ actors: engine.workerPool ? workerInfos(engine.workerPool) : [], stats: { engine: engine.status(), jobsRunning: node.busy, memory: { rssMb: memoryMb() }, uptimeSec: Math.round(process.uptime()) } }),
    () => false,
    undefined,
    log,
  );

  const registry = new Registry();
  registry.setDefaultLabels({ node: config.nodeId, role: 'engine' });
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: 'hub_engine_node_jobs_running', help: 'jobs this engine node runs now', registers: [registry], collect() { this.set(node.busy); } });
  new Gauge({ name: 'hub_engine_node_slots', help: 'jobs this engine node runs at once', registers: [registry], collect() { this.set(engine.slots); } });

  const uWS = loadUws();
  const app = uWS.App();
  const routes = httpRoutes(app, logger);
  routes.get('/healthz', (res) => new Reply(res).json(200, { ok: true, role: 'engine', node: config.nodeId, uptimeSec: Math.round(process.uptime()) }));
  routes.get('/readyz', (res) => {
    const status = engine.status();
    const bus = !nc.isClosed();
    const reasons = [...(status.state !== 'ready' ? [`engine ${status.state}${status.failure ? `: ${status.failure}` : ''}`] : []), ...(bus ? [] : ['the bus connection is closed'])];
    new Reply(res).json(reasons.length ? 503 : 200, { ready: reasons.length === 0, reasons, role: 'engine', node: config.nodeId, engine: status, bus: { url: config.natsUrl, connected: bus }, jobsRunning: node.busy });
  });
  routes.get('/metrics', (res) => {
    const reply = new Reply(res, (error) => logger.error({ err: error }, 'metrics failed'));
    registry
      .metrics()
      .then((text) => reply.send(200, text, [['Content-Type', registry.contentType]]))
      .catch((error: unknown) => reply.error(error));
  });
  const listenSocket = await new Promise<unknown>((resolve, reject) => app.listen(config.host, config.port, (socket) => (socket ? resolve(socket) : reject(new Error(`cannot listen on ${config.host}:${config.port}`)))));
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${uWS.us_socket_local_port(listenSocket as never)}`;
  logger.info({ url, nats: config.natsUrl, slots: engine.slots }, `engine node ${config.nodeId} serving the bus; health on ${url}`);

  return {
    url,
    node,
    engine,
    async close() {
      uWS.us_listen_socket_close(listenSocket as never);
      admin.close();
      await node.close(); // running jobs go back on the queue for another node
      await engine.close();
      await nc.drain().catch(() => {});
      logger.info('engine node stopped');
    },
  };
}
