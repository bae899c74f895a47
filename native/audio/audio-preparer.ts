// Hub side of the audio worker: decodes uploads and plans their chunks in a
// supervised child process, a bounded number at a time. A worker that dies
// (a decoder crash takes only its process down) fails the jobs it held with a
// coded error and is replaced on the next job; the hub goes on.
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { AudioWorkerApi, PreparedAudio } from './audio-worker.ts';
import { ChildWorker } from '../isolates.ts';

export class PrepareError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AudioPreparer {
  private worker: ChildWorker<AudioWorkerApi> | undefined;
  private readonly limit;
  private closed = false;

  constructor(concurrency: number) {
    this.limit = pLimit(concurrency);
  }

  /** Decodes `inputPath` into `pcmPath`; `onStart` fires when a decode slot is free and work begins. */
  prepare(inputPath: string, pcmPath: string, signal: AbortSignal, onStart?: () => void): Promise<PreparedAudio> {
    return this.limit(async () => {
      signal.throwIfAborted();
      if (this.closed) throw new PrepareError('shutting_down', 'the hub is shutting down');
      onStart?.();
      const jobId = randomUUID();
      if (!this.worker?.alive) this.worker = new ChildWorker<AudioWorkerApi>(new URL('./audio-worker.ts', import.meta.url), 'audio worker', { nice: 5 });
      return this.worker.call(async (api) => {
        const cancel = () => void api.cancel(jobId).catch(() => {});
        signal.addEventListener('abort', cancel, { once: true });
        try {
          const outcome = await api.prepare(jobId, inputPath, pcmPath);
          signal.throwIfAborted();
          if (!outcome.ok) throw new PrepareError(outcome.code, outcome.message);
          return outcome.audio;
        } finally {
          signal.removeEventListener('abort', cancel);
        }
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.limit.clearQueue();
    await this.worker?.stop();
  }
}
