// Comlink endpoints over Node's two message channels: a worker_threads port
// (Worker / parentPort) and a child process's IPC channel (forked with
// `serialization: 'advanced'`, so typed arrays and errors cross as clones).
import type { Endpoint } from 'comlink';

interface MessageChannelLike {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

interface PortLike extends MessageChannelLike {
  postMessage(message: unknown): void;
}

interface IpcLike extends MessageChannelLike {
  send?(message: unknown): boolean;
}

export const portEndpoint = (port: PortLike): Endpoint => endpoint(port, (m) => port.postMessage(m));

/** `send` is absent once the channel is gone: messages are then dropped, and the exit is handled elsewhere. */
export const ipcEndpoint = (channel: IpcLike): Endpoint => endpoint(channel, (m) => channel.send?.(m));

function endpoint(channel: MessageChannelLike, post: (message: unknown) => void): Endpoint {
  const wrapped = new WeakMap<object, (message: unknown) => void>();
  return {
    postMessage: post,
    addEventListener(_type: string, listener: EventListenerOrEventListenerObject) {
      const deliver = (data: unknown) => {
        const event = { data } as MessageEvent;
        if (typeof listener === 'function') listener(event);
        else listener.handleEvent(event);
      };
      wrapped.set(listener, deliver);
      channel.on('message', deliver);
    },
    removeEventListener(_type: string, listener: EventListenerOrEventListenerObject) {
      const deliver = wrapped.get(listener);
      if (deliver) channel.off('message', deliver);
    },
  };
}
