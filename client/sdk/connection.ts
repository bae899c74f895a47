// A WebSocket to the hub that the SDK can rely on in browsers and in Node:
// the browser's own, or the `ws` package where there is none (Node 20). The
// token travels as `?token=` (browsers cannot set headers on a WebSocket).
// Frames are MessagePack; they come out decoded.
import { decode, encode } from '../protocol/codec.ts';

export type WebSocketLike = {
  binaryType: string;
  readyState: number;
  onopen: ((e: unknown) => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  onclose: ((e: { code: number; reason: string }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  send(data: string | ArrayBufferLike | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
};
export type WebSocketConstructor = new (url: string) => WebSocketLike;

let nodeWebSocket: Promise<WebSocketConstructor> | undefined;

/** The WebSocket class to use: the given one, the platform's, or `ws`. */
export async function webSocketClass(given?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (given) return given;
  const platform = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (platform) return platform;
  nodeWebSocket ??= import('ws').then((m) => (m.default ?? m) as unknown as WebSocketConstructor);
  return nodeWebSocket;
}

export function socketUrl(base: string, path: string, token: string | undefined, query: Record<string, string> = {}): string {
  const url = new URL(path, base.replace(/^http/, 'ws'));
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

/** Decodes a frame as the hub sends it (binary MessagePack, or JSON text). */
export function decodeFrame(data: unknown): Record<string, unknown> & { type: string } {
  if (typeof data === 'string') return JSON.parse(data);
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : (data as Uint8Array);
  return decode(bytes) as Record<string, unknown> & { type: string };
}

export const encodeMessage = (message: object): Uint8Array => encode(message);

/** Exponential backoff with full jitter: attempt 1 waits up to 0.5 s, then 1, 2, 4 ... up to `maxMs`. */
export function backoff(attempt: number, maxMs = 15_000): number {
  return Math.random() * Math.min(maxMs, 500 * 2 ** (attempt - 1));
}
