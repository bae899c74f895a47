// The policy for sockets that do not keep up. Each socket may fall at most
// MAX_BACKPRESSURE bytes behind. uWS already skips published frames for a
// socket over that mark (so nobody else slows down); this cuts such a socket
// off instead of letting it silently miss frames: it is told 4009 and closed,
// and forcibly so if it does not even read the close. Its client reconnects and
// resubscribes with `since`.
import type { WebSocket } from '../uws.ts';
import { CLOSE } from '../../client/protocol/close.ts';

export const MAX_BACKPRESSURE = 1024 * 1024;
const SEND_DROPPED = 2;
const FORCE_CLOSE_AFTER_MS = 1000;

export interface SocketState {
  closed: boolean;
}

let cutOffs = 0;

/** Sockets cut off so far (for /metrics). */
export const cutOffCount = () => cutOffs;

export function cutOff(ws: WebSocket<SocketState>): void {
  const state = ws.getUserData();
  if (state.closed) return;
  cutOffs++;
  ws.end(CLOSE.tooSlow, 'too slow: the client is not reading its frames');
  setTimeout(() => {
    if (!state.closed) ws.close();
  }, FORCE_CLOSE_AFTER_MS).unref();
}

/** Sends one frame; a socket too far behind to take it is cut off. */
export function sendOrCut(ws: WebSocket<SocketState>, data: string | Uint8Array, binary: boolean): void {
  if (ws.getUserData().closed) return;
  if (ws.send(data, binary) === SEND_DROPPED) cutOff(ws);
}

/** Cuts off every socket over the mark: the ones only published frames were skipping. */
export function sweep(sockets: Iterable<WebSocket<SocketState>>): void {
  for (const ws of sockets) if (!ws.getUserData().closed && ws.getBufferedAmount() > MAX_BACKPRESSURE) cutOff(ws);
}

/** Sweeps the sockets every half second until stopped. */
export function startSweeper(sockets: Iterable<WebSocket<SocketState>>): () => void {
  const timer = setInterval(() => sweep(sockets), 500);
  timer.unref();
  return () => clearInterval(timer);
}
