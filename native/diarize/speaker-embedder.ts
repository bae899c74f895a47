// Diarization's heavy part, inside an engine process: the speech windows of a
// task read from its pcm, embedded by the addon's voice encoder (loaded once,
// on the first job), and clustered into speakers. The hub's loop only sends
// the windows and gets a label for each back.
import { createRequire } from 'node:module';
import { concatArrays, readPcmRanges, SAMPLE_RATE } from '../audio/pcm.ts';
import { melFilters } from '../models/mel-filters.ts';
import { readVoiceEncoder, VoiceModelError } from '../models/voice-encoder.ts';
import { addonCandidates } from '../engine/whisper-cpp-addon.ts';
import { clusterSpeakers } from './cluster.ts';

export const EMBEDDING_SIZE = 256;
/** The voice encoder's shortest input: one 10 ms hop. */
const MIN_SAMPLES = 160;

/** The samples, padded with silence to MIN_SAMPLES when shorter. */
function atLeast(samples: Float32Array): Float32Array {
  if (samples.length >= MIN_SAMPLES) return samples;
  const padded = new Float32Array(MIN_SAMPLES);
  padded.set(samples);
  return padded;
}

export interface DiarizeJob {
  pcmPath: string;
  /** the speech windows, in seconds from the start of the audio, in time order */
  windows: [number, number][];
  /** how many speakers, when the caller knows */
  speakers?: number;
  /** what the job is for (shown to operators) */
  tag?: { taskId: string };
}

export interface DiarizeResult {
  /** one per window: 0, 1, … in order of first appearance */
  labels: number[];
  embedMs: number;
  clusterMs: number;
  /** seconds of speech embedded */
  audioSec: number;
}

interface VoiceEncoder {
  embed(samples: Float32Array, regions: Int32Array, threads: number): Promise<Float32Array>;
}

let encoder: Promise<VoiceEncoder> | undefined;

/** The voice encoder of the model file at `path`, loaded once per process; a failure is said every time it is asked for. */
function voiceEncoder(path: string): Promise<VoiceEncoder> {
  encoder ??= (async () => {
    const [addonPath] = addonCandidates();
    if (!addonPath) throw new VoiceModelError('speaker embeddings need the hub\'s whisper.cpp addon, which is not built (npm run build:engine)');
    const addon = createRequire(import.meta.url)(addonPath) as { VoiceEncoder?: new (weights: Float32Array, mel: Float32Array) => VoiceEncoder };
    if (!addon.VoiceEncoder) throw new VoiceModelError('this build of the whisper.cpp addon has no voice encoder (npm run build:engine)');
    const { weights } = await readVoiceEncoder(path);
    return new addon.VoiceEncoder(weights, melFilters(40));
  })();
  return encoder;
}

/** The windows' embeddings (EMBEDDING_SIZE values each, in order). */
export async function embedWindows(job: Pick<DiarizeJob, 'pcmPath' | 'windows'>, modelPath: string, threads: number): Promise<{ embeddings: Float32Array; embedMs: number; audioSec: number }> {
  const model = await voiceEncoder(modelPath);
  const started = performance.now();
  // The windows' samples side by side in one buffer, each at least MIN_SAMPLES long (a window at the very end may be cut short).
  const ranges = job.windows.map(([start, end]) => [Math.floor(start * SAMPLE_RATE), Math.ceil(end * SAMPLE_RATE)] as const);
  const pieces = (await readPcmRanges(job.pcmPath, ranges)).map(atLeast);
  const samples = pieces.length > 0 ? concatArrays(pieces) : new Float32Array(0);
  const regions = new Int32Array(pieces.length * 2);
  let at = 0;
  pieces.forEach((piece, i) => {
    regions[2 * i] = at;
    regions[2 * i + 1] = at += piece.length;
  });
  const embeddings = pieces.length > 0 ? await model.embed(samples, regions, threads) : new Float32Array(0);
  return { embeddings, embedMs: performance.now() - started, audioSec: samples.length / SAMPLE_RATE };
}

export async function diarize(job: DiarizeJob, modelPath: string, threads: number): Promise<DiarizeResult> {
  const { embeddings, embedMs, audioSec } = await embedWindows(job, modelPath, threads);
  const clusterStarted = performance.now();
  const labels = clusterSpeakers(embeddings, EMBEDDING_SIZE, job.speakers !== undefined ? { speakers: job.speakers } : { seconds: job.windows.map(([start, end]) => end - start) });
  return { labels, embedMs, clusterMs: performance.now() - clusterStarted, audioSec };
}

/** One embedding (EMBEDDING_SIZE values) of a stretch of live audio: a final's speech. */
export async function embedSpeech(samples: Float32Array, modelPath: string, threads: number): Promise<Float32Array> {
  const model = await voiceEncoder(modelPath);
  const padded = atLeast(samples);
  return model.embed(padded, Int32Array.from([0, padded.length]), threads);
}
