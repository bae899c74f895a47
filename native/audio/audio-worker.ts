// Child-process entry of the audio worker: turns an uploaded file into the
// spool's pcm and a chunk plan. Reached from the hub through Comlink over IPC;
// all decoding CPU and memory stays here. One job at a time per process, so a
// crash (a decoder that runs out of memory) takes down only its own job.
import { AudioTooLongError, decodeToPcm, UnsupportedAudioError, type DecodeOptions } from './decode.ts';
import { planChunks, type ChunkPlan } from './chunk-planner.ts';
import { samplesToSeconds } from './pcm.ts';
import { exposeToParent } from '../endpoints.ts';

export interface PreparedAudio {
  samples: number;
  durationSec: number;
  chunks: ChunkPlan[];
  decoder: string;
}

export type PrepareOutcome = { ok: true; audio: PreparedAudio } | { ok: false; code: string; message: string };

const running = new Map<string, AbortController>();

const api = {
  async prepare(jobId: string, inputPath: string, pcmPath: string, options: DecodeOptions): Promise<PrepareOutcome> {
    const abort = new AbortController();
    running.set(jobId, abort);
    try {
      const decoded = await decodeToPcm(inputPath, pcmPath, options, abort.signal);
      const chunks = planChunks(decoded.energies, decoded.samples);
      return { ok: true, audio: { samples: decoded.samples, durationSec: samplesToSeconds(decoded.samples), chunks, decoder: decoded.decoder } };
    } catch (error) {
      if (abort.signal.aborted) return { ok: false, code: 'cancelled', message: 'cancelled' };
      if (error instanceof UnsupportedAudioError || error instanceof AudioTooLongError) return { ok: false, code: error.code, message: error.message };
      return { ok: false, code: 'internal', message: error instanceof Error ? error.message : String(error) };
    } finally {
      running.delete(jobId);
    }
  },

  cancel(jobId: string): void {
    running.get(jobId)?.abort();
  },
};

export type AudioWorkerApi = typeof api;

exposeToParent(api);
