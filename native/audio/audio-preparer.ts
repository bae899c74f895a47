// Hub side of the audio worker: a supervised worker thread that decodes uploads
// and plans their chunks, a bounded number at a time. A worker that dies fails
// the jobs it held (with a coded error) and is replaced; the hub goes on.
import type { Worker } from 'node:worker_threads';
import { randomUUID } from 'node:crypto';
import * as Comlink from 'comlink';
import pLimit from 'p-limit';
import type { AudioWorkerApi, PreparedAudio } from './audio-worker.ts';
import { startTsWorker } from '../isolates.ts';
import { portEndpoint } from '../endpoints.ts';

export class PrepareError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Running {
  worker: Worker;
  api: Comlink.Remote<AudioWorkerApi>;
  died: Promise<never>;
}

export class AudioPreparer {
  private running: Running | undefined;
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
      const { api, died } = this.worker();
      const jobId = randomUUID();
      const cancel = () => void api.cancel(jobId).catch(() => {});
      signal.addEventListener('abort', cancel, { once: true });
      try {
        const outcome = await Promise.race([api.prepare(jobId, inputPath, pcmPath), died]);
        signal.throwIfAborted();
        if (!outcome.ok) throw new PrepareError(outcome.code, outcome.message);
        return outcome.audio;
      } finally {
        signal.removeEventListener('abort', cancel);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.limit.clearQueue();
    const r = this.running;
    this.running = undefined;
    if (r) await r.worker.terminate();
  }

  private worker(): Running {
    if (this.running) return this.running;
    const worker = startTsWorker('./audio/audio-worker.ts');
    const died = new Promise<never>((_, reject) => {
      const fail = (why: string) => {
        if (this.running?.worker === worker) this.running = undefined;
        reject(new PrepareError('internal', `the audio worker stopped (${why})`));
      };
      worker.once('error', (e) => fail(e.message));
      worker.once('exit', (code) => fail(`exit ${code}`));
    });
    died.catch(() => {}); // observed by whoever races it
    worker.unref();
    this.running = { worker, api: Comlink.wrap<AudioWorkerApi>(portEndpoint(worker)), died };
    return this.running;
  }
}
