// The last frames of each live task, so a client that saw a gap (or comes
// back with `since`) is brought up to date from memory. Bounded per task;
// when what a client missed is no longer all here, it is sent the whole task.
import type { TaskEventFrame } from '../client/protocol/types.ts';

export class FrameLog {
  private readonly frames = new Map<string, TaskEventFrame[]>();

  constructor(private readonly perTask: number) {}

  record(taskId: string, frame: TaskEventFrame): void {
    let log = this.frames.get(taskId);
    if (!log) this.frames.set(taskId, (log = []));
    log.push(frame);
    if (log.length > this.perTask) log.shift();
  }

  /** Frames after `since`, given the task's current seq; undefined when they are no longer all here. */
  since(taskId: string, since: number, currentSeq: number): TaskEventFrame[] | undefined {
    if (since >= currentSeq) return since === currentSeq ? [] : undefined;
    const log = this.frames.get(taskId) ?? [];
    const first = log[0];
    if (!first || first.seq > since + 1) return undefined;
    return log.filter((f) => f.seq > since);
  }

  forget(taskId: string): void {
    this.frames.delete(taskId);
  }
}
