// Comlink endpoints over Node's two message channels: a worker_threads port
// (Worker / parentPort) and a child process's IPC channel (forked with
// `serialization: 'advanced'`, so typed arrays and errors cross as clones).
import * as Comlink from 'comlink';
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

/**
 * Serves `api` from a forked child process to its parent. The child exits when
 * the channel to its parent closes: a hub that was killed (even with SIGKILL)
 * leaves no engine or decoder process behind holding a model and a core.
 */
export function exposeToParent(api: object): void {
  if (!process.send) throw new Error('this module runs as a forked child process');
  process.once('disconnect', () => process.exit(0));
  Comlink.expose(api, ipcEndpoint(process as unknown as IpcLike));
}

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
