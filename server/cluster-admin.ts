// Cluster mode: the admin view of every node. A hub with an admin socket open
// says so on the bus once a second (`hub.admin.watch`); while anyone watches,
// every node — hubs and engine nodes — publishes its view once a second on
// `hub.admin.view`: its actors (as its own admin socket lists them) and its
// stats. A watched hub passes the other nodes' views to its admin sockets, and
// forwards `inspect` and `cancel` of an actor another hub runs to that hub
// (`hub.admin.ask.<node>`, request and reply). With nobody watching, a node
// publishes nothing. Messages from the bus are validated like any input.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import type { AdminFrame, NodeView } from '../client/protocol/admin.ts';
import { encode } from '../client/protocol/codec.ts';
import { parseMessage } from '../native/engine/bus/bus-protocol.ts';
import type { LogFn } from '../native/log-fn.ts';

const WATCH_SUBJECT = 'hub.admin.watch';
const VIEW_SUBJECT = 'hub.admin.view';
const askSubject = (node: string) => `hub.admin.ask.${Buffer.from(node, 'utf8').toString('hex')}`;
const PERIOD_MS = 1000;
/** A node not heard from for this long is left out of the view (it stopped, or nobody watches). */
const STALE_MS = 3 * PERIOD_MS;
const ASK_TIMEOUT_MS = 5_000;


const viewSchema = z.object({
  node: z.string().min(1).max(200),
  role: z.enum(['hub', 'engine']),
  at: z.string().max(40),
  actors: z.array(z.looseObject({ id: z.string().max(300), kind: z.string().max(40), state: z.string().max(500) })).max(100_000),
  stats: z.record(z.string(), z.unknown()),
});
const answerSchema = z.looseObject({ type: z.enum(['snapshot', 'cancelled', 'error']) });
const askSchema = z.object({ type: z.enum(['inspect', 'cancel']), id: z.string().min(1).max(300), by: z.string().max(200) });
export type AdminAsk = z.infer<typeof askSchema>;
/** What a hub answers about its own actor: the frame its admin socket would send. */
export type AdminAnswer = Extract<AdminFrame, { type: 'snapshot' | 'cancelled' | 'error' }>;

export class ClusterAdmin {
  private readonly others = new Map<string, NodeView & { heardAt: number }>();
  private watchedUntil = 0;
  private readonly subscriptions: Subscription[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly self: { node: string; role: 'hub' | 'engine' },
    /** this node's actors and stats, now */
    view: () => Pick<NodeView, 'actors' | 'stats'>,
    /** true while an admin socket on this node is open (engine nodes have none) */
    watchedHere: () => boolean,
    /** answers `inspect`/`cancel` of this hub's actors for the other hubs (engine nodes: none) */
    answer: ((ask: AdminAsk) => AdminAnswer) | undefined,
    log: LogFn,
  ) {
    this.subscriptions.push(nc.subscribe(WATCH_SUBJECT, { callback: () => void (this.watchedUntil = Date.now() + STALE_MS) }));
    this.subscriptions.push(
      nc.subscribe(VIEW_SUBJECT, {
        callback: (error, msg) => {
          if (error) return;
          const parsed = parseMessage(viewSchema, msg.data);
          if (!parsed) return void log('warn', 'a malformed admin view on the bus was ignored');
          if (parsed.node !== self.node) this.others.set(parsed.node, { ...(parsed as NodeView), heardAt: Date.now() });
        },
      }),
    );
    if (answer) {
      this.subscriptions.push(
        nc.subscribe(askSubject(self.node), {
          callback: (error, msg) => {
            if (error) return;
            const ask = parseMessage(askSchema, msg.data);
            msg.respond(encode(ask ? answer(ask) : { type: 'error', code: 'bad_request', message: 'not an admin question' }));
          },
        }),
      );
    }
    this.timer = setInterval(() => {
      if (nc.isClosed()) return;
      if (watchedHere()) nc.publish(WATCH_SUBJECT);
      if (Date.now() < this.watchedUntil) nc.publish(VIEW_SUBJECT, encode({ ...self, at: new Date().toISOString(), ...view() }));
    }, PERIOD_MS);
    this.timer.unref();
  }

  /** The other nodes, as last heard (those not heard from lately left out). */
  views(): NodeView[] {
    const now = Date.now();
    return [...this.others.values()].filter((v) => now - v.heardAt < STALE_MS).map(({ heardAt: _, ...view }) => view);
  }

  /** The hub that runs task or stream `id`, as the views say. */
  ownerOf(id: string): string | undefined {
    return this.views().find((v) => v.role === 'hub' && v.actors.some((a) => a.id === id && (a.kind === 'task' || a.kind === 'stream')))?.node;
  }

  /** Asks hub `node` about its actor; a hub that does not answer in time is an `internal` error. */
  async ask(node: string, ask: AdminAsk): Promise<AdminAnswer> {
    try {
      const reply = await this.nc.request(askSubject(node), encode(ask), { timeout: ASK_TIMEOUT_MS });
      return (parseMessage(answerSchema, reply.data) as AdminAnswer | undefined) ?? { type: 'error', code: 'internal', message: `hub ${node} gave no answer` };
    } catch (error) {
      return { type: 'error', code: 'internal', message: `hub ${node} did not answer: ${(error as Error).message}` };
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const s of this.subscriptions) s.unsubscribe();
  }
}
