// Live task subscriptions over one `/v1/ws` socket that heals itself: when the
// connection drops it reconnects (exponential backoff with jitter) and
// resubscribes every task with `since` = the last seq it saw, so the hub
// replays what was missed and no frame is lost; a gap in seq (a frame the
// hub had to skip) triggers the same catch-up at once. Each watcher gets the
// task kept up to date and every frame, in order. The same socket carries the
// caller's task feed (tasks created or deleted by any client), switched back
// on after every reconnect.
import { isFinished, type CreatedFrame, type DeletedFrame, type ServerFrame, type Task, type TaskEventFrame } from '../protocol/types.ts';
import { applyFrame } from './apply.ts';
import { HubApiError } from './errors.ts';
import { backoff, decodeFrame, encodeMessage, socketUrl, webSocketClass, type WebSocketConstructor, type WebSocketLike } from './connection.ts';

export interface WatchHandlers {
  /** the task as it is now (after each frame, or a whole snapshot) */
  onTask?: (task: Task) => void;
  onFrame?: (frame: TaskEventFrame) => void;
  onError?: (error: HubApiError) => void;
}

export interface FeedHandlers {
  /** the feed is on: on the first connection and after every reconnect (list your tasks now: nothing falls between) */
  onWatching?: () => void;
  onCreated?: (frame: CreatedFrame) => void;
  onDeleted?: (frame: DeletedFrame) => void;
}

interface Watch {
  task: Task | undefined;
  seq: number | undefined;
  handlers: Set<WatchHandlers>;
}

export interface WatcherOptions {
  /** the hub's http(s) address */
  url: string;
  token?: string;
  /** a WebSocket class, where the platform has none (Node 20 uses `ws` by itself) */
  WebSocket?: WebSocketConstructor;
  /** called on every (re)connection and disconnection */
  onConnection?: (connected: boolean) => void;
}

export class TaskWatcher {
  private socket: WebSocketLike | undefined;
  private readonly watches = new Map<string, Watch>();
  private readonly feeds = new Set<FeedHandlers>();
  private attempt = 0;
  private closed = false;
  private connecting: Promise<void> | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: WatcherOptions) {}

  /** Follows a task until `stop()` is called. */
  watch(id: string, handlers: WatchHandlers): () => void {
    let watch = this.watches.get(id);
    if (!watch) {
      watch = { task: undefined, seq: undefined, handlers: new Set() };
      this.watches.set(id, watch);
      this.subscribe(id, watch);
    } else if (watch.task) handlers.onTask?.(watch.task);
    watch.handlers.add(handlers);
    void this.connect();
    return () => {
      watch!.handlers.delete(handlers);
      if (watch!.handlers.size === 0) {
        this.watches.delete(id);
        this.send({ type: 'unsubscribe', id });
      }
    };
  }

  /** Follows the caller's task feed until `stop()` is called. */
  watchTasks(handlers: FeedHandlers): () => void {
    this.feeds.add(handlers);
    this.send({ type: 'watch_tasks' }); // idempotent; its answer tells the new handler the feed is on
    void this.connect();
    return () => {
      this.feeds.delete(handlers);
      if (this.feeds.size === 0) this.send({ type: 'unwatch_tasks' });
    };
  }

  /** The frames about a task as an async iterator; it ends when the task is finished. */
  async *frames(id: string): AsyncGenerator<TaskEventFrame> {
    const queue: TaskEventFrame[] = [];
    let wake: (() => void) | undefined;
    let failure: HubApiError | undefined;
    let finished = false;
    const stop = this.watch(id, {
      onFrame: (f) => {
        queue.push(f);
        wake?.();
      },
      onTask: (t) => {
        if (isFinished(t.status)) finished = true;
        wake?.();
      },
      onError: (e) => {
        failure = e;
        wake?.();
      },
    });
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (failure) throw failure;
        if (finished) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      stop();
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket?.close(1000);
  }

  private connect(): Promise<void> {
    if (this.socket || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const WS = await webSocketClass(this.options.WebSocket);
      const ws = new WS(socketUrl(this.options.url, '/v1/ws', this.options.token));
      ws.binaryType = 'arraybuffer';
      this.socket = ws;
      ws.onopen = () => {
        this.attempt = 0;
        this.options.onConnection?.(true);
        for (const [id, watch] of this.watches) this.subscribe(id, watch);
        if (this.feeds.size) this.send({ type: 'watch_tasks' });
      };
      ws.onmessage = (e) => this.receive(decodeFrame(e.data) as ServerFrame);
      ws.onerror = () => {};
      ws.onclose = (e) => {
        this.socket = undefined;
        this.options.onConnection?.(false);
        if (e.code === 4001) return this.failAll(new HubApiError('unauthorized', 'the token was refused', undefined, 4001));
        if (this.closed) return;
        this.retry = setTimeout(() => void this.connect(), backoff(++this.attempt));
      };
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private subscribe(id: string, watch: Watch): void {
    this.send({ type: 'subscribe', id, ref: id, ...(watch.seq !== undefined ? { since: watch.seq } : {}) });
  }

  private send(message: object): void {
    if (this.socket?.readyState === 1) this.socket.send(encodeMessage(message));
  }

  private receive(frame: ServerFrame): void {
    switch (frame.type) {
      case 'error':
        if ('seq' in frame) return this.taskFrame(frame); // a task's own error (a failed live pass): in its seq order
        // an answer to a subscribe: the watcher sends the task's id as `ref`, and the hub echoes it
        if (typeof frame.ref === 'string') this.watches.get(frame.ref)?.handlers.forEach((h) => h.onError?.(new HubApiError(frame.code, frame.message)));
        return;
      case 'watching':
        return this.feeds.forEach((h) => h.onWatching?.());
      case 'created':
        return this.feeds.forEach((h) => h.onCreated?.(frame));
      case 'deleted':
        return this.feeds.forEach((h) => h.onDeleted?.(frame));
      case 'task': {
        const watch = this.watches.get(frame.id);
        if (!watch) return;
        watch.task = frame.task;
        watch.seq = frame.seq;
        return watch.handlers.forEach((h) => h.onTask?.(frame.task));
      }
      case 'status':
      case 'progress':
      case 'segments':
      case 'partial_segments':
      case 'partial':
      case 'final':
      case 'lag':
      case 'speakers':
        return this.taskFrame(frame);
      case 'unwatched':
      case 'subscribed':
      case 'unsubscribed':
      case 'pong':
      case 'ready':
      case 'closed':
      case 'utterance_end':
        return; // acknowledgements, and frames of other sockets
      default:
        return unknownFrame(frame);
    }
  }

  /** A frame about a watched task: applied in seq order; a gap is caught up with `since`. */
  private taskFrame(event: TaskEventFrame): void {
    const watch = this.watches.get(event.id);
    if (!watch) return;
    if (watch.seq !== undefined && event.seq <= watch.seq) return; // already seen (a replay overlap)
    if (watch.seq !== undefined && event.seq > watch.seq + 1) {
      this.subscribe(event.id, watch); // a gap: catch up from what we have
      return;
    }
    watch.seq = event.seq;
    if (watch.task) watch.task = applyFrame(watch.task, event);
    watch.handlers.forEach((h) => h.onFrame?.(event));
    if (event.type === 'error') watch.handlers.forEach((h) => h.onError?.(new HubApiError(event.code, event.message)));
    if (watch.task) watch.handlers.forEach((h) => h.onTask?.(watch.task!));
  }

  private failAll(error: HubApiError): void {
    for (const watch of this.watches.values()) watch.handlers.forEach((h) => h.onError?.(error));
  }
}

/** Every frame type is handled above: a new one fails to compile here until it is. */
function unknownFrame(frame: never): void {
  void frame;
}
