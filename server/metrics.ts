// Prometheus metrics (prom-client). Counters are bumped where things happen;
// gauges that mirror actor state are read at scrape time, so the hot paths
// never pay for them.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Engine } from '../actors/chunk-runner.ts';

/** What the gauges read at scrape time. */
export interface MetricSources {
  tasksByStatus: () => Record<string, number>;
  socketsByRoute: () => Record<string, number>;
  persistenceBacklog: () => number;
  queued: () => Record<string, number>;
  busyWorkers: () => number;
  /** engine jobs running now, and how many can run at once (every slot of every worker) */
  runningJobs: () => number;
  engineSlots: () => number;
  /** each engine worker's implementation and backend, and the GPU memory in use where it runs on one */
  engineWorkers: () => { slot: number; engine?: { impl: string; backend: string }; deviceMemoryUsedBytes?: number }[];
  loopLag: () => { p50Ms: number; p99Ms: number };
  cutOffs: () => number;
}

export class HubMetrics {
  readonly registry = new Registry();
  readonly framesPublished = new Counter({ name: 'hub_frames_published_total', help: 'Task frames published to socket topics', registers: [this.registry] });
  readonly uploads = new Counter({ name: 'hub_uploads_total', help: 'Uploads by outcome', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly tasksFinished = new Counter({ name: 'hub_tasks_finished_total', help: 'Tasks that reached a final status', labelNames: ['status'] as const, registers: [this.registry] });
  readonly chunkRetries = new Counter({ name: 'hub_chunk_retries_total', help: 'Chunks retried after their engine worker died', registers: [this.registry] });
  readonly chunksPreempted = new Counter({ name: 'hub_chunks_preempted_total', help: 'Batch chunks stopped and queued again to make room for live work', registers: [this.registry] });
  readonly chunksTranscribed = new Counter({ name: 'hub_chunks_transcribed_total', help: 'Chunks the engine transcribed', registers: [this.registry] });
  readonly chunkSeconds = new Histogram({
    name: 'hub_chunk_duration_seconds', help: 'Engine time per pass (batch: a file chunk; live: a stream pass)', labelNames: ['kind'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32], registers: [this.registry],
  });
  readonly realTimeFactor = new Histogram({
    name: 'hub_engine_real_time_factor', help: 'Seconds of audio per second of engine time, per pass', labelNames: ['kind'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200], registers: [this.registry],
  });

  readonly diarizeSeconds = new Histogram({
    name: 'hub_diarize_duration_seconds', help: 'Diarization time on engine slots: a file task\'s speaker embeddings (embed) and their clustering (cluster), a live final\'s embedding (live)', labelNames: ['stage'] as const,
    buckets: [0.01, 0.05, 0.25, 1, 4, 16, 64, 256], registers: [this.registry],
  });
  readonly livePassWait = new Histogram({
    name: 'hub_live_pass_wait_seconds', help: 'Time a live pass waited for an engine slot', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5], registers: [this.registry],
  });
  readonly livePassOverhead = new Histogram({
    name: 'hub_live_pass_overhead_seconds', help: "The hub's own time around a live pass (IPC, copies, results), engine time excluded",
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2], registers: [this.registry],
  });

  readonly streamLag = new Histogram({
    name: 'hub_stream_lag_seconds', help: 'How far behind live audio the engine was when a stream was warned', buckets: [5, 10, 20, 40, 80, 160], registers: [this.registry],
  });
  readonly storeWriteSeconds = new Histogram({
    name: 'hub_persistence_write_seconds', help: 'Time of one batch write to the store', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  /** The engine as the actors see it, timed on the way. */
  measured(engine: Engine, kind: 'batch' | 'live'): Engine {
    const { chunksTranscribed, chunkSeconds, realTimeFactor } = this;
    return {
      get slots() {
        return engine.slots;
      },
      run: async (job, signal, onSegments) => {
        const result = await engine.run(job, signal, onSegments);
        if (kind === 'batch') chunksTranscribed.inc();
        chunkSeconds.observe({ kind }, result.engineMs / 1000);
        if (result.engineMs > 0) realTimeFactor.observe({ kind }, result.audioSec / (result.engineMs / 1000));
        return result;
      },
    };
  }

  /** The gauges that mirror the parts' state; called once, when the parts exist. */
  readFrom(read: MetricSources): void {
    const r = [this.registry];
    new Gauge({
      name: 'hub_tasks', help: 'Live tasks and streams by status', labelNames: ['status'] as const, registers: r,
      collect() {
        this.reset();
        for (const [status, n] of Object.entries(read.tasksByStatus())) this.set({ status }, n);
      },
    });
    new Gauge({
      name: 'hub_sockets', help: 'Open WebSockets by endpoint', labelNames: ['route'] as const, registers: r,
      collect() {
        for (const [route, n] of Object.entries(read.socketsByRoute())) this.set({ route }, n);
      },
    });
    new Counter({
      name: 'hub_sockets_cut_off_total', help: 'Sockets cut off for falling more than 1 MiB behind (their frames were not sent)', registers: r,
      collect() {
        this.reset();
        this.inc(read.cutOffs());
      },
    });
    new Gauge({ name: 'hub_persistence_backlog', help: 'Records not yet written to the store', registers: r, collect() { this.set(read.persistenceBacklog()); } });
    new Gauge({ name: 'hub_engine_busy_workers', help: 'Engine workers running at least one job', registers: r, collect() { this.set(read.busyWorkers()); } });
    new Gauge({ name: 'hub_engine_running_jobs', help: 'Engine jobs (chunks and live passes) running now', registers: r, collect() { this.set(read.runningJobs()); } });
    new Gauge({ name: 'hub_engine_slots', help: 'Engine jobs that can run at once: HUB_WORKERS x HUB_ENGINE_SLOTS', registers: r, collect() { this.set(read.engineSlots()); } });
    new Gauge({
      name: 'hub_engine_workers', help: 'Engine workers by implementation and backend', labelNames: ['impl', 'backend'] as const, registers: r,
      collect() {
        this.reset();
        for (const w of read.engineWorkers()) if (w.engine) this.inc({ impl: w.engine.impl, backend: w.engine.backend });
      },
    });
    new Gauge({
      name: 'hub_engine_device_memory_bytes', help: "GPU memory in use on each CUDA engine worker's device (the device's, as the driver reports it)", labelNames: ['slot'] as const, registers: r,
      collect() {
        this.reset();
        for (const w of read.engineWorkers()) if (w.deviceMemoryUsedBytes !== undefined) this.set({ slot: String(w.slot) }, w.deviceMemoryUsedBytes);
      },
    });
    new Gauge({
      name: 'hub_queue_depth', help: 'Passes waiting for an engine slot', labelNames: ['priority'] as const, registers: r,
      collect() { for (const [priority, n] of Object.entries(read.queued())) this.set({ priority }, n); },
    });
    new Gauge({
      name: 'hub_event_loop_lag_seconds', help: "The hub's event-loop delay over the last second", labelNames: ['quantile'] as const, registers: r,
      collect() {
        const lag = read.loopLag();
        this.set({ quantile: '0.5' }, lag.p50Ms / 1000);
        this.set({ quantile: '0.99' }, lag.p99Ms / 1000);
      },
    });
  }
}
