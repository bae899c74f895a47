// The protocol's WebSocket close codes (PROTOCOL.md), named once for the hub
// and its clients, with the error code each of the hub's own codes stands for.
import type { ErrorCode } from './types.ts';

export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  messageTooBig: 1009,
  unauthorized: 4001,
  badAudioFormat: 4002,
  forbidden: 4003,
  notFound: 4004,
  idleTimeout: 4008,
  tooSlow: 4009,
  frameTooLarge: 4013,
  overloaded: 4029,
} as const;
export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/** What a client reports when the hub closes a socket with one of its 40xx codes. */
export const CLOSE_CODES: Record<number, ErrorCode> = {
  [CLOSE.unauthorized]: 'unauthorized',
  [CLOSE.badAudioFormat]: 'unsupported_audio',
  [CLOSE.forbidden]: 'forbidden',
  [CLOSE.notFound]: 'not_found',
  [CLOSE.idleTimeout]: 'idle_timeout',
  [CLOSE.tooSlow]: 'too_slow',
  [CLOSE.frameTooLarge]: 'payload_too_large',
  [CLOSE.overloaded]: 'overloaded',
};
