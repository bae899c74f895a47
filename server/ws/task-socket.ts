// `/v1/ws`: live task subscriptions. A subscriber gets the whole task (or the
// frames after `since`) and then every frame published on the task's topic.
// `watch_tasks` adds the caller's feed: a frame for each task created or
// deleted, by whichever client.
// Frames are encoded once per encoding and published through uWS topics.
// Sockets that fall behind are cut off (see backpressure.ts).
import type { TemplatedApp, WebSocket, HttpResponse, HttpRequest } from '../uws.ts';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import type { FramePort } from '../../actors/task-registry.ts';
import type { FeedFrame, ServerFrame, Task, TaskEventFrame } from '../../client/protocol/types.ts';
import { clientMessageSchema } from '../../client/protocol/messages.ts';
import { encodeFor, type Encoding } from '../../client/protocol/codec.ts';
import { UWS_MAX_PAYLOAD, readClientMessage } from './client-message.ts';
import { guardSocket } from '../guard.ts';
import { CLOSE, acceptUpgrade } from './upgrade.ts';
import { MAX_BACKPRESSURE, sendOrCut, type SocketState } from './backpressure.ts';
const MAX_SUBSCRIPTIONS = 1000;

export interface TaskSocketData {
  route: 'ws';
  caller: Caller | undefined;
  encoding: Encoding;
  subscriptions: Set<string>;
  closed: boolean;
}

export const topicOf = (encoding: Encoding, taskId: string) => `${encoding}/task/${taskId}`;
const feedTopicOf = (encoding: Encoding, userId: string) => `${encoding}/user/${userId}`;

/** Publishes task frames to the sockets subscribed to them, encoding each once per encoding in use. */
export class TopicPublisher implements FramePort {
  constructor(
    private readonly app: TemplatedApp,
    private readonly onPublished: () => void = () => {},
  ) {}

  publish(taskId: string, frame: TaskEventFrame): void {
    this.toTopic(topicOf, taskId, frame);
  }

  feed(userId: string, frame: FeedFrame): void {
    this.toTopic(feedTopicOf, userId, frame);
  }

  private toTopic(topicFor: (encoding: Encoding, key: string) => string, key: string, frame: ServerFrame): void {
    for (const encoding of ['msgpack', 'json'] as const) {
      const topic = topicFor(encoding, key);
      if (this.app.numSubscribers(topic) === 0) continue;
      const { data, binary } = encodeFor(encoding, frame);
      this.app.publish(topic, data, binary);
      this.onPublished();
    }
  }
}

export function registerTaskSocket(app: TemplatedApp, ctx: HubContext, sockets: Set<WebSocket<SocketState>>): void {
  const send = (ws: WebSocket<TaskSocketData>, frame: ServerFrame) => {
    const { data: bytes, binary } = encodeFor(ws.getUserData().encoding, frame);
    sendOrCut(ws, bytes, binary);
  };
  const fail = (ws: WebSocket<TaskSocketData>, code: 'bad_request' | 'not_found' | 'internal', message: string, ref?: unknown) =>
    send(ws, { type: 'error', code, message, ...(ref !== undefined ? { ref } : {}) });

  app.ws<TaskSocketData>('/v1/ws', guardSocket('/v1/ws', ctx.log, {
    maxPayloadLength: UWS_MAX_PAYLOAD,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 120,
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, context) => {
      acceptUpgrade(ctx, res, req, context, (caller, encoding) => ({ route: 'ws' as const, caller, encoding, subscriptions: new Set(), closed: false }));
    },
    open: (ws) => {
      if (!ws.getUserData().caller) {
        ws.end(CLOSE.unauthorized, 'unauthorized');
        return;
      }
      sockets.add(ws);
    },
    message: (ws, message, isBinary) => {
      const data = ws.getUserData();
      if (!data.caller) return;
      const read = readClientMessage(clientMessageSchema, message, isBinary);
      if (!read.ok) {
        send(ws, read.error);
        return void (read.close && ws.end(read.close, read.error.message));
      }
      const msg = read.message;
      const withRef = <T extends object>(frame: T) => (msg.ref !== undefined ? { ...frame, ref: msg.ref } : frame);
      switch (msg.type) {
        case 'ping':
          send(ws, withRef({ type: 'pong' as const }));
          return;
        case 'unsubscribe':
          ws.unsubscribe(topicOf(data.encoding, msg.id));
          data.subscriptions.delete(msg.id);
          if (msg.ref !== undefined) send(ws, withRef({ type: 'unsubscribed' as const, id: msg.id }));
          return;
        case 'subscribe':
          subscribe(ws, msg.id, msg.since, msg.ref);
          return;
        case 'watch_tasks':
          // Acknowledged always: a client lists its tasks after this, so none falls between.
          ws.subscribe(feedTopicOf(data.encoding, data.caller.userId));
          send(ws, withRef({ type: 'watching' as const }));
          return;
        case 'unwatch_tasks':
          ws.unsubscribe(feedTopicOf(data.encoding, data.caller.userId));
          if (msg.ref !== undefined) send(ws, withRef({ type: 'unwatched' as const }));
          return;
      }
    },
    close: (ws) => {
      ws.getUserData().closed = true;
      sockets.delete(ws);
    },
  }));

  function subscribe(ws: WebSocket<TaskSocketData>, id: string, since: number | undefined, ref: string | number | undefined) {
    const data = ws.getUserData();
    const withRef = <T extends object>(frame: T) => (ref !== undefined ? { ...frame, ref } : frame);
    const mine = (task: Task | undefined): task is Task => task?.userId === data.caller!.userId;
    if (ctx.registry.isLive(id)) {
      const task = ctx.registry.get(id);
      if (!mine(task)) return fail(ws, 'not_found', `no task ${id}`, ref);
      if (!data.subscriptions.has(id) && data.subscriptions.size >= MAX_SUBSCRIPTIONS) {
        return fail(ws, 'bad_request', `at most ${MAX_SUBSCRIPTIONS} subscriptions per socket`, ref);
      }
      // Subscribing and catching up in one turn of the loop: no frame can fall between.
      ws.cork(() => {
        ws.subscribe(topicOf(data.encoding, id));
        data.subscriptions.add(id);
        if (ref !== undefined) send(ws, withRef({ type: 'subscribed' as const, id }));
        const missed = since === undefined ? undefined : ctx.registry.framesSince(id, since);
        if (missed) for (const frame of missed) send(ws, frame);
        else send(ws, { type: 'task', id, seq: task.seq, task });
      });
      return;
    }
    // A finished task (from memory, else the store): it will not change again.
    const answer = (task: Task | undefined) => {
      if (data.closed) return;
      if (!mine(task)) return fail(ws, 'not_found', `no task ${id}`, ref);
      ws.cork(() => {
        if (ref !== undefined) send(ws, withRef({ type: 'subscribed' as const, id }));
        if (since === undefined || since < task.seq) send(ws, { type: 'task', id, seq: task.seq, task });
      });
    };
    const inMemory = ctx.tasks.get(id);
    if (inMemory) return answer(inMemory);
    ctx.tasks
      .find(id)
      .then(answer)
      .catch((error: unknown) => {
        ctx.log.error({ err: error, taskId: id }, 'subscribe lookup failed');
        fail(ws, 'internal', 'could not look the task up; try again', ref);
      });
  }
}
