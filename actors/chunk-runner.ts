// Runs a task's chunks on the engine: each chunk waits its turn at the
// scheduler, runs on a worker, and is retried on a fresh worker if its worker
// dies (bounded). Reports every result as an event, and the text of a running
// chunk as whisper emits it; owns no task state.
import type { Scheduler, Priority } from './scheduler.ts';
import type { EngineJob, EngineResult, EngineSegment } from '../native/engine/types.ts';
import type { ChunkPlan } from '../native/audio/chunk-planner.ts';
import type { TranscribeOptions } from '../client/protocol/types.ts';

export interface Engine {
  /** `onSegments` hears the chunk's text kept so far as whisper emits it (engines that can tell) */
  run(job: EngineJob, signal: AbortSignal, onSegments?: (segments: EngineSegment[]) => void): Promise<EngineResult>;
  /** how many chunks can run at once */
  readonly slots: number;
}

export interface ChunkRunInput {
  taskId: string;
  userId: string;
  pcmPath: string;
  language: string | undefined;
  options?: TranscribeOptions;
  chunks: ChunkPlan[];
  priority: Priority;
}

export type ChunkRunEvent =
  | { type: 'CHUNK_PARTIAL'; index: number; segments: EngineSegment[] }
  | { type: 'CHUNK_DONE'; index: number; result: EngineResult }
  | { type: 'CHUNK_FAILED'; index: number; code: string; message: string };

export const MAX_ATTEMPTS = 3;

export async function runChunks(
  deps: { scheduler: Scheduler; engine: Engine; onRetry?: (index: number, attempt: number, error: unknown) => void; onPreempted?: (index: number) => void },
  input: ChunkRunInput,
  report: (event: ChunkRunEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const queue = [...input.chunks];
  let language = input.language;

  const runOne = async (chunk: ChunkPlan): Promise<void> => {
    for (let failures = 0; ; ) {
      // (a refused slot at shutdown rejects here, unreported: see below)
      const lease = await deps.scheduler.acquire({ userId: input.userId, taskId: input.taskId, priority: input.priority }, signal);
      try {
        const job = { pcmPath: input.pcmPath, start: chunk.start, end: chunk.end, language, ...(input.options ? { options: input.options } : {}), tag: { taskId: input.taskId, chunk: chunk.index } };
        const partial = (segments: EngineSegment[]) => report({ type: 'CHUNK_PARTIAL', index: chunk.index, segments });
        const result = await deps.engine.run(job, AbortSignal.any([signal, lease.preempted]), partial);
        language ??= result.language ?? undefined;
        report({ type: 'CHUNK_DONE', index: chunk.index, result });
        return;
      } catch (error) {
        signal.throwIfAborted();
        // Live work took the slot back: not this chunk's failure, it queues again.
        if (lease.preempted.aborted) {
          deps.onPreempted?.(chunk.index);
          continue;
        }
        const code = (error as { code?: string }).code;
        // Shutting down is not the chunk's failure: it stays undone, for the next run to resume.
        if (code === 'shutting_down') throw error;
        failures++;
        if (code !== 'engine_crashed' || failures >= MAX_ATTEMPTS) {
          const message = `chunk ${chunk.index} failed after ${failures} attempt(s): ${error instanceof Error ? error.message : String(error)}`;
          report({ type: 'CHUNK_FAILED', index: chunk.index, code: 'engine_failed', message });
          throw error;
        }
        deps.onRetry?.(chunk.index, failures, error);
      } finally {
        lease.release();
      }
    }
  };

  // Without a language, the first chunk detects it alone, so the rest agree.
  if (language === undefined && queue.length > 0) await runOne(queue.shift()!);

  const lanes = Math.max(1, Math.min(deps.engine.slots, queue.length));
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (queue.length > 0 && !signal.aborted) await runOne(queue.shift()!);
    }),
  );
}
