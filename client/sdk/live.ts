// A live transcription session on `/v1/stream`, for browsers and Node. Send
// audio as it is recorded (raw PCM, or Opus in WebM/Ogg); partials and finals
// come back as events. If the connection drops, the session reconnects with
// `resume` and `since` (backoff with jitter); for raw PCM it re-sends the audio
// past what the hub says it received, so nothing is lost. `close()` ends it
// cleanly and resolves with the seconds of audio the hub received.
import { optionsQuery } from './options.ts';
import type { TranscribeOptions } from '../protocol/types.ts';
import type { FinalFrame, LagFrame, PartialFrame, StreamFormat } from '../protocol/types.ts';
import { CLOSE_CODES, HubApiError } from './errors.ts';
import { backoff, decodeFrame, socketUrl, webSocketClass, type WebSocketConstructor, type WebSocketLike } from './connection.ts';

export interface LiveOptions {
  url: string;
  token?: string;
  format?: StreamFormat;
  rate?: number;
  channels?: number;
  language?: string;
  name?: string;
  /** translate, prompt, temperature, beam (see Task.options) */
  options?: TranscribeOptions;
  /** ms of silence that end any utterance (a complete sentence ends sooner), or false: only finalize() ends one */
  endpointing?: number | false;
  /** an onUtteranceEnd after this much audio with no new words following a final */
  utteranceEndMs?: number;
  WebSocket?: WebSocketConstructor;
}

/** Bytes per second of raw PCM; undefined for compressed formats. */
export function pcmBytesPerSecond(format: StreamFormat, rate = 16_000, channels = 1): number | undefined {
  if (format === 's16le') return rate * channels * 2;
  if (format === 'f32le') return rate * channels * 4;
  if (format === 'mulaw' || format === 'alaw') return rate * channels;
  return undefined;
}

export interface LiveHandlers {
  onReady?: (id: string) => void;
  onPartial?: (frame: PartialFrame) => void;
  onFinal?: (frame: FinalFrame) => void;
  onLag?: (frame: LagFrame) => void;
  /** diarize: the speakers of finals already made, by segId (sent after the final, and again if corrected) */
  onSpeakers?: (labels: Record<string, string>) => void;
  /** the words paused for `utteranceEndMs` (seconds from the stream's start of the last word) */
  onUtteranceEnd?: (lastWordEnd: number) => void;
  onError?: (error: HubApiError) => void;
  /** the connection dropped and is being re-established (true), or is back (false) */
  onReconnecting?: (reconnecting: boolean) => void;
}

/** Raw audio kept for re-sending after a reconnect, at most (~60 s of 16 kHz s16le). */
const RESEND_LIMIT = 2 * 1024 * 1024;
const MAX_ATTEMPTS = 8;

export class LiveSession {
  id: string | undefined;
  private socket: WebSocketLike | undefined;
  private seq = 0;
  private attempt = 0;
  private ending = false;
  private ended = false;
  /** the raw audio sent last, for re-sending after a drop: [byte offset in the stream, bytes] */
  private recent: [number, Uint8Array][] = [];
  private sentBytes = 0;
  private readonly done: Promise<number>;
  private settle!: { resolve: (durationSec: number) => void; reject: (error: HubApiError) => void };

  private constructor(
    private readonly options: LiveOptions,
    private readonly handlers: LiveHandlers,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => {});
  }

  /** Opens a session; resolves once the hub has recorded it (`ready`). */
  static async start(options: LiveOptions, handlers: LiveHandlers = {}): Promise<LiveSession> {
    const session = new LiveSession(options, handlers);
    await session.open();
    return session;
  }

  /** Sends a piece of audio (in the session's format). */
  send(audio: Uint8Array): void {
    if (this.ending) return;
    if (this.bytesPerSecond) {
      this.recent.push([this.sentBytes, audio]);
      while (this.recent.length > 1 && this.sentBytes - this.recent[0]![0] > RESEND_LIMIT) this.recent.shift();
    }
    this.sentBytes += audio.byteLength;
    if (this.socket?.readyState === 1) this.socket.send(audio);
  }

  /** Raw PCM only: compressed audio cannot be cut and re-sent. */
  private get bytesPerSecond(): number | undefined {
    return pcmBytesPerSecond(this.options.format ?? 's16le', this.options.rate, this.options.channels);
  }

  /** Re-sends what the hub did not get before the drop. */
  private resendFrom(receivedSec: number, ws: WebSocketLike): void {
    const perSecond = this.bytesPerSecond;
    if (!perSecond) return;
    const frame = perSecond / (this.options.rate ?? 16_000);
    const received = Math.floor((receivedSec * perSecond) / frame) * frame;
    for (const [offset, bytes] of this.recent) {
      const end = offset + bytes.byteLength;
      if (end <= received) continue;
      ws.send(bytes.subarray(Math.max(0, received - offset)));
    }
  }

  finalize(): void {
    this.control('finalize');
  }

  /** Ends the session: the last finals come, then it resolves with the seconds of audio received. */
  close(): Promise<number> {
    this.ending = true;
    this.control('close');
    return this.done;
  }

  /** Resolves like `close()` once the session ends, however it ends. */
  get finished(): Promise<number> {
    return this.done;
  }

  private control(type: 'finalize' | 'close' | 'keepalive'): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify({ type }));
  }

  private async open(): Promise<void> {
    const WS = await webSocketClass(this.options.WebSocket);
    const query: Record<string, string> = {};
    const o = this.options;
    if (o.format) query.format = o.format;
    if (o.rate) query.rate = String(o.rate);
    if (o.channels) query.channels = String(o.channels);
    if (o.language) query.language = o.language;
    if (o.name) query.name = o.name;
    if (o.endpointing !== undefined) query.endpointing = String(o.endpointing);
    if (o.utteranceEndMs !== undefined) query.utterance_end_ms = String(o.utteranceEndMs);
    Object.assign(query, optionsQuery(o.options));
    if (this.id) Object.assign(query, { resume: this.id, since: String(this.seq) });
    const ws = new WS(socketUrl(o.url, '/v1/stream', o.token, query));
    ws.binaryType = 'arraybuffer';
    this.socket = ws;
    await new Promise<void>((resolve, reject) => {
      ws.onmessage = (e) => {
        const frame = decodeFrame(e.data);
        if (frame.type === 'ready') {
          const resumed = this.id !== undefined;
          this.id = frame.id as string;
          this.attempt = 0;
          if (resumed) {
            this.handlers.onReconnecting?.(false);
            this.resendFrom(Number(frame.durationSec ?? 0), ws);
          } else this.handlers.onReady?.(this.id);
          resolve();
          return;
        }
        this.receive(frame);
      };
      ws.onerror = () => {};
      ws.onclose = (e) => {
        this.socket = undefined;
        const code = CLOSE_CODES[e.code];
        if (this.ended || e.code === 1000) return this.finish(e.code === 1000 ? undefined : new HubApiError(code ?? 'closed', e.reason, undefined, e.code));
        if (code) {
          const error = new HubApiError(code, e.reason || code, undefined, e.code);
          reject(error);
          return this.finish(error);
        }
        // dropped: come back to the same session
        if (!this.id || this.attempt >= MAX_ATTEMPTS) {
          const error = new HubApiError('network', 'the connection to the hub was lost', undefined, e.code);
          reject(error);
          return this.finish(error);
        }
        this.handlers.onReconnecting?.(true);
        setTimeout(() => void this.open().catch(() => {}), backoff(++this.attempt));
      };
    });
  }

  private receive(frame: Record<string, unknown> & { type: string }): void {
    if (typeof frame.seq === 'number') {
      if (frame.seq <= this.seq) return; // replayed after a resume: already seen
      this.seq = frame.seq;
    }
    if (frame.type === 'partial') this.handlers.onPartial?.(frame as unknown as PartialFrame);
    else if (frame.type === 'final') this.handlers.onFinal?.(frame as unknown as FinalFrame);
    else if (frame.type === 'lag') this.handlers.onLag?.(frame as unknown as LagFrame);
    else if (frame.type === 'speakers') this.handlers.onSpeakers?.(frame.labels as Record<string, string>);
    else if (frame.type === 'utterance_end') this.handlers.onUtteranceEnd?.(Number(frame.lastWordEnd));
    else if (frame.type === 'error') this.handlers.onError?.(new HubApiError(String(frame.code), String(frame.message)));
    else if (frame.type === 'closed') {
      this.ended = true;
      this.settle.resolve(Number(frame.durationSec));
    }
  }

  private finish(error?: HubApiError): void {
    this.ended = true;
    if (error) {
      this.handlers.onError?.(error);
      this.settle.reject(error);
    } else this.settle.resolve(NaN);
  }
}
