// Child-process entry of an engine worker: loads each model once with the
// implementation it is told (ENGINE_IMPL: the hub's whisper.cpp addon, or
// @napi-rs/whisper) and transcribes chunks, reached through Comlink over IPC.
// A process, not a worker thread: a native crash takes only this process
// down, and the pool replaces it. With the addon several jobs run at once on
// one loaded model, a run can be aborted inside whisper, and segments are
// sent to the parent as whisper emits them; with @napi-rs/whisper the pool
// runs one job at a time and kills the process to stop one.
import { exposeToParent } from '../endpoints.ts';
import { readPcmRange, SAMPLE_RATE } from '../audio/pcm.ts';
import type { EngineJob, EngineResult, EngineSegment } from './types.ts';
import type { Backend, BackendParams, BackendRun } from './backend.ts';
import { snapStartsToSpeech } from './snap-to-speech.ts';
import { isRunaway } from './runaway.ts';
import { openNapiRs } from './napi-rs-backend.ts';
import { openWhisperCpp } from './whisper-cpp-backend.ts';
import { addonCandidates, findAddon, loadAddon } from './whisper-cpp-addon.ts';
import { SEGMENTS_EVENT, type SegmentsEvent } from './engine-events.ts';
import { diarize, embedSpeech, type DiarizeJob, type DiarizeResult } from '../diarize/speaker-embedder.ts';

/** dlopen's failures (a missing library, a wrong ABI), as opposed to a model that does not load. */
const isLoadError = (error: unknown) => (error as { code?: string }).code === 'ERR_DLOPEN_FAILED';

/** the models to load, by path; the first is the default */
const modelPaths = parseModelPaths(process.env.ENGINE_MODELS ?? '[]');
const threads = Number(process.env.ENGINE_THREADS ?? '1');

const backends = new Map<string, Backend>();
let loadError: string | undefined;
const loadStarted = performance.now();
try {
  const openModel = opener(process.env.ENGINE_IMPL === 'whisper.cpp' ? 'whisper.cpp' : 'napi-rs', modelPaths[0] ?? '');
  for (const path of modelPaths) backends.set(path, openModel(path));
} catch (error) {
  loadError = error instanceof Error ? error.message : String(error);
}
const loadMs = performance.now() - loadStarted;
const defaultBackend = backends.get(modelPaths[0] ?? '');

function parseModelPaths(json: string): string[] {
  const paths: unknown = JSON.parse(json);
  return Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
}

/**
 * How this process opens a model: the addon when asked for and loadable
 * (tried on the first model), else @napi-rs/whisper, saying why. A model that
 * cannot load throws.
 */
function opener(impl: 'whisper.cpp' | 'napi-rs', first: string): (path: string) => Backend {
  if (impl === 'napi-rs') return (path) => openNapiRs(path);
  const candidates = addonCandidates();
  if (candidates.length === 0) {
    const { missing } = findAddon() as { missing: string };
    return (path) => openNapiRs(path, missing);
  }
  // A CUDA build whose libraries are missing here gives way to the CPU build.
  const failures: string[] = [];
  for (const file of candidates) {
    try {
      const addon = loadAddon(file);
      const dtw = process.env.ENGINE_WORD_TIMING === 'dtw';
      const opened = openWhisperCpp(addon, first, { dtw });
      return (path) => (path === first ? opened : openWhisperCpp(addon, path, { dtw }));
    } catch (error) {
      if (!isLoadError(error)) throw error; // the model itself
      failures.push(`${file}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  const reason = `the whisper.cpp addon does not load (${failures.join('; ')})`;
  return (path) => openNapiRs(path, reason);
}

const failedLoad = () => new Error(`cannot load the model ${modelPaths.join(', ')}: ${loadError}`);

/** Runs in progress, by the pool's job id: what abort() stops. */
const running = new Map<number, BackendRun>();

const api = {
  info() {
    if (!defaultBackend) throw failedLoad();
    return {
      pid: process.pid,
      loadMs,
      models: modelPaths.length,
      threads,
      engine: defaultBackend.info,
      abortable: defaultBackend.info.impl === 'whisper.cpp',
      concurrent: defaultBackend.concurrent,
    };
  },

  /** GPU memory in use now (the device's), for the admin view and /metrics. */
  deviceMemory(): number | undefined {
    return defaultBackend?.deviceMemoryUsedBytes?.();
  },

  /** Stops job `id` inside whisper; false when it is not running or cannot be stopped so. */
  abort(id: number): boolean {
    return running.get(id)?.abort() ?? false;
  },

  /** Speakers of a task's speech windows (its own job kind; the voice encoder is loaded on the first). */
  async diarize(job: DiarizeJob): Promise<DiarizeResult> {
    const model = process.env.ENGINE_VOICE_MODEL;
    if (!model) throw new Error('no speaker model is configured (HUB_VOICE_MODEL)');
    return diarize(job, model, threads);
  },

  /** The speaker embedding of a live final's audio. */
  async embedSpeech(samples: Float32Array): Promise<Float32Array> {
    const model = process.env.ENGINE_VOICE_MODEL;
    if (!model) throw new Error('no speaker model is configured (HUB_VOICE_MODEL)');
    return embedSpeech(samples, model, threads);
  },

  /** `stream`: send the chunk's segments to the parent as whisper emits them (SEGMENTS_EVENT, under `id`). */
  async transcribe(job: EngineJob, id = 0, stream = false): Promise<EngineResult> {
    if (!defaultBackend) throw failedLoad();
    const backend = job.model === undefined ? defaultBackend : backends.get(job.model);
    if (!backend) throw new Error(`this engine worker has no model ${job.model}`);
    const started = performance.now();
    const audio = 'samples' in job ? job.samples : await readPcmRange(job.pcmPath, job.start, job.end);
    const audioSec = audio.length / SAMPLE_RATE;
    const input = padToMinimum(audio);
    const fit = 'samples' in job && job.fitContext === true;
    const params = backendParams(job, backend);
    const heardSoFar = stream ? streamer(id, audio, audioSec) : undefined;
    let result = await pass(backend, input, params, fit, id, heardSoFar);
    // A decoder loop on a shrunken context: once more with the whole context.
    if (fit && !result.aborted && isRunaway(textOf(result.segments), audioSec)) result = await pass(backend, input, params, false, id);
    if (result.aborted) throw new Error('the run was aborted');
    return {
      segments: kept(result.segments, audio, audioSec),
      language: backend.multilingual ? result.language : 'en',
      engineMs: performance.now() - started,
      audioSec,
    };
  },
};

export type EngineApi = typeof api;

/** The job's language and transcription options, as the backend takes them. */
function backendParams(job: EngineJob, backend: Backend): Omit<BackendParams, 'threads'> {
  const o = job.options ?? {};
  return {
    language: job.language ?? (backend.multilingual ? 'auto' : 'en'),
    ...(o.translate ? { translate: true } : {}),
    ...(o.prompt ? { prompt: o.prompt } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.beam ? { beamSize: o.beam } : {}),
  };
}

/** What a chunk's text is made of: whisper's segments less what is not speech, inside the chunk, starting where speech does. */
function kept(segments: EngineSegment[], audio: Float32Array, audioSec: number): EngineSegment[] {
  return snapStartsToSpeech(clampToChunk(dropNoSpeech(segments), audioSec), audio).map(wordsInside);
}

/**
 * Hears each segment of a run and sends the parent everything kept so far
 * (the list replaces the last one). A run that turns out to be a decoder loop
 * says nothing more: its text is about to be thrown away.
 */
function streamer(id: number, audio: Float32Array, audioSec: number): (segment: EngineSegment) => void {
  const heard: EngineSegment[] = [];
  return (segment) => {
    heard.push(segment);
    if (isRunaway(textOf(heard), audioSec)) return;
    const event: SegmentsEvent = { [SEGMENTS_EVENT]: id, segments: kept(heard, audio, audioSec) };
    process.send?.(event);
  };
}

async function pass(backend: Backend, input: Float32Array, params: Omit<BackendParams, 'threads'>, fitContext: boolean, id: number, onSegment?: (segment: EngineSegment) => void) {
  const seconds = input.length / SAMPLE_RATE;
  // 50 encoder positions per second of audio, a little slack, whisper's 1500 at most; never under
  // MIN_FITTED_SEC worth: on a context fitted to 1–3 s whisper loops and invents words (live WER 10.9%
  // against 7.6% with 8 s, and the loop's rerun at the whole context made the short passes the slowest).
  // Speech is under ~6 tokens a second: a cap well above that makes a decoder loop cheap to catch.
  // A live pass never falls back to higher temperatures (each retry costs a pass or more; the next pass
  // comes 0.5 s later): a decoder loop is caught and run again with the whole context instead.
  const fitted = fitContext ? { audioCtx: Math.min(1500, Math.ceil(Math.max(seconds, MIN_FITTED_SEC) * 50) + 32), maxTokens: Math.ceil(seconds * 10) + 10, fallback: false } : {};
  const run = backend.run(input, { threads, ...params, ...fitted }, onSegment);
  running.set(id, run);
  try {
    return await run.done;
  } finally {
    running.delete(id);
  }
}

/** The shortest context a fitted pass gets, in seconds of audio (measured: docs/decisions.md). */
const MIN_FITTED_SEC = 8;

const textOf = (segments: EngineSegment[]) => segments.map((s) => s.text).join('');

/**
 * This whisper.cpp build skips input of 1 s or less (measured: 16,000 samples
 * give nothing, 17,000 transcribe), and then repeats the previous call's text:
 * pad short chunks with silence.
 */
function padToMinimum(audio: Float32Array): Float32Array {
  const minimum = SAMPLE_RATE * 1.25;
  if (audio.length >= minimum) return audio;
  const padded = new Float32Array(minimum);
  padded.set(audio);
  return padded;
}

/**
 * whisper's own rule (openai/whisper transcribe.py): text the model thinks is
 * not speech (no-speech probability over 0.6) and is unsure of (mean log
 * probability under -1) is dropped — the "Thank you." it hears in silence.
 */
export function dropNoSpeech(segments: EngineSegment[]): EngineSegment[] {
  return segments.filter((s) => !(s.noSpeechProb !== undefined && s.avgLogprob !== undefined && s.noSpeechProb > 0.6 && s.avgLogprob < -1));
}

/** whisper.cpp's marker for audio without speech, and whole-segment sound captions ("(wind howling)", "[music]", "♪"): not words anybody said */
const NOT_SPEECH = /^(\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|[♪♫\s]+)$/;

/**
 * Seconds from the chunk's start; whisper's times may run past the chunk (its
 * window is 30 s whatever the audio), so clamp them, drop what starts after the
 * end, and keep segments ordered and non-overlapping.
 */
export function clampToChunk(segments: EngineSegment[], audioSec: number): EngineSegment[] {
  const out: EngineSegment[] = [];
  let lastEnd = 0;
  for (const s of segments) {
    const text = s.text.trim();
    if (NOT_SPEECH.test(text)) continue;
    const start = Math.max(lastEnd, Math.min(s.start, audioSec));
    const end = Math.max(start, Math.min(s.end, audioSec));
    if (!text || start >= audioSec) continue;
    out.push({ ...s, start, end, text });
    lastEnd = end;
  }
  return out;
}

/** Words stay inside their segment, in order (the segment's start may have moved to where speech resumes). */
export function wordsInside(segment: EngineSegment): EngineSegment {
  const s = { ...segment, start: round(segment.start), end: round(segment.end) };
  if (!s.words) return s;
  let floor = s.start;
  const words = s.words.map((w) => {
    const start = Math.min(s.end, Math.max(floor, round(w.start)));
    const end = Math.min(s.end, Math.max(start, round(w.end)));
    floor = end;
    return { ...w, start, end };
  });
  return { ...s, words };
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

exposeToParent(api);
