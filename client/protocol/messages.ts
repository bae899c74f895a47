// Client → hub messages as zod schemas, validated where they enter the hub
// (`/v1/ws`, `/v1/admin` and `/v1/stream` control messages). Apart from the protocol's
// types so that clients (the SDK, the web bundle) never carry zod.
import { z } from 'zod';
import { LANGUAGES, STREAM_FORMATS } from './types.ts';

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
  z.object({ type: z.literal('close') }),
  z.object({ type: z.literal('keepalive') }),
]);
export type StreamControl = z.infer<typeof streamControlSchema>;

/** The query parameters of /v1/stream: how the audio is encoded, and which session to resume. */
export const streamParamsSchema = z.object({
  format: z.enum(STREAM_FORMATS, { message: `format must be one of ${STREAM_FORMATS.join(', ')}` }).default('s16le'),
  rate: z.coerce.number().int().min(8000, 'rate must be 8000 to 192000 Hz').max(192_000, 'rate must be 8000 to 192000 Hz').default(16_000),
  channels: z.coerce.number().int().min(1, 'channels must be 1 to 8').max(8, 'channels must be 1 to 8').default(1),
  language: z
    .string()
    .toLowerCase()
    .refine((l) => l === 'auto' || LANGUAGES.includes(l), 'language must be a whisper language code or auto')
    .optional(),
  resume: z.string().min(1).max(100).optional(),
  since: z.coerce.number().int().min(0).optional(),
  name: z.string().max(300).optional(),
  token: z.string().optional(),
  encoding: z.string().optional(),
});
export type StreamParams = z.infer<typeof streamParamsSchema>;
