// Deepgram's listen API in the hub's terms, both ways: its query parameters
// (validated, with Deepgram's names) as a hub session's settings, and the
// hub's text as Deepgram's messages — streaming `Results`, `Metadata`,
// `SpeechStarted`, `UtteranceEnd`, the pre-recorded response, and its errors.
// Pure.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LANGUAGES, type Segment, type StreamFormat, type Word } from '../../client/protocol/types.ts';

const flag = (name: string) => z.enum(['true', 'false'], { message: `${name} must be true or false` }).transform((v) => v === 'true');
const ENCODINGS = ['linear16', 'mulaw', 'alaw', 'opus', 'ogg-opus', 'webm-opus', 'flac', 'mp3', 'wav'] as const;

/** The query parameters the hub reads; Deepgram's many others are accepted and ignored (docs/compat.md lists them). */
export const listenParamsSchema = z.object({
  model: z.string().trim().max(200).optional(),
  language: z
    .string()
    .trim()
    .toLowerCase()
    .refine((l) => l === 'multi' || LANGUAGES.includes(l.split('-')[0]!), 'language must be a language whisper knows (en, en-US, de, ...) or multi')
    .optional(),
  detect_language: flag('detect_language').optional(),
  encoding: z.enum(ENCODINGS, { message: `encoding must be one of ${ENCODINGS.join(', ')} (or left out for audio in a container)` }).optional(),
  sample_rate: z.coerce.number({ message: 'sample_rate must be a number' }).int('sample_rate must be a whole number').min(8000, 'sample_rate must be 8000 to 192000').max(192_000, 'sample_rate must be 8000 to 192000').optional(),
  channels: z.coerce.number({ message: 'channels must be a number' }).int().min(1, 'channels must be 1 to 8').max(8, 'channels must be 1 to 8').optional(),
  interim_results: flag('interim_results').optional(),
  endpointing: z.union([z.literal('false').transform(() => false as const), z.coerce.number({ message: 'endpointing must be a number of ms or false' }).int('endpointing must be a whole number of ms').min(0).max(60_000)]).optional(),
  utterance_end_ms: z.coerce.number({ message: 'utterance_end_ms must be a number' }).int().min(1000, 'utterance_end_ms must be 1000 to 5000').max(5000, 'utterance_end_ms must be 1000 to 5000').optional(),
  vad_events: flag('vad_events').optional(),
  punctuate: flag('punctuate').optional(),
  smart_format: flag('smart_format').optional(),
  utterances: flag('utterances').optional(),
  diarize: flag('diarize').optional(),
  keyterm: z.union([z.string().max(100), z.array(z.string().max(100)).max(100)]).optional(),
  keywords: z.union([z.string().max(100), z.array(z.string().max(100)).max(100)]).optional(),
}).refine((p) => p.encoding !== 'linear16' || p.sample_rate !== undefined, 'sample_rate is required with encoding=linear16');
export type ListenParams = z.infer<typeof listenParamsSchema>;

/** A URLSearchParams as listenParamsSchema reads it (a repeated key is an array). */
export function queryObject(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key).filter((v) => v !== '');
    if (values.length) out[key] = values.length === 1 && key !== 'keyterm' && key !== 'keywords' ? values[0]! : values;
  }
  return out;
}

/** Deepgram's model names (nova-3, nova-2, enhanced, base, whisper-*) all mean the hub's default model. */
export const isDeepgramModel = (name: string) => /^(nova|enhanced|base|whisper|general|phonecall|meeting)/.test(name);

/** Whisper's language for Deepgram's (`en-US` is `en`; `multi` and detection leave it to whisper). */
export function languageOf(p: ListenParams): string | undefined {
  if (p.detect_language || !p.language || p.language === 'multi') return undefined;
  return p.language.split('-')[0];
}

/** Key terms as whisper's prompt: vocabulary hints. */
export function promptOf(p: ListenParams): string | undefined {
  const terms = [p.keyterm ?? [], p.keywords ?? []].flat().map((k) => k.replace(/:[-\d.]+$/, '').trim()).filter(Boolean);
  return terms.length ? terms.join(', ').slice(0, 800) : undefined;
}

/** The live audio format for Deepgram's encoding; raw encodings need `sample_rate`. */
export function audioOf(p: ListenParams): { format: StreamFormat; rate: number; channels: number } {
  const channels = p.channels ?? 1;
  switch (p.encoding) {
    case 'linear16':
      return { format: 's16le', rate: p.sample_rate ?? 16_000, channels };
    case 'mulaw':
    case 'alaw':
      return { format: p.encoding, rate: p.sample_rate ?? 8000, channels };
    case 'opus':
    case 'ogg-opus':
      return { format: 'ogg', rate: 48_000, channels };
    case 'webm-opus':
      return { format: 'webm', rate: 48_000, channels };
    default:
      // audio in a container (wav, flac, mp3, webm, ogg): ffmpeg finds out which
      return { format: 'auto', rate: 16_000, channels };
  }
}

/** Deepgram's endpointing as the silence that ends an utterance: false only on Finalize; the hub's VAD needs at least 100 ms. */
export function endpointingOf(p: ListenParams): number | false | undefined {
  if (p.endpointing === false) return false;
  return p.endpointing === undefined ? undefined : Math.min(5000, Math.max(100, p.endpointing));
}

export interface ModelInfo {
  name: string;
  version: string;
  arch: string;
  uuid: string;
}

export function modelInfo(name: string, version: string): ModelInfo {
  const hex = createHash('sha256').update(name).digest('hex');
  return { name, version, arch: 'whisper', uuid: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}` };
}

/** How the text reads: whisper punctuates and capitalises; `punctuate=false` asks for neither (as Deepgram then gives). */
export const plain = (text: string) => text.toLowerCase().replace(/[^\p{L}\p{N}'\s-]/gu, '').replace(/\s+/g, ' ').trim();

/** Deepgram numbers speakers from 0; the hub names them S1, S2, … */
const speakerIndex = (speaker: string | undefined) => (speaker ? Number(speaker.slice(1)) - 1 : undefined);

function wordsOf(words: Word[] | undefined, punctuate: boolean, diarize = false) {
  return (words ?? [])
    .filter((w) => plain(w.word))
    .map((w) => ({
      word: plain(w.word),
      start: w.start,
      end: w.end,
      confidence: w.p,
      ...(diarize && w.speaker ? { speaker: speakerIndex(w.speaker), speaker_confidence: 1 } : {}),
      punctuated_word: punctuate ? w.word.trim() : plain(w.word),
    }));
}

const confidenceOf = (words: Word[] | undefined) => (words?.length ? Math.round((words.reduce((s, w) => s + w.p, 0) / words.length) * 1000) / 1000 : 0);

export interface ResultsInput {
  requestId: string;
  model: ModelInfo;
  start: number;
  end: number;
  text: string;
  words: Word[] | undefined;
  isFinal: boolean;
  speechFinal: boolean;
  fromFinalize: boolean;
  punctuate: boolean;
}

/** A streaming `Results` message. */
export function results(r: ResultsInput) {
  return {
    type: 'Results',
    channel_index: [0, 1],
    duration: round(Math.max(0, r.end - r.start)),
    start: round(r.start),
    is_final: r.isFinal,
    speech_final: r.speechFinal,
    from_finalize: r.fromFinalize,
    channel: { alternatives: [{ transcript: r.punctuate ? r.text : plain(r.text), confidence: confidenceOf(r.words), words: wordsOf(r.words, r.punctuate) }] },
    metadata: { request_id: r.requestId, model_info: { name: r.model.name, version: r.model.version, arch: r.model.arch }, model_uuid: r.model.uuid },
  };
}

/** The streaming `Metadata` message (sent when the stream closes). */
export function metadata(requestId: string, model: ModelInfo, durationSec: number, sha256: string) {
  return {
    type: 'Metadata',
    transaction_key: 'deprecated',
    request_id: requestId,
    sha256,
    created: new Date().toISOString(),
    duration: round(durationSec),
    channels: 1,
    models: [model.uuid],
    model_info: { [model.uuid]: { name: model.name, version: model.version, arch: model.arch } },
  };
}

/** The pre-recorded response for a finished task's segments. */
export function prerecorded(o: { requestId: string; model: ModelInfo; sha256: string; durationSec: number; segments: Segment[]; language: string | undefined; detect: boolean; punctuate: boolean; utterances: boolean; diarize?: boolean }) {
  const words = o.segments.flatMap((s) => s.words ?? []);
  const text = o.segments.map((s) => s.text.trim()).filter(Boolean).join(' ');
  return {
    metadata: {
      transaction_key: 'deprecated',
      request_id: o.requestId,
      sha256: o.sha256,
      created: new Date().toISOString(),
      duration: round(o.durationSec),
      channels: 1,
      models: [o.model.uuid],
      model_info: { [o.model.uuid]: { name: o.model.name, version: o.model.version, arch: o.model.arch } },
    },
    results: {
      channels: [
        {
          alternatives: [{ transcript: o.punctuate ? text : plain(text), confidence: confidenceOf(words), words: wordsOf(words, o.punctuate, o.diarize) }],
          ...(o.detect && o.language ? { detected_language: o.language, language_confidence: 1 } : {}),
        },
      ],
      ...(o.utterances
        ? {
            utterances: o.segments.map((s, i) => ({
              start: s.start,
              end: s.end,
              confidence: confidenceOf(s.words),
              channel: 0,
              transcript: o.punctuate ? s.text.trim() : plain(s.text),
              words: wordsOf(s.words, o.punctuate, o.diarize),
              ...(o.diarize && s.speaker ? { speaker: speakerIndex(s.speaker) } : {}),
              id: `${o.requestId.slice(0, 8)}-${i}`,
            })),
          }
        : {}),
    },
  };
}

/** Deepgram's error body; the header `dg-error` carries the message too. */
export function deepgramError(code: string, message: string, requestId: string): { body: string; headers: [string, string][] } {
  return { body: JSON.stringify({ err_code: code, err_msg: message, request_id: requestId }), headers: [['Content-Type', 'application/json'], ['dg-error', message.slice(0, 200)], ['dg-request-id', requestId]] };
}

const round = (s: number) => Math.round(s * 1000) / 1000;
