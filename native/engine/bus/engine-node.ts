// An engine node (HUB_ROLE=engine): pulls jobs off the bus and runs them on
// this machine's engine workers. One puller per priority, each pulling only
// while a slot is free; live is pulled as eagerly as batch, and the hub's
// scheduler keeps the queue short. While a job runs its message is kept alive
// (working), so a slow chunk is not handed to another node; its result is
// published, then the job acknowledged: a node that dies mid-job never
// acknowledges it and another node runs it again (the hub takes the first
// result per job). Announces its slots every second.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type Consumer, type JsMsg } from '@nats-io/jetstream';
import type { EngineJob, EngineResult, EngineSegment } from '../types.ts';
import type { EngineStatus } from '../engine-service.ts';
import { ACK_WAIT_MS, ANNOUNCE_MS, ANNOUNCE_SUBJECT, CANCEL_ALL, WORK_STREAM, consumerName, decodeJob, encodeMessage, ensureWorkStream, fromS16, resultSubject, type BusJob } from './bus-protocol.ts';
import type { LogFn } from '../../log-fn.ts';

/** What an engine node runs its jobs on (the EngineService). */
export interface LocalEngine {
  run(job: EngineJob, signal: AbortSignal, onSegments?: (segments: EngineSegment[]) => void): Promise<EngineResult>;
  status(): Pick<EngineStatus, 'state' | 'impl' | 'backend' | 'models'>;
  readonly slots: number;
}

export interface EngineNodeOptions {
  nc: NatsConnection;
  engine: LocalEngine;
  nodeId: string;
  log: LogFn;
  /** how long a job may go unacknowledged before another node gets it (tests shorten it) */
  ackWaitMs?: number;
}

export class EngineNode {
  private jobs = 0;
  private closed = false;
  private readonly running = new Map<string, AbortController>();
  private readonly cancels: Subscription;
  private readonly announcer: NodeJS.Timeout;
  private readonly pulling: Promise<void>[] = [];
  private readonly waiting = new Set<() => void>();

  private constructor(
    private readonly options: EngineNodeOptions,
    consumers: Consumer[],
  ) {
    this.cancels = options.nc.subscribe(CANCEL_ALL, { callback: (_error, msg) => this.running.get(msg.subject.split('.').pop() ?? '')?.abort() });
    this.announce();
    this.announcer = setInterval(() => this.announce(), ANNOUNCE_MS);
    for (const consumer of consumers) this.pulling.push(this.pull(consumer));
  }

  static async start(options: EngineNodeOptions): Promise<EngineNode> {
    await ensureWorkStream(await jetstreamManager(options.nc), options.ackWaitMs);
    const js = jetstream(options.nc);
    // live first in the list: when a slot frees, its puller is the one already waiting
    const consumers = await Promise.all((['live', 'batch'] as const).map((p) => js.consumers.get(WORK_STREAM, consumerName(p))));
    return new EngineNode(options, consumers);
  }

  /** Jobs running on this node now. */
  get busy(): number {
    return this.jobs;
  }

  /** Stops pulling, stops the running jobs (the bus hands them to another node) and says goodbye. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.announcer);
    this.announce(); // (with no slots: hubs stop counting this node at once)
    this.freed();
    for (const stop of this.running.values()) stop.abort();
    this.cancels.unsubscribe();
    await Promise.allSettled(this.pulling);
  }

  private announce(): void {
    const { engine, nc, nodeId } = this.options;
    const s = engine.status();
    if (nc.isClosed()) return;
    nc.publish(ANNOUNCE_SUBJECT, encodeMessage({ node: nodeId, slots: this.closed ? 0 : engine.slots, busy: this.jobs, models: s.models, impl: s.impl, backend: s.backend, state: s.state }));
  }

  private async pull(consumer: Consumer): Promise<void> {
    while (!this.closed) {
      if (this.jobs >= this.options.engine.slots || this.options.engine.status().state !== 'ready') {
        await new Promise<void>((resolve) => {
          this.waiting.add(resolve);
          setTimeout(resolve, 250).unref(); // (the engine may become ready meanwhile)
        });
        continue;
      }
      let msg: JsMsg | null;
      try {
        msg = await consumer.next({ expires: 1000 });
      } catch (error) {
        if (this.closed) return;
        this.options.log('warn', 'pulling a job off the bus failed', { error: String(error) });
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      if (!msg) continue;
      // Another puller filled the last slot meanwhile: back on the queue, for a node with room.
      if (this.jobs >= this.options.engine.slots || this.closed) {
        msg.nak(100);
        continue;
      }
      void this.serve(msg);
    }
  }

  private async serve(msg: JsMsg): Promise<void> {
    const job = decodeJob(msg.data);
    if (!job) {
      this.options.log('warn', 'a malformed job on the bus was dropped', { seq: msg.seq });
      return void msg.term();
    }
    this.jobs++;
    const stop = new AbortController();
    this.running.set(job.id, stop);
    const keepAlive = setInterval(() => msg.working(), (this.options.ackWaitMs ?? ACK_WAIT_MS) / 3);
    const { nc, engine, nodeId } = this.options;
    try {
      const onSegments = job.stream ? (segments: EngineSegment[]) => nc.publish(resultSubject(job.id), encodeMessage({ kind: 'segments', segments })) : undefined;
      const result = await engine.run(toEngineJob(job), stop.signal, onSegments);
      nc.publish(resultSubject(job.id), encodeMessage({ kind: 'done', result, node: nodeId }));
      msg.ack();
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'engine_failed';
      if (this.closed && code !== 'engine_failed') msg.nak(); // (this node is going: another one runs it)
      else {
        // A cancelled job has nobody waiting; a failed one tells its hub why (the hub retries a crash).
        if (!stop.signal.aborted) nc.publish(resultSubject(job.id), encodeMessage({ kind: 'failed', code, message: error instanceof Error ? error.message : String(error) }));
        msg.ack();
      }
    } finally {
      clearInterval(keepAlive);
      this.running.delete(job.id);
      this.jobs--;
      this.freed();
    }
  }

  /** A slot is free (or the node is closing): the pullers go on. */
  private freed(): void {
    for (const resolve of this.waiting) resolve();
    this.waiting.clear();
  }
}

function toEngineJob(job: BusJob): EngineJob {
  return {
    samples: fromS16(job.audio),
    ...(job.fitContext ? { fitContext: true } : {}),
    ...(job.language ? { language: job.language } : {}),
    ...(job.options ? { options: job.options } : {}),
    ...(job.tag ? { tag: job.tag } : {}),
  };
}
