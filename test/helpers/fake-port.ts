// Stands for one client's socket in handler tests: a SocketPort (and a
// LiveConnection) that records what the hub sends, subscribes to and how it
// ends the connection, with no network and no uWS.
import type { SocketPort } from '../../server/ws/socket-port.ts';
import type { LiveConnection } from '../../actors/live-session.ts';
import type { ServerFrame } from '../../client/protocol/types.ts';
import type { AdminFrame } from '../../client/protocol/admin.ts';

export interface FakePort extends Omit<SocketPort, 'send'>, Omit<LiveConnection, 'send'> {
  send(frame: ServerFrame | AdminFrame): void;
  sent: (ServerFrame | AdminFrame)[];
  topics: Set<string>;
  ended: { code: number; reason: string } | undefined;
  /** the client goes away (the adapter then calls onClose) */
  drop(): void;
}

export function fakePort(userId = 'alice', admin = false): FakePort {
  let closed = false;
  const port: FakePort = {
    caller: { userId, admin },
    userId,
    sent: [],
    topics: new Set(),
    ended: undefined,
    get gone() {
      return closed || port.ended !== undefined;
    },
    send: (frame) => void (port.gone || port.sent.push(frame)),
    subscribe: (topic) => void port.topics.add(topic),
    unsubscribe: (topic) => void port.topics.delete(topic),
    follow: (taskId) => void port.topics.add(`task/${taskId}`),
    batch: (run) => run(),
    end: (code, reason) => void (port.gone || (port.ended = { code, reason })),
    drop: () => void (closed = true),
  };
  return port;
}
