// Where the hub's whisper.cpp addon is and what it offers (the binding is
// native/engine/addon/whisper-addon.cc, built by scripts/build-engine.mjs).
// Finding it reads only files; loading it (`loadAddon`) happens in the engine
// process, never on the hub's loop. A CUDA build is preferred over the CPU
// one when both exist; on a machine without a GPU it runs on the CPU.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'addon', 'build');

/** Centiseconds from the start of the audio, as whisper.cpp counts. */
export interface AddonWord {
  text: string;
  t0: number;
  t1: number;
  p: number;
}

export interface AddonSegment {
  t0: number;
  t1: number;
  text: string;
  noSpeechProb: number;
  avgLogprob: number;
  words: AddonWord[];
}

export interface AddonRunOptions {
  threads: number;
  /** '' or absent: detect */
  language?: string;
  translate?: boolean;
  audioCtx?: number;
  maxTokens?: number;
  temperature?: number;
  temperatureInc?: number;
  beamSize?: number;
  bestOf?: number;
  prompt?: string;
}

export interface AddonRun {
  done: Promise<{ segments: AddonSegment[]; language: string; aborted: boolean }>;
  abort(): void;
}

export interface AddonModel {
  readonly multilingual: boolean;
  readonly type: string;
  /** whisper states created so far: one per job that ran at once, and one per state replaced because it had encoded past a run's context */
  readonly states: number;
  transcribe(samples: Float32Array, options: AddonRunOptions, onSegment?: (segment: AddonSegment) => void): AddonRun;
  close(): void;
}

export interface AddonDevice {
  name: string;
  description: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel';
  memoryFree: number;
  memoryTotal: number;
}

export interface WhisperAddon {
  Model: new (path: string, options?: { useGpu?: boolean; gpuDevice?: number; flashAttn?: boolean; dtw?: boolean }) => AddonModel;
  devices(): AddonDevice[];
  version: string;
  backend: 'cpu' | 'cuda';
  systemInfo: string;
}

/** The built addon's files, CUDA first. WHISPER_HUB_ADDON names another file (tests use it to take the addon away). */
export function addonCandidates(): string[] {
  const named = process.env.WHISPER_HUB_ADDON;
  if (named) return existsSync(named) ? [named] : [];
  return ['cuda', 'cpu'].map((variant) => join(BUILD_DIR, variant, 'Release', 'whisper_hub.node')).filter((path) => existsSync(path));
}

/** The addon to try first, or why there is none. */
export function findAddon(): { path: string } | { missing: string } {
  const [path] = addonCandidates();
  if (path) return { path };
  if (process.env.WHISPER_HUB_ADDON) return { missing: `the whisper.cpp addon ${process.env.WHISPER_HUB_ADDON} (WHISPER_HUB_ADDON) does not exist` };
  try {
    const status = JSON.parse(readFileSync(join(BUILD_DIR, 'status.json'), 'utf8')) as { error?: string };
    return { missing: `the whisper.cpp addon is not built: ${status.error ?? 'unknown reason'} (npm run build:engine)` };
  } catch {
    return { missing: 'the whisper.cpp addon is not built (npm run build:engine)' };
  }
}

export function loadAddon(path: string): WhisperAddon {
  return createRequire(import.meta.url)(path) as WhisperAddon;
}
