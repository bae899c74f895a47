// Client → hub messages as zod schemas, validated where they enter the hub
// (`/v1/ws`, `/v1/admin` and `/v1/stream` control messages). Apart from the protocol's
// types so that clients (the SDK, the web bundle) never carry zod.
import { z } from 'zod';
import { LANGUAGES, STREAM_FORMATS, type TranscribeOptions } from './types.ts';

const ref = z.union([z.string().max(200), z.number()]).optional();
const taskId = z.string().min(1).max(100);

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), id: taskId, since: z.number().int().min(0).optional(), ref }),
  z.object({ type: z.literal('unsubscribe'), id: taskId, ref }),
  z.object({ type: z.literal('ping'), ref }),
  z.object({ type: z.literal('watch_tasks'), ref }),
  z.object({ type: z.literal('unwatch_tasks'), ref }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

/** Operator messages on /v1/admin. */
export const adminMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('inspect'), id: taskId, ref }),
  z.object({ type: z.literal('cancel'), id: taskId, ref }),
  z.object({ type: z.literal('ping'), ref }),
]);
export type AdminMessage = z.infer<typeof adminMessageSchema>;

/** Control messages on /v1/stream (JSON text; binary frames are audio). */
export const streamControlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('finalize') }),
  z.object({ type: z.literal('clear') }),
  z.object({ type: z.literal('close') }),
  z.object({ type: z.literal('keepalive') }),
]);
export type StreamControl = z.infer<typeof streamControlSchema>;

/** The transcription options as query parameters (POST /v1/tasks, /v1/stream); each message names its option. */
/** The most speakers a caller may say a recording has. */
export const MAX_SPEAKERS = 20;

export const transcribeOptionsQuery = {
  translate: z.enum(['0', '1', 'true', 'false'], { message: 'translate must be 0, 1, true or false' }).transform((v) => v === '1' || v === 'true').optional(),
  prompt: z.string().max(800, 'prompt is limited to 800 characters').optional(),
  temperature: z.coerce.number({ message: 'temperature must be a number' }).min(0, 'temperature must be 0 to 1').max(1, 'temperature must be 0 to 1').optional(),
  beam: z.coerce.number({ message: 'beam must be a whole number' }).int('beam must be a whole number').min(1, 'beam must be 1 to 8').max(8, 'beam must be 1 to 8').optional(),
  model: z.string().trim().min(1).max(200, 'model is limited to 200 characters').optional(),
  diarize: z.enum(['0', '1', 'true', 'false'], { message: 'diarize must be 0, 1, true or false' }).transform((v) => v === '1' || v === 'true').optional(),
  speakers: z.coerce.number({ message: 'speakers must be a whole number' }).int('speakers must be a whole number').min(1, `speakers must be 1 to ${MAX_SPEAKERS}`).max(MAX_SPEAKERS, `speakers must be 1 to ${MAX_SPEAKERS}`).optional(),
};

/** The options as stored (on a task record, in an upload's sidecar). */
export const transcribeOptionsSchema = z.object({
  translate: z.boolean().optional(),
  prompt: z.string().max(800).optional(),
  temperature: z.number().min(0).max(1).optional(),
  beam: z.number().int().min(1).max(8).optional(),
  model: z.string().max(200).optional(),
  diarize: z.boolean().optional(),
  speakers: z.number().int().min(1).max(MAX_SPEAKERS).optional(),
});

/** The options a query gave, or undefined when it gave none. */
export function optionsOf(query: TranscribeOptions): TranscribeOptions | undefined {
  const options: TranscribeOptions = {};
  if (query.translate !== undefined) options.translate = query.translate;
  if (query.prompt) options.prompt = query.prompt;
  if (query.temperature !== undefined) options.temperature = query.temperature;
  if (query.beam !== undefined) options.beam = query.beam;
  if (query.model) options.model = query.model;
  if (query.diarize !== undefined) options.diarize = query.diarize;
  if (query.speakers !== undefined) options.speakers = query.speakers;
  return Object.keys(options).length > 0 ? options : undefined;
}

/** The query parameters of /v1/stream: how the audio is encoded, and which session to resume. */
export const streamParamsSchema = z.object({
  ...transcribeOptionsQuery,
  format: z.enum(STREAM_FORMATS, { message: `format must be one of ${STREAM_FORMATS.join(', ')}` }).default('s16le'),
  rate: z.coerce.number().int().min(8000, 'rate must be 8000 to 192000 Hz').max(192_000, 'rate must be 8000 to 192000 Hz').default(16_000),
  channels: z.coerce.number().int().min(1, 'channels must be 1 to 8').max(8, 'channels must be 1 to 8').default(1),
  language: z
    .string()
    .toLowerCase()
    .refine((l) => l === 'auto' || LANGUAGES.includes(l), 'language must be a whisper language code or auto')
    .optional(),
  /** ms of silence that end an utterance, or false: only `finalize` ends one */
  endpointing: z
    .union([z.literal('false').transform(() => false as const), z.coerce.number().int('endpointing must be a whole number of ms, or false').min(100, 'endpointing must be 100 to 5000 ms, or false').max(5000, 'endpointing must be 100 to 5000 ms, or false')])
    .optional(),
  /** after this much audio without new words following a final: an `utterance_end` frame (as Deepgram's UtteranceEnd) */
  utterance_end_ms: z.coerce.number({ message: 'utterance_end_ms must be a number' }).int('utterance_end_ms must be a whole number').min(500, 'utterance_end_ms must be 500 to 10000').max(10_000, 'utterance_end_ms must be 500 to 10000').optional(),
  resume: z.string().min(1).max(100).optional(),
  since: z.coerce.number().int().min(0).optional(),
  name: z.string().max(300).optional(),
  token: z.string().optional(),
  encoding: z.string().optional(),
});
export type StreamParams = z.infer<typeof streamParamsSchema>;
