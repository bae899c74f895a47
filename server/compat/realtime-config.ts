// The settings of an OpenAI Realtime transcription session, as its two
// dialects write them: the beta `transcription_session.update` (flat fields,
// `input_audio_format: "pcm16"`) and the GA `session.update` (`session.audio.input`).
// Parsed from an update, checked (the field at fault is named as OpenAI names
// it), echoed back in the client's dialect, and turned into what a hub live
// session needs. Pure.
import { z } from 'zod';
import { LANGUAGES } from '../../client/protocol/types.ts';
import type { TurnOptions } from '../../actors/live-transcriber.ts';
import type { RawFormat } from '../../native/audio/pcm-input.ts';

export type Dialect = 'beta' | 'ga';

export interface ServerVad {
  type: 'server_vad' | 'semantic_vad';
  threshold: number;
  prefix_padding_ms: number;
  silence_duration_ms: number;
  eagerness?: string;
}

export interface RealtimeConfig {
  format: Extract<RawFormat, 's16le' | 'mulaw' | 'alaw'>;
  rate: number;
  /** the model as the client named it */
  model: string;
  language?: string;
  prompt?: string;
  /** null: no turn detection, the client commits */
  turn: ServerVad | null;
  noiseReduction: { type?: string } | null;
  include: string[];
}

/** OpenAI's documented defaults for a transcription session. */
export const DEFAULT_CONFIG: RealtimeConfig = {
  format: 's16le',
  rate: 24_000,
  model: 'whisper-1',
  turn: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 },
  noiseReduction: null,
  include: [],
};

/** semantic_vad's eagerness as the silence that ends a turn. */
const EAGERNESS_MS: Record<string, number> = { low: 1000, medium: 600, auto: 600, high: 300 };

const transcription = z.object({ model: z.string().max(200).optional(), language: z.string().max(20).optional(), prompt: z.string().max(800, 'prompt is limited to 800 characters').optional() }).nullish();
const turnDetection = z
  .object({
    type: z.string().max(40).optional(),
    threshold: z.number().optional(),
    prefix_padding_ms: z.number().optional(),
    silence_duration_ms: z.number().optional(),
    eagerness: z.string().max(20).optional(),
  })
  .nullish();
const noise = z.object({ type: z.string().max(40).optional() }).nullish();
const include = z.array(z.string().max(100)).max(8).nullish();

export const betaSessionSchema = z.object({
  input_audio_format: z.string().max(40).optional(),
  input_audio_transcription: transcription,
  turn_detection: turnDetection,
  input_audio_noise_reduction: noise,
  include,
});

export const gaSessionSchema = z.object({
  type: z.string().max(40).optional(),
  audio: z
    .object({
      input: z
        .object({
          format: z.object({ type: z.string().max(40).optional(), rate: z.number().optional() }).optional(),
          transcription,
          turn_detection: turnDetection,
          noise_reduction: noise,
        })
        .optional(),
    })
    .optional(),
  include,
});

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly param: string,
  ) {
    super(message);
  }
}

/** A beta update applied to `config`; throws ConfigError naming the field. */
export function applyBeta(config: RealtimeConfig, s: z.infer<typeof betaSessionSchema>): RealtimeConfig {
  const next = { ...config };
  if (s.input_audio_format !== undefined) {
    const formats: Record<string, Pick<RealtimeConfig, 'format' | 'rate'>> = { pcm16: { format: 's16le', rate: 24_000 }, g711_ulaw: { format: 'mulaw', rate: 8000 }, g711_alaw: { format: 'alaw', rate: 8000 } };
    const format = formats[s.input_audio_format];
    if (!format) throw new ConfigError('input_audio_format must be pcm16, g711_ulaw or g711_alaw', 'session.input_audio_format');
    Object.assign(next, format);
  }
  if (s.input_audio_transcription !== undefined) applyTranscription(next, s.input_audio_transcription, 'session.input_audio_transcription');
  if (s.turn_detection !== undefined) next.turn = turnOf(s.turn_detection, config.turn, 'session.turn_detection');
  if (s.input_audio_noise_reduction !== undefined) next.noiseReduction = s.input_audio_noise_reduction ?? null;
  if (s.include !== undefined) next.include = s.include ?? [];
  return next;
}

/** A GA update applied to `config`; throws ConfigError naming the field. */
export function applyGa(config: RealtimeConfig, s: z.infer<typeof gaSessionSchema>): RealtimeConfig {
  if (s.type !== undefined && s.type !== 'transcription') {
    throw new ConfigError('this hub runs transcription sessions only (session.type "transcription"): it has no speech-to-speech model', 'session.type');
  }
  const next = { ...config };
  const input = s.audio?.input;
  if (input?.format) {
    const type = input.format.type ?? 'audio/pcm';
    if (type === 'audio/pcm') {
      const rate = input.format.rate ?? 24_000;
      if (!Number.isInteger(rate) || rate < 8000 || rate > 192_000) throw new ConfigError('rate must be a whole number of Hz from 8000 to 192000 (OpenAI sends 24000)', 'session.audio.input.format.rate');
      Object.assign(next, { format: 's16le', rate });
    } else if (type === 'audio/pcmu' || type === 'audio/pcma') Object.assign(next, { format: type === 'audio/pcmu' ? 'mulaw' : 'alaw', rate: 8000 });
    else throw new ConfigError('format.type must be audio/pcm, audio/pcmu or audio/pcma', 'session.audio.input.format.type');
  }
  if (input?.transcription !== undefined) applyTranscription(next, input.transcription, 'session.audio.input.transcription');
  if (input?.turn_detection !== undefined) next.turn = turnOf(input.turn_detection, config.turn, 'session.audio.input.turn_detection');
  if (input?.noise_reduction !== undefined) next.noiseReduction = input.noise_reduction ?? null;
  if (s.include !== undefined) next.include = s.include ?? [];
  return next;
}

function applyTranscription(next: RealtimeConfig, t: z.infer<typeof transcription>, param: string): void {
  if (!t) return;
  if (t.model !== undefined) next.model = t.model;
  if (t.language !== undefined) {
    const language = t.language.toLowerCase();
    if (language && !LANGUAGES.includes(language)) throw new ConfigError('language must be an ISO-639-1 code whisper knows (en, de, fr, ...)', `${param}.language`);
    next.language = language || undefined;
  }
  if (t.prompt !== undefined) next.prompt = t.prompt || undefined;
}

function turnOf(t: z.infer<typeof turnDetection>, previous: ServerVad | null, param: string): ServerVad | null {
  if (!t) return null;
  const type = t.type ?? previous?.type ?? 'server_vad';
  if (type !== 'server_vad' && type !== 'semantic_vad') throw new ConfigError('turn_detection.type must be server_vad or semantic_vad (or turn_detection null)', `${param}.type`);
  const base = previous ?? DEFAULT_CONFIG.turn!;
  const threshold = t.threshold ?? base.threshold;
  if (threshold < 0.05 || threshold > 0.95) throw new ConfigError('threshold must be from 0.05 to 0.95', `${param}.threshold`);
  const eagerness = type === 'semantic_vad' ? (t.eagerness ?? 'auto') : undefined;
  if (eagerness !== undefined && !(eagerness in EAGERNESS_MS)) throw new ConfigError('eagerness must be low, medium, high or auto', `${param}.eagerness`);
  const silence = eagerness !== undefined ? EAGERNESS_MS[eagerness]! : (t.silence_duration_ms ?? base.silence_duration_ms);
  if (!Number.isInteger(silence) || silence < 100 || silence > 5000) throw new ConfigError('silence_duration_ms must be a whole number from 100 to 5000', `${param}.silence_duration_ms`);
  const padding = t.prefix_padding_ms ?? base.prefix_padding_ms;
  if (padding < 0 || padding > 2000) throw new ConfigError('prefix_padding_ms must be from 0 to 2000', `${param}.prefix_padding_ms`);
  return { type, threshold, prefix_padding_ms: padding, silence_duration_ms: silence, ...(eagerness !== undefined ? { eagerness } : {}) };
}

/** How the hub's live session ends turns for this config. */
export function turnsOf(config: RealtimeConfig): TurnOptions {
  return config.turn ? { endSilenceMs: config.turn.silence_duration_ms, threshold: config.turn.threshold } : { manual: true };
}

/** The settings a running session cannot change (its audio and its task are already under way). */
export function fixedChanges(before: RealtimeConfig, after: RealtimeConfig): string | undefined {
  for (const key of ['format', 'rate', 'model', 'language', 'prompt'] as const) if (before[key] !== after[key]) return key;
  if (JSON.stringify(before.turn) !== JSON.stringify(after.turn)) return 'turn_detection';
  return undefined;
}

/** The session as OpenAI echoes it, in the client's dialect. */
export function sessionOf(id: string, c: RealtimeConfig, dialect: Dialect): object {
  const transcription = { model: c.model, language: c.language ?? null, prompt: c.prompt ?? '' };
  const turn = c.turn ? { ...c.turn } : null;
  if (dialect === 'beta') {
    const format = c.format === 's16le' ? 'pcm16' : c.format === 'mulaw' ? 'g711_ulaw' : 'g711_alaw';
    return { id, object: 'realtime.transcription_session', input_audio_format: format, input_audio_transcription: transcription, turn_detection: turn, input_audio_noise_reduction: c.noiseReduction, include: c.include, modalities: ['text'] };
  }
  const format = c.format === 's16le' ? { type: 'audio/pcm', rate: c.rate } : { type: c.format === 'mulaw' ? 'audio/pcmu' : 'audio/pcma' };
  return { type: 'transcription', id, object: 'realtime.transcription_session', audio: { input: { format, transcription, turn_detection: turn, noise_reduction: c.noiseReduction } }, include: c.include };
}
