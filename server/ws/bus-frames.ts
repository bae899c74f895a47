// Frames across hubs (cluster mode): every frame about a task this hub's
// actors make is also published on the bus (`hub.task.<id>`, a user's feed on
// `hub.feed.<user>`), and frames other hubs publish reach this hub's sockets
// subscribed to that task or feed. Any hub serves any subscriber; a gap is
// filled from the store with `since`, as after a reconnect.
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { z } from 'zod';
import type { FramePort } from '../../actors/task-registry.ts';
import type { FeedFrame, TaskEventFrame } from '../../client/protocol/types.ts';
import { encode } from '../../client/protocol/codec.ts';
import { parseMessage } from '../../native/engine/bus/bus-protocol.ts';
import type { LogFn } from '../../native/log-fn.ts';

const taskSubject = (taskId: string) => `hub.task.${hex(taskId)}`;
const feedSubject = (userId: string) => `hub.feed.${hex(userId)}`;
// (ids may hold characters NATS gives a meaning to: `.`, `*`, `>`)
const hex = (id: string) => Buffer.from(id, 'utf8').toString('hex');
const unhex = (token: string) => Buffer.from(token, 'hex').toString('utf8');

const envelope = z.object({ origin: z.string(), frame: z.looseObject({ type: z.string() }) });

/** Where frames from other hubs go: this hub's socket publisher. */
export interface LocalFrames {
  publish(taskId: string, frame: TaskEventFrame): void;
  feed(userId: string, frame: FeedFrame): void;
}

export class BusFrames implements FramePort {
  private readonly subscriptions: Subscription[];

  constructor(
    private readonly nc: NatsConnection,
    private readonly nodeId: string,
    local: LocalFrames,
    log: LogFn,
  ) {
    const forward = (subject: string, deliver: (id: string, frame: never) => void) =>
      nc.subscribe(`${subject}.*`, {
        callback: (error, msg) => {
          if (error) return;
          const parsed = parseMessage(envelope, msg.data);
          if (!parsed) return void log('warn', 'a malformed frame on the bus was ignored', { subject: msg.subject });
          if (parsed.origin === this.nodeId) return; // (this hub's own frames reached its sockets already)
          deliver(unhex(msg.subject.slice(subject.length + 1)), parsed.frame as never);
        },
      });
    this.subscriptions = [forward('hub.task', (id, frame) => local.publish(id, frame)), forward('hub.feed', (id, frame) => local.feed(id, frame))];
  }

  publish(taskId: string, frame: TaskEventFrame): void {
    if (!this.nc.isClosed()) this.nc.publish(taskSubject(taskId), encode({ origin: this.nodeId, frame }));
  }

  feed(userId: string, frame: FeedFrame): void {
    if (!this.nc.isClosed()) this.nc.publish(feedSubject(userId), encode({ origin: this.nodeId, frame }));
  }

  close(): void {
    for (const s of this.subscriptions) s.unsubscribe();
  }
}
