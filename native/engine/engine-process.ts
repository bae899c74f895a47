// Child-process entry of an engine worker: loads the whisper.cpp model once and
// transcribes chunks, reached through Comlink over IPC. A process, not a worker
// thread, because whisper.cpp cannot be interrupted and a native abort takes its
// whole process down: the pool SIGKILLs and replaces us, and the hub survives.
import { Whisper, WhisperFullParams, WhisperSamplingStrategy, type Segment as NativeSegment } from '@napi-rs/whisper';
import { exposeToParent } from '../endpoints.ts';
import { readPcmRange, SAMPLE_RATE } from '../audio/pcm.ts';
import type { EngineJob, EngineResult, EngineSegment } from './types.ts';
import { snapStartsToSpeech } from './snap-to-speech.ts';
import { isRunaway } from './runaway.ts';

const modelPath = process.env.ENGINE_MODEL_PATH ?? '';
const threads = Number(process.env.ENGINE_THREADS ?? '1');

let whisper: Whisper | undefined;
let loadError: string | undefined;
const loadStarted = performance.now();
try {
  whisper = new Whisper(modelPath);
} catch (error) {
  loadError = error instanceof Error ? error.message : String(error);
}
const loadMs = performance.now() - loadStarted;
/** English-only models (tiny.en, base.en, ...) cannot detect a language: asked to, they guess nonsense. */
const multilingual = whisper?.isMultilingual === 1;

const api = {
  info() {
    if (!whisper) throw new Error(`cannot load the model ${modelPath}: ${loadError}`);
    return { pid: process.pid, loadMs, multilingual, threads };
  },

  async transcribe(job: EngineJob): Promise<EngineResult> {
    if (!whisper) throw new Error(`model not loaded: ${loadError}`);
    const started = performance.now();
    const audio = 'samples' in job ? job.samples : await readPcmRange(job.pcmPath, job.start, job.end);
    const audioSec = audio.length / SAMPLE_RATE;
    const input = padToMinimum(audio);
    const fit = 'samples' in job && job.fitContext === true;
    let { text, native } = await run(whisper, input, job.language, fit);
    // A decoder loop on a shrunken context: once more with the whole context.
    if (fit && isRunaway(text, audioSec)) ({ text, native } = await run(whisper, input, job.language, false));
    return {
      segments: snapStartsToSpeech(clampToChunk(native, text, audioSec), audio),
      language: multilingual ? (Whisper.lang(whisper.fullLangId) ?? null) : 'en',
      engineMs: performance.now() - started,
      audioSec,
    };
  },
};

export type EngineApi = typeof api;

async function run(whisper: Whisper, input: Float32Array, language: string | undefined, fitContext: boolean) {
  const params = new WhisperFullParams(WhisperSamplingStrategy.Greedy);
  params.nThreads = threads;
  // 50 encoder positions per second of audio, a little slack, whisper's 1500 at most.
  if (fitContext) {
    params.audioCtx = Math.min(1500, Math.ceil((input.length / SAMPLE_RATE) * 50) + 32);
    // Speech is under ~6 tokens a second: a cap well above that makes a decoder loop cheap to catch.
    params.maxTokens = Math.ceil((input.length / SAMPLE_RATE) * 10) + 10;
  }
  params.language = language ?? (multilingual ? 'auto' : 'en');
  params.printProgress = false;
  params.printRealtime = false;
  params.printTimestamps = false;
  params.printSpecial = false;
  const received: NativeSegment[] = [];
  params.onNewSegment = (s) => received.push(s);
  const text = whisper.full(params, input);
  return { text, native: await collectSegments(received, text) };
}

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

const squash = (s: string) => s.replace(/\s+/g, '');

/**
 * Segment callbacks arrive on the event loop after `full()` returns: wait until
 * they add up to the returned text (a turn or two), but never long.
 */
async function collectSegments(received: NativeSegment[], text: string): Promise<NativeSegment[] | undefined> {
  const want = squash(text);
  const deadline = performance.now() + 500;
  while (squash(received.map((s) => s.text).join('')) !== want) {
    if (performance.now() > deadline) return undefined;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return received;
}

/** whisper.cpp's marker for audio without speech: not a word anybody said */
const NOT_SPEECH = /^\[BLANK_AUDIO\]$/;

/**
 * Seconds from the chunk's start; whisper's centisecond times may run past the
 * chunk (its window is 30 s whatever the audio), so clamp them, drop what starts
 * after the end, and keep segments ordered and non-overlapping.
 */
export function clampToChunk(native: NativeSegment[] | undefined, text: string, audioSec: number): EngineSegment[] {
  const source = native ?? [{ start: 0, end: Math.round(audioSec * 100), text }];
  const out: EngineSegment[] = [];
  let lastEnd = 0;
  for (const s of source) {
    const t = s.text.trim();
    if (NOT_SPEECH.test(t)) continue;
    const start = Math.max(lastEnd, Math.min(s.start / 100, audioSec));
    const end = Math.max(start, Math.min(s.end / 100, audioSec));
    if (!t || start >= audioSec) continue;
    out.push({ start, end, text: t });
    lastEnd = end;
  }
  return out;
}

exposeToParent(api);
