// The admin socket for the web app and the CLI: the actor list kept up to
// date from `actors` / `actor` / `actor_stopped` frames, `stats` as they come,
// `inspect` and `cancel` as promises. Reconnects by itself like the watcher.
import { HubApiError, CLOSE_CODES } from './errors.ts';
import { backoff, decodeFrame, encodeMessage, socketUrl, webSocketClass, type WebSocketConstructor, type WebSocketLike } from './connection.ts';

export interface ActorInfo {
  id: string;
  kind: string;
  state: string;
  [key: string]: unknown;
}

export interface AdminHandlers {
  onActors?: (actors: Map<string, ActorInfo>) => void;
  onStats?: (stats: Record<string, unknown>) => void;
  onError?: (error: HubApiError) => void;
}

export class AdminConnection {
  readonly actors = new Map<string, ActorInfo>();
  private socket: WebSocketLike | undefined;
  private closed = false;
  private attempt = 0;
  private refs = 0;
  private reconnect: ReturnType<typeof setTimeout> | undefined;
  private readonly pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: HubApiError) => void }>();

  constructor(
    private readonly options: { url: string; token?: string; WebSocket?: WebSocketConstructor },
    private readonly handlers: AdminHandlers,
  ) {
    void this.connect();
  }

  inspect(id: string): Promise<unknown> {
    return this.request({ type: 'inspect', id }).then((f) => f.snapshot);
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

  private request(message: Record<string, unknown>): Promise<Record<string, unknown>> {
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
    ws.onmessage = (e) => this.receive(decodeFrame(e.data));
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

  private receive(frame: Record<string, unknown> & { type: string }): void {
    const ref = typeof frame.ref === 'number' ? this.pending.get(frame.ref) : undefined;
    if (ref) {
      this.pending.delete(frame.ref as number);
      if (frame.type === 'error') ref.reject(new HubApiError(String(frame.code), String(frame.message)));
      else ref.resolve(frame);
      return;
    }
    if (frame.type === 'actors') {
      this.actors.clear();
      for (const a of frame.actors as ActorInfo[]) this.actors.set(a.id, a);
    } else if (frame.type === 'actor') {
      const { type: _type, ...info } = frame;
      this.actors.set(String(frame.id), info as unknown as ActorInfo);
    } else if (frame.type === 'actor_stopped') {
      this.actors.delete(String(frame.id));
    } else if (frame.type === 'stats') {
      this.handlers.onStats?.(frame);
      return;
    } else return;
    this.handlers.onActors?.(this.actors);
  }
}
