// Publishes frames to the sockets subscribed to a topic, encoding each frame
// once per encoding in use (never once per recipient). uWS skips a socket over
// its backpressure mark; backpressure.ts cuts such a socket off.
import type { TemplatedApp } from '../uws.ts';
import type { FramePort } from '../../actors/task-registry.ts';
import type { FeedFrame, ServerFrame, TaskEventFrame } from '../../client/protocol/types.ts';
import type { AdminFrame } from '../../client/protocol/admin.ts';
import { encodeFor } from '../../client/protocol/codec.ts';
import { topics } from './socket-port.ts';
import { encodedTopic } from './uws-socket.ts';

const ENCODINGS = ['msgpack', 'json'] as const;

export class TopicPublisher implements FramePort {
  constructor(
    private readonly app: TemplatedApp,
    private readonly onPublished: () => void = () => {},
  ) {}

  publish(taskId: string, frame: TaskEventFrame): void {
    this.toTopic(topics.task(taskId), frame);
  }

  feed(userId: string, frame: FeedFrame): void {
    this.toTopic(topics.feed(userId), frame);
  }

  admin(frame: AdminFrame): void {
    this.toTopic(topics.admin, frame, false);
  }

  /** Whether any socket follows the topic (so a frame nobody reads is never built). */
  watched(topic: string): boolean {
    return ENCODINGS.some((encoding) => this.app.numSubscribers(encodedTopic(encoding, topic)) > 0);
  }

  /** `counted`: task and feed frames count in /metrics; the admin view's own frames do not. */
  private toTopic(topic: string, frame: ServerFrame | AdminFrame, counted = true): void {
    for (const encoding of ENCODINGS) {
      const name = encodedTopic(encoding, topic);
      if (this.app.numSubscribers(name) === 0) continue;
      const { data, binary } = encodeFor(encoding, frame);
      this.app.publish(name, data, binary);
      if (counted) this.onPublished();
    }
  }
}
