// Hub side of Silero VAD: one supervised worker process runs the model for
// every live stream (silero-worker.ts); each stream gets a `SileroVad`, which
// cuts its audio into the model's 32 ms frames, sends them, and turns the
// speech probabilities into utterances with the shared gate (hysteresis as
// Silero's own wrapper: 0.5 opens, under 0.35 counts as silence). Never runs
// inference here. If the worker fails mid-stream, that stream goes on with the
// energy detector from that point (said once in the log), and the next stream
// gets a fresh worker (at most one start per RESTART_BACKOFF_MS).
import { createRequire } from 'node:module';
import type { Remote } from 'comlink';
import { randomUUID } from 'node:crypto';
import { ChildWorker, WorkerDiedError } from '../isolates.ts';
import type { SileroWorkerApi } from './silero-worker.ts';
import { EnergyVad, SpeechGate, type GateOptions, type VadEvent, type VoiceDetector } from './vad.ts';
import { concatArrays } from './pcm.ts';

/** samples per model frame (32 ms at 16 kHz) */
export const SILERO_FRAME = 512;
const RESTART_BACKOFF_MS = 5_000;

export interface SileroOptions extends GateOptions {
  /** probability that counts as speech */
  threshold: number;
  /** under this, a frame counts as silence (between the two, speech goes on) */
  negThreshold: number;
}

export const DEFAULT_SILERO_VAD: SileroOptions = { threshold: 0.5, negThreshold: 0.35, onsetFrames: 2, endSilenceMs: 600, padMs: 100 };

/** Silero v5, as @ricky0123/vad-web ships it (a pinned dependency: the hub never downloads it). */
export const sileroModelPath = (): string => createRequire(import.meta.url).resolve('@ricky0123/vad-web/dist/silero_vad_v5.onnx');

export class SileroService {
  private worker: ChildWorker<SileroWorkerApi> | undefined;
  private lastStart = 0;
  private closed = false;
  private restarts = -1;

  private constructor(private readonly modelPath: string) {}

  /** Starts the worker and loads the model; rejects with the reason when it cannot (no runtime, no model file). */
  static async start(modelPath = sileroModelPath()): Promise<SileroService> {
    const service = new SileroService(modelPath);
    try {
      await service.call((api) => api.ready());
    } catch (error) {
      await service.close();
      throw error;
    }
    return service;
  }

  /**
   * A detector for one stream whose next sample is at `startAt` (a resumed
   * session goes on from where it was). `onFallback` hears once if it has to
   * go on without the model.
   */
  detector(startAt = 0, options: Partial<SileroOptions> = {}, onFallback?: (error: unknown) => void): SileroVad {
    return new SileroVad(this, { ...DEFAULT_SILERO_VAD, ...options }, startAt, onFallback);
  }

  probabilities(streamId: string, frames: Float32Array): Promise<Float32Array> {
    return this.call((api) => api.probabilities(streamId, frames));
  }

  forget(streamId: string): void {
    if (this.worker?.alive) void this.worker.api.forget(streamId).catch(() => {});
  }

  stats(): { pid: number | undefined; restarts: number } {
    return { pid: this.worker?.pid, restarts: Math.max(0, this.restarts) };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker?.stop();
  }

  private call<R>(use: (api: Remote<SileroWorkerApi>) => Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new WorkerDiedError('the VAD worker is closed'));
    if (!this.worker?.alive) {
      if (Date.now() - this.lastStart < RESTART_BACKOFF_MS) return Promise.reject(new WorkerDiedError('the VAD worker is restarting'));
      this.lastStart = Date.now();
      this.restarts++;
      this.worker = new ChildWorker<SileroWorkerApi>(new URL('./silero-worker.ts', import.meta.url), 'VAD worker', { env: { SILERO_MODEL_PATH: this.modelPath } });
    }
    return this.worker.call(use);
  }
}

export class SileroVad implements VoiceDetector {
  private readonly id = randomUUID();
  private readonly gate: SpeechGate;
  private pending = new Float32Array(0);
  private frames = 0; // frames sent so far
  private fallback: EnergyVad | undefined;
  private queue: Promise<unknown> = Promise.resolve(); // one call at a time: the model state is sequential

  constructor(
    private readonly service: SileroService,
    private readonly o: SileroOptions,
    private readonly startAt: number,
    private readonly onFallback?: (error: unknown) => void,
  ) {
    this.gate = new SpeechGate(o);
  }

  push(samples: Float32Array): Promise<VadEvent[]> {
    const result = this.queue.then(() => this.detect(samples));
    this.queue = result.catch(() => {});
    return result;
  }

  close(): void {
    this.service.forget(this.id);
  }

  private async detect(samples: Float32Array): Promise<VadEvent[]> {
    if (this.fallback) return this.fallback.push(samples);
    const data = this.pending.length ? concatArrays([this.pending, samples]) : samples;
    const whole = data.length - (data.length % SILERO_FRAME);
    this.pending = data.slice(whole);
    if (whole === 0) return [];
    const first = this.frames;
    this.frames += whole / SILERO_FRAME;
    let probabilities: Float32Array;
    try {
      probabilities = await this.service.probabilities(this.id, data.slice(0, whole));
    } catch (error) {
      // Go on without the model from here; an utterance in progress ends where the model stopped.
      this.onFallback?.(error);
      const at = this.startAt + first * SILERO_FRAME;
      this.fallback = new EnergyVad({ endSilenceMs: this.o.endSilenceMs }, this.startAt + this.frames * SILERO_FRAME);
      this.fallback.push(this.pending);
      this.pending = new Float32Array(0);
      return this.gate.inSpeech ? [{ type: 'end', at }] : [];
    }
    const events: VadEvent[] = [];
    probabilities.forEach((p, i) => {
      const event = this.gate.frame(this.startAt + (first + i) * SILERO_FRAME, SILERO_FRAME, p >= this.o.threshold, p >= this.o.negThreshold);
      if (event) events.push(event);
    });
    return events;
  }
}
