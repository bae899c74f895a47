// The engine as a hub in cluster mode sees it: jobs go to the engine nodes
// over the bus instead of to local workers (the `Engine` the chunk runner and
// the live transcriber already use). The hub's scheduler still decides what
// runs and when: it hands out as many slots as the engine nodes announce, and
// a job is published only once it holds one, so the queue stays short and
// fairness stays on the hub. A file chunk's audio is read here and travels
// inline (no node reads another machine's disk). Cancel: the job is taken off
// the queue if no node has it yet, and the node running it is told to stop.
import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { readPcmRange } from '../../audio/pcm.ts';
import { EngineError, type EngineJob, type EngineResult, type EngineSegment } from '../types.ts';
import { ANNOUNCE_MS, ANNOUNCE_SUBJECT, WORK_STREAM, cancelSubject, decodeAnnouncement, decodeReply, encodeMessage, ensureWorkStream, resultSubject, toS16, workSubject, type Announcement } from './bus-protocol.ts';
import type { LogFn } from '../../log-fn.ts';

export interface BusEngineOptions {
  nc: NatsConnection;
  log: LogFn;
  /** told when the slots the engine nodes announce change (the scheduler's capacity follows them) */
  onSlots?: (slots: number) => void;
  /** how long a job may go unacknowledged before another node gets it (tests shorten it) */
  ackWaitMs?: number;
}

export class BusEngine {
  private readonly nodes = new Map<string, Announcement & { seenAt: number }>();
  private readonly announcements: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private lastSlots = 0;

  private constructor(
    private readonly options: BusEngineOptions,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {
    this.announcements = options.nc.subscribe(ANNOUNCE_SUBJECT, {
      callback: (error, msg) => {
        const a = error ? undefined : decodeAnnouncement(msg.data);
        if (!a) return void options.log('warn', 'a malformed engine announcement on the bus was ignored', { subject: ANNOUNCE_SUBJECT });
        this.nodes.set(a.node, { ...a, seenAt: Date.now() });
        this.slotsChanged();
      },
    });
    this.sweep = setInterval(() => this.slotsChanged(), ANNOUNCE_MS);
  }

  static async open(options: BusEngineOptions): Promise<BusEngine> {
    const jsm = await jetstreamManager(options.nc);
    await ensureWorkStream(jsm, options.ackWaitMs);
    return new BusEngine(options, jetstream(options.nc), jsm);
  }

  /** The engine nodes heard from lately (a node silent for 3 announcement periods is gone). */
  liveNodes(): Announcement[] {
    const cutoff = Date.now() - 3 * ANNOUNCE_MS;
    return [...this.nodes.values()].filter((n) => n.seenAt >= cutoff);
  }

  /** Jobs the engine nodes run at once, all together. */
  get slots(): number {
    return this.liveNodes().reduce((n, node) => n + (node.state === 'ready' ? node.slots : 0), 0);
  }

  async run(job: EngineJob, signal: AbortSignal, onSegments?: (segments: EngineSegment[]) => void, priority: 'live' | 'batch' = 'samples' in job ? 'live' : 'batch'): Promise<EngineResult> {
    signal.throwIfAborted();
    const samples = 'samples' in job ? job.samples : await readPcmRange(job.pcmPath, job.start, job.end);
    const id = randomUUID();
    const { nc } = this.options;
    return new Promise<EngineResult>((resolve, reject) => {
      let seq: number | undefined;
      const finish = (error: Error | undefined, result?: EngineResult) => {
        replies.unsubscribe();
        signal.removeEventListener('abort', onAbort);
        if (error) reject(error);
        else resolve(result!);
      };
      // (subscribed before the job is published: no reply can come before we listen)
      const replies = nc.subscribe(resultSubject(id), {
        callback: (error, msg) => {
          const reply = error ? undefined : decodeReply(msg.data);
          if (!reply) return void this.options.log('warn', 'a malformed engine reply on the bus was ignored', { job: id });
          if (reply.kind === 'segments') onSegments?.(reply.segments);
          else if (reply.kind === 'done') finish(undefined, reply.result);
          else finish(new EngineError(reply.code === 'engine_crashed' ? 'engine_crashed' : 'engine_failed', reply.message));
        },
      });
      const onAbort = () => {
        nc.publish(cancelSubject(id));
        if (seq !== undefined) this.jsm.streams.deleteMessage(WORK_STREAM, seq).catch(() => {}); // (a node has it already: the cancel stops it)
        finish(new EngineError('cancelled', 'the job was cancelled'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const message = encodeMessage({
        id,
        audio: toS16(samples),
        stream: onSegments !== undefined,
        ...('fitContext' in job && job.fitContext ? { fitContext: true } : {}),
        ...(job.language ? { language: job.language } : {}),
        ...(job.options ? { options: job.options } : {}),
        ...(job.tag ? { tag: job.tag } : {}),
      });
      this.js.publish(workSubject(priority), message, { msgID: id }).then(
        (ack) => {
          seq = ack.seq;
          if (signal.aborted) this.jsm.streams.deleteMessage(WORK_STREAM, ack.seq).catch(() => {});
        },
        (error: Error) => finish(new EngineError('engine_failed', `the job could not be queued on the bus: ${error.message}`)),
      );
    });
  }

  close(): void {
    clearInterval(this.sweep);
    this.announcements.unsubscribe();
  }

  private slotsChanged(): void {
    const slots = this.slots;
    if (slots === this.lastSlots) return;
    this.lastSlots = slots;
    this.options.log('info', 'engine slots on the bus changed', { slots, nodes: this.liveNodes().map((n) => n.node) });
    this.options.onSlots?.(slots);
  }
}
