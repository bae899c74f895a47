// The admin socket for the web app and the CLI: the actor list kept up to
// date from `actors` / `actor` / `actor_stopped` frames, `stats` as they come,
// `inspect` and `cancel` as promises; in cluster mode the other nodes' views
// (`nodes`). Reconnects by itself like the watcher.
import { HubApiError, CLOSE_CODES } from './errors.ts';
import { backoff, decodeFrame, encodeMessage, socketUrl, webSocketClass, type WebSocketConstructor, type WebSocketLike } from './connection.ts';
import type { ActorInfo, AdminFrame, NodeView, StatsFrame } from '../protocol/admin.ts';

export type { ActorInfo, NodeView };

export interface AdminHandlers {
  onActors?: (actors: Map<string, ActorInfo>) => void;
  onStats?: (stats: StatsFrame) => void;
  /** cluster mode: every other node's actors and stats, once a second */
  onNodes?: (nodes: NodeView[]) => void;
  onError?: (error: HubApiError) => void;
}

export class AdminConnection {
  readonly actors = new Map<string, ActorInfo>();
  private socket: WebSocketLike | undefined;
  private closed = false;
  private attempt = 0;
  private refs = 0;
  private reconnect: ReturnType<typeof setTimeout> | undefined;
  private readonly pending = new Map<number, { resolve: (v: AdminFrame) => void; reject: (e: HubApiError) => void }>();

  constructor(
    private readonly options: { url: string; token?: string; WebSocket?: WebSocketConstructor },
    private readonly handlers: AdminHandlers,
  ) {
    void this.connect();
  }

  inspect(id: string): Promise<unknown> {
    return this.request({ type: 'inspect', id }).then((f) => (f.type === 'snapshot' ? f.snapshot : undefined));
  }

  async cancel(id: string): Promise<void> {
    await this.request({ type: 'cancel', id });
  }

  /** Closes for good: a reconnect already scheduled is called off, requests in flight are refused. */
  close(): void {
    this.closed = true;
    clearTimeout(this.reconnect);
    this.socket?.close(1000);
    for (const { reject } of this.pending.values()) reject(new HubApiError('network', 'the admin connection was closed'));
    this.pending.clear();
  }

  private request(message: Record<string, unknown>): Promise<AdminFrame> {
    const ref = ++this.refs;
    return new Promise((resolve, reject) => {
      if (this.socket?.readyState !== 1) return reject(new HubApiError('network', 'not connected to the hub'));
      this.pending.set(ref, { resolve, reject });
      this.socket.send(encodeMessage({ ...message, ref }));
    });
  }

  private async connect(): Promise<void> {
    const WS = await webSocketClass(this.options.WebSocket);
    if (this.closed) return;
    const ws = new WS(socketUrl(this.options.url, '/v1/admin', this.options.token));
    ws.binaryType = 'arraybuffer';
    this.socket = ws;
    ws.onopen = () => (this.attempt = 0);
    ws.onerror = () => {};
    ws.onmessage = (e) => this.receive(decodeFrame(e.data) as AdminFrame);
    ws.onclose = (e) => {
      this.socket = undefined;
      const code = CLOSE_CODES[e.code];
      if (code === 'unauthorized' || code === 'forbidden') {
        this.closed = true;
        this.handlers.onError?.(new HubApiError(code, code === 'forbidden' ? 'an admin token is required' : 'the token was refused', undefined, e.code));
        return;
      }
      if (!this.closed) this.reconnect = setTimeout(() => void this.connect(), backoff(++this.attempt));
    };
  }

  private receive(frame: AdminFrame): void {
    const ref = 'ref' in frame && typeof frame.ref === 'number' ? frame.ref : undefined;
    const waiting = ref !== undefined ? this.pending.get(ref) : undefined;
    if (waiting) {
      this.pending.delete(ref!);
      if (frame.type === 'error') waiting.reject(new HubApiError(frame.code, frame.message));
      else waiting.resolve(frame);
      return;
    }
    switch (frame.type) {
      case 'actors':
        this.actors.clear();
        for (const a of frame.actors) this.actors.set(a.id, a);
        break;
      case 'actor': {
        const { type: _type, ...info } = frame;
        this.actors.set(frame.id, info as ActorInfo);
        break;
      }
      case 'actor_stopped':
        this.actors.delete(frame.id);
        break;
      case 'stats':
        return this.handlers.onStats?.(frame);
      case 'nodes':
        return this.handlers.onNodes?.(frame.nodes);
      case 'error':
        return this.handlers.onError?.(new HubApiError(frame.code, frame.message));
      case 'snapshot':
      case 'cancelled':
      case 'pong':
        return; // answers to requests no longer waited for
      default:
        return unknownFrame(frame);
    }
    this.handlers.onActors?.(this.actors);
  }
}

/** Every admin frame is handled above: a new one fails to compile here until it is. */
function unknownFrame(frame: never): void {
  void frame;
}
