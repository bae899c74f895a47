// In-process listeners for one task's frames, for handlers that answer when a
// task is done (the OpenAI-compatible routes) rather than over a socket. A
// port of the registry like the socket publisher: it sees every frame once,
// in seq order, and holds nothing for tasks nobody listens to.
import type { TaskEventFrame } from '../client/protocol/types.ts';
import type { FramePort } from './task-registry.ts';

export type FrameListener = (frame: TaskEventFrame) => void;

export class FrameTap implements FramePort {
  private readonly listeners = new Map<string, Set<FrameListener>>();

  publish(taskId: string, frame: TaskEventFrame): void {
    for (const listener of this.listeners.get(taskId) ?? []) listener(frame);
  }

  /** Hears every later frame of task `taskId`; returns the stop. */
  listen(taskId: string, listener: FrameListener): () => void {
    const set = this.listeners.get(taskId) ?? new Set<FrameListener>();
    set.add(listener);
    this.listeners.set(taskId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(taskId) === set) this.listeners.delete(taskId);
    };
  }
}
