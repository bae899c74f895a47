// The runtime-neutral shape of a socket route (as hono's WebSocket helper has
// it): a route says what it accepts (query parameters, message schema, audio
// frames, who may connect) and, per connection, gets a `SocketPort` to send,
// subscribe and end with, and returns the hooks the connection calls. The uWS
// adapter (uws-socket.ts) does the rest once for every route: upgrade, auth,
// parse–validate–echo-`ref`, limits, backpressure, the error boundary. Nothing
// here imports uWS, so a route's handlers can be tested with a plain object.
import type { z } from 'zod';
import type { Caller } from '../auth.ts';
import type { ErrorFrame, ServerFrame } from '../../client/protocol/types.ts';
import type { AdminFrame } from '../../client/protocol/admin.ts';

/** What a connection can do to its socket; `Out` is what it sends (the hub's frames, or another API's events). */
export interface SocketPort<Out = ServerFrame | AdminFrame> {
  readonly caller: Caller;
  /** true once the socket closed, or the hub began closing it: sends are dropped */
  readonly gone: boolean;
  send(frame: Out): void;
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** several sends written as one */
  batch(run: () => void): void;
  end(code: number, reason: string): void;
}

/** What a connection does with what arrives; every hook is optional. */
export interface SocketHooks<M> {
  onMessage?(message: M): void;
  /** binary frames of an audio route (copied: they outlive the callback) */
  onAudio?(bytes: Uint8Array): void;
  onClose?(): void;
}

type Tagged = z.ZodObject<{ type: z.ZodLiteral<string> }>;
export type MessageSchema = z.ZodDiscriminatedUnion<Tagged[]>;

/** What the upgrade request says about the caller, for a route that reads credentials its own way. */
export interface Handshake {
  authorization: string;
  /** the subprotocols the client offered, in order */
  protocols: string[];
  query: URLSearchParams;
}

/** A route that speaks another API: its own credentials, its own refusals and error events, JSON text frames. */
export interface ForeignApi<Out> {
  /** the token the client presented, and the subprotocol to answer with (browsers fail a socket whose offer is not echoed) */
  credentials(handshake: Handshake): { token: string | undefined; protocol?: string };
  /** a refusal before the upgrade (bad credentials, bad parameters): that API's HTTP answer */
  refusal(status: 400 | 401, message: string): { body: string; headers: [string, string][] };
  /** the hub's own error frames (a message that does not parse, an internal failure) as that API says them */
  error(frame: ErrorFrame): Out;
  /** the query as the parameter schema reads it (default: each key's last value) */
  readQuery?(query: URLSearchParams): Record<string, unknown>;
  /** messages may be this large (audio inside JSON); default 16 KB */
  maxMessageBytes?: number;
}

export interface SocketRoute<S extends MessageSchema, P = undefined, Out = ServerFrame | AdminFrame> {
  path: string;
  /** set for another API's socket (OpenAI Realtime, Deepgram); absent: the hub's own protocol */
  foreign?: ForeignApi<Out>;
  /** only admin tokens may connect (others are closed with 4003) */
  adminOnly?: boolean;
  /** the query parameters, validated; a failure sends `bad_request` and closes with `close` */
  params?: { schema: z.ZodType<P>; close: number };
  messages: S;
  /** binary frames are audio for `onAudio`; text frames are messages (JSON) */
  audio?: boolean;
  limits: {
    maxPayloadBytes: number;
    /** seconds; 0 leaves idleness to the route's own timer */
    idleTimeoutSec: number;
  };
  connect(port: SocketPort<Out>, params: P): SocketHooks<z.infer<S>>;
}

/** Logical topic names; the adapter keeps one topic per encoding of each. */
export const topics = {
  task: (taskId: string) => `task/${taskId}`,
  feed: (userId: string) => `user/${userId}`,
  admin: 'admin',
} as const;

/** Adds the client's `ref` to an answer, when it gave one. */
export const withRef = <T extends object>(frame: T, ref: string | number | undefined): T => (ref !== undefined ? { ...frame, ref } : frame);
