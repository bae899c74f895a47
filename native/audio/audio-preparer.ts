// Hub side of the audio workers: decodes uploads and plans their chunks in
// supervised child processes, one job per process at a time, so a decoder
// that crashes (out of memory on a hostile file, say) fails only its own job.
// A crashed job is tried once more on a fresh process; a second crash fails
// it with a coded error. How many decode at once, and in which order, is the
// caller's choice (the hub hands decode slots out fairly between users).
import { randomUUID } from 'node:crypto';
import type { AudioWorkerApi, PreparedAudio, PrepareOutcome } from './audio-worker.ts';
import type { DecodeOptions } from './decode.ts';
import { ChildWorker, WorkerDiedError } from '../isolates.ts';

export class PrepareError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const ATTEMPTS = 2;

export class AudioPreparer {
  /** processes between jobs, kept warm (a start costs ~0.3 s of tsx) */
  private readonly idle: ChildWorker<AudioWorkerApi>[] = [];
  private readonly busy = new Set<ChildWorker<AudioWorkerApi>>();
  private closed = false;

  constructor(
    private readonly options: DecodeOptions,
    private readonly maxIdle: number,
    private readonly onCrash: (inputPath: string, attempt: number, error: unknown) => void = () => {},
  ) {}

  /** Decodes `inputPath` into `pcmPath`. */
  async prepare(inputPath: string, pcmPath: string, signal: AbortSignal): Promise<PreparedAudio> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt(inputPath, pcmPath, signal);
      } catch (error) {
        if (!(error instanceof WorkerDiedError) || signal.aborted || this.closed) throw error;
        this.onCrash(inputPath, attempt, error);
        if (attempt >= ATTEMPTS) throw new PrepareError('internal', `the audio decoder crashed ${ATTEMPTS} times on this recording`);
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.idle.splice(0), ...this.busy].map((w) => w.stop()));
  }

  private async attempt(inputPath: string, pcmPath: string, signal: AbortSignal): Promise<PreparedAudio> {
    signal.throwIfAborted();
    if (this.closed) throw new PrepareError('shutting_down', 'the hub is shutting down');
    const worker = this.take();
    const jobId = randomUUID();
    const cancel = () => void worker.api.cancel(jobId).catch(() => {});
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const outcome = await worker.call<PrepareOutcome>((api) => api.prepare(jobId, inputPath, pcmPath, this.options));
      signal.throwIfAborted();
      if (!outcome.ok) throw new PrepareError(outcome.code, outcome.message);
      return outcome.audio;
    } finally {
      signal.removeEventListener('abort', cancel);
      this.give(worker);
    }
  }

  private take(): ChildWorker<AudioWorkerApi> {
    let worker = this.idle.pop();
    while (worker && !worker.alive) worker = this.idle.pop();
    worker ??= new ChildWorker<AudioWorkerApi>(new URL('./audio-worker.ts', import.meta.url), 'audio worker', { nice: 5 });
    this.busy.add(worker);
    return worker;
  }

  private give(worker: ChildWorker<AudioWorkerApi>): void {
    this.busy.delete(worker);
    if (worker.alive && !this.closed && this.idle.length < this.maxIdle) this.idle.push(worker);
    else worker.kill();
  }
}
