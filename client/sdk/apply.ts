// Keeps a client-side copy of a task up to date with the frames about it.
// Pure: the same frames always give the same task.
import type { Task, TaskEventFrame } from '../protocol/types.ts';

export function applyFrame(task: Task, frame: TaskEventFrame): Task {
  const next: Task = { ...task, seq: frame.seq };
  switch (frame.type) {
    case 'status':
      next.status = frame.status;
      if (frame.error) next.error = frame.error;
      break;
    case 'progress':
      next.progress = { done: frame.done, total: frame.total, pct: frame.pct };
      if (frame.durationSec !== undefined) next.durationSec = frame.durationSec;
      if (frame.language) next.language = frame.language;
      break;
    case 'segments':
      next.segments = [...task.segments.filter((s) => s.chunk !== frame.chunk), ...frame.segments];
      break;
    case 'final':
      if (frame.text) next.segments = [...task.segments, { start: frame.start, end: frame.end, text: frame.text }];
      break;
    default:
      break; // partial, partial_segments, lag and error frames do not change the task itself; speakers name finals by segId, which the task's segments do not keep
  }
  return next;
}
