// The engine of a hub in cluster mode (HUB_ROLE=hub), as the rest of the hub
// sees an engine: what the engine nodes on the bus announce (their slots,
// models, implementation) and the jobs run through them. No model is loaded
// here and no worker runs here.
import type { NatsConnection } from '@nats-io/transport-node';
import type { EnginePool } from '../engine-pool.ts';
import type { EngineStatus } from '../engine-service.ts';
import type { EngineJob, EngineResult, EngineSegment } from '../types.ts';
import type { LogFn } from '../../log-fn.ts';
import { BusEngine } from './bus-engine.ts';
import type { Announcement } from './bus-protocol.ts';

export class ClusterEngine {
  private bus: BusEngine | undefined;
  private failure: string | undefined;
  private readonly opened: Promise<BusEngine>;
  private readonly firstNode: Promise<undefined>;
  private nodeHeard: () => void = () => {};

  constructor(
    nc: NatsConnection,
    private readonly log: LogFn,
    /** told when the slots on the bus change (the scheduler's capacity follows) */
    private readonly onSlots: (slots: number) => void,
  ) {
    this.firstNode = new Promise((resolve) => (this.nodeHeard = () => resolve(undefined)));
    this.opened = BusEngine.open({
      nc,
      log,
      onSlots: (slots) => {
        if (slots > 0) this.nodeHeard();
        this.onSlots(slots);
      },
    });
    this.opened.then(
      (bus) => (this.bus = bus),
      (error: Error) => {
        this.failure = `the bus refused the work stream: ${error.message}`;
        log('error', 'cluster engine could not start', { error: this.failure });
      },
    );
  }

  /** jobs the engine nodes run at once, all together */
  get slots(): number {
    return this.bus?.slots ?? 0;
  }

  /** No local workers in cluster mode. */
  get workerPool(): EnginePool | undefined {
    return undefined;
  }

  /** Resolves once an engine node with a free model has announced itself. */
  async ready(): Promise<undefined> {
    await this.opened;
    return this.firstNode;
  }

  private nodes(): Announcement[] {
    return this.bus?.liveNodes() ?? [];
  }

  get modelNames(): string[] {
    return [...new Set(this.nodes().flatMap((n) => n.models))];
  }

  knowsModel(name: string): boolean {
    return this.modelNames.includes(name);
  }

  modelNameFor(wanted: string | undefined): string | undefined {
    const names = this.modelNames;
    return wanted !== undefined && names.includes(wanted) ? wanted : names[0];
  }

  async run(job: EngineJob, signal: AbortSignal, onSegments?: (segments: EngineSegment[]) => void): Promise<EngineResult> {
    return (await this.opened).run(job, signal, onSegments);
  }

  status(): EngineStatus & { nodes: Omit<Announcement, 'models'>[] } {
    const nodes = this.nodes();
    const ready = nodes.filter((n) => n.state === 'ready' && n.slots > 0);
    const first = ready[0] ?? nodes[0];
    const failure = this.failure ?? (nodes.length > 0 && ready.length === 0 ? 'no engine node on the bus is ready' : undefined);
    return {
      state: this.failure ? 'failed' : ready.length > 0 ? 'ready' : 'loading',
      impl: first?.impl === 'napi-rs' ? 'napi-rs' : 'whisper.cpp',
      version: '',
      backend: first?.backend === 'cuda' ? 'cuda' : 'cpu',
      model: this.modelNames[0],
      models: this.modelNames,
      synthetic: false,
      ...(failure ? { failure } : nodes.length === 0 ? { failure: 'waiting for an engine node on the bus (HUB_ROLE=engine)' } : {}),
      restarting: 0,
      workers: nodes.length,
      slotsPerWorker: Math.max(0, ...nodes.map((n) => n.slots)),
      threadsPerJob: 0,
      threadsPerWorker: 0,
      nodes: nodes.map(({ models: _models, ...n }) => n),
    };
  }

  async close(): Promise<void> {
    this.bus?.close();
  }
}
