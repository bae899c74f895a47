// The `stats` frame admins get every second: the engine workers, the queue,
// persistence, the event loop, memory and sockets, read from the parts at that
// moment (nothing is counted on the hot paths for it).
import type { HubContext } from './context.ts';
import type { StatsFrame } from '../client/protocol/admin.ts';
import type { LoopMonitor } from './loop-monitor.ts';
import type { WebSocket } from './uws.ts';
import type { SocketState } from './ws/backpressure.ts';

export function collectStats(ctx: HubContext, loop: LoopMonitor, sockets: Set<WebSocket<SocketState>>): StatsFrame {
  const pool = ctx.engine.workerPool;
  const workers = pool?.workers() ?? [];
  const queue = ctx.scheduler.stats();
  const persistence = ctx.persistence.stats();
  const byRoute: Record<string, number> = { ws: 0, stream: 0, admin: 0 };
  for (const ws of sockets) {
    const route = (ws.getUserData() as { route?: string }).route;
    if (route) byRoute[route] = (byRoute[route] ?? 0) + 1;
  }
  const memory = process.memoryUsage();
  const mb = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  return {
    type: 'stats',
    at: new Date().toISOString(),
    uptimeSec: Math.round(process.uptime()),
    engine: { ...ctx.engine.status() },
    vad: { impl: ctx.vad.impl, ...ctx.vad.worker() },
    workers: {
      size: workers.length,
      busy: workers.filter((w) => w.state === 'busy').length,
      slots: workers.reduce((n, w) => n + w.slots, 0),
      running: workers.reduce((n, w) => n + w.jobs.length, 0),
      restarts: workers.reduce((n, w) => n + w.restarts, 0),
      list: workers.map((w) => ({
        slot: w.slot,
        pid: w.pid,
        state: w.state,
        uptimeSec: w.startedAt ? Math.round((Date.now() - w.startedAt) / 1000) : 0,
        restarts: w.restarts,
        slots: w.slots,
        job: w.jobs[0]?.tag ?? null,
        jobs: w.jobs.map((j) => j.tag ?? null),
        ...(w.engine ? { impl: w.engine.impl, backend: w.engine.backend } : {}),
        ...(w.deviceMemoryUsedBytes !== undefined ? { deviceMemoryMb: Math.round(w.deviceMemoryUsedBytes / 1048576) } : {}),
      })),
    },
    queue: { capacity: queue.capacity, inUse: queue.inUse, live: queue.queued.live, batch: queue.queued.batch, byUser: queue.queuedByUser },
    persistence: { ...persistence, store: ctx.persistence.store.kind },
    eventLoop: loop.last,
    memory: { rssMb: mb(memory.rss), heapUsedMb: mb(memory.heapUsed), heapTotalMb: mb(memory.heapTotal), externalMb: mb(memory.external) },
    sockets: { ...byRoute, total: sockets.size },
    tasks: { live: ctx.registry.activeCount() - ctx.registry.streamCount(), streams: ctx.registry.streamCount() },
  };
}

/** Publishes a `stats` frame every second while an admin watches; returns the stop. */
export function startStatsFeed(publish: (frame: StatsFrame) => void, watched: () => boolean, collect: () => StatsFrame): () => void {
  const timer = setInterval(() => watched() && publish(collect()), 1000);
  timer.unref();
  return () => clearInterval(timer);
}
