// How a compatible API's request waits for its task: the task kept up to date
// from its frames (through the in-process frame tap, never by polling the
// store) until it has finished, and what a task that did not complete says.
import type { HubContext } from '../context.ts';
import { HubError } from '../../actors/hub-error.ts';
import { applyFrame } from '../../client/sdk/apply.ts';
import { isFinished, type Task } from '../../client/protocol/types.ts';

/** The task once it has finished, kept up to date from its frames. */
export function finished(ctx: HubContext, created: Task, onFrame?: (task: Task, frame: Parameters<typeof applyFrame>[1]) => void): Promise<Task> {
  return new Promise((resolve) => {
    let task = ctx.registry.get(created.id) ?? created;
    const stop = ctx.frames.listen(created.id, (frame) => {
      task = applyFrame(task, frame);
      onFrame?.(task, frame);
      if (frame.type === 'status' && isFinished(frame.status)) {
        stop();
        resolve(task);
      }
    });
    if (isFinished(task.status)) {
      stop();
      resolve(task);
    }
  });
}

export function failureOf(task: Task): HubError {
  if (task.status === 'cancelled') return new HubError('internal', 'the transcription was cancelled');
  return new HubError(task.error?.code ?? 'engine_failed', task.error?.message ?? 'the transcription failed');
}

