// What hubs and engine nodes say to each other over NATS (cluster mode,
// HUB_NATS_URL). Chunk and live jobs go on a JetStream work-queue stream, one
// subject per priority, each pulled through its own durable consumer shared by
// every engine node (a job is delivered to one node; unacknowledged, it comes
// back to another). Results, the segments of a running job and cancels are
// plain NATS messages on a subject per job; engine nodes announce their slots
// on one subject. Every message is msgpack and is validated on arrival: the
// bus is an input boundary like a socket.
import { z } from 'zod';
import { AckPolicy, RetentionPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { decode, encode } from '../../../client/protocol/codec.ts';
import type { EngineResult, EngineSegment } from '../types.ts';

export const WORK_STREAM = 'HUB_WORK';
export const workSubject = (priority: 'live' | 'batch') => `hub.work.${priority}`;
export const consumerName = (priority: 'live' | 'batch') => `engines-${priority}`;
export const resultSubject = (jobId: string) => `hub.result.${jobId}`;
export const cancelSubject = (jobId: string) => `hub.cancel.${jobId}`;
export const CANCEL_ALL = 'hub.cancel.*';
export const ANNOUNCE_SUBJECT = 'hub.engines';

/** An engine node says it is alive this often; one not heard from for 3 periods is gone. */
export const ANNOUNCE_MS = 1000;
/** A job not acknowledged within this is handed to another node (a running job keeps it alive). */
export const ACK_WAIT_MS = 10_000;

/** Creates the work stream and its consumers if they are not there (every node does it; it is idempotent). */
export async function ensureWorkStream(jsm: JetStreamManager, ackWaitMs = ACK_WAIT_MS): Promise<void> {
  try {
    await jsm.streams.info(WORK_STREAM);
  } catch {
    // Work-queue retention: a job is gone once a node acknowledges it; a duplicate publish (same msgID) within 2 min is dropped.
    await jsm.streams.add({ name: WORK_STREAM, subjects: ['hub.work.*'], retention: RetentionPolicy.Workqueue, duplicate_window: 120e9 });
  }
  for (const priority of ['live', 'batch'] as const) {
    const durable = consumerName(priority);
    try {
      await jsm.consumers.info(WORK_STREAM, durable);
    } catch {
      await jsm.consumers.add(WORK_STREAM, { durable_name: durable, filter_subject: workSubject(priority), ack_policy: AckPolicy.Explicit, ack_wait: ackWaitMs * 1e6, max_deliver: 5 });
    }
  }
}

const options = z
  .object({ translate: z.boolean().optional(), prompt: z.string().max(10_000).optional(), temperature: z.number().optional(), beam: z.number().int().optional(), model: z.string().max(200).optional() })
  .optional();

const jobSchema = z.object({
  id: z.string().min(1).max(200),
  /** 16 kHz mono signed 16-bit little-endian samples */
  audio: z.instanceof(Uint8Array),
  fitContext: z.boolean().optional(),
  language: z.string().max(20).optional(),
  options,
  tag: z.object({ taskId: z.string().max(200), chunk: z.number().int().optional() }).optional(),
  /** the hub wants the segments of the running job as whisper emits them */
  stream: z.boolean(),
});
export type BusJob = z.infer<typeof jobSchema>;

const segment = z.object({
  start: z.number(),
  end: z.number(),
  text: z.string(),
  words: z.array(z.object({ word: z.string(), start: z.number(), end: z.number(), p: z.number() })).optional(),
  avgLogprob: z.number().optional(),
  noSpeechProb: z.number().optional(),
});

const replySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('segments'), segments: z.array(segment) }),
  z.object({ kind: z.literal('done'), result: z.object({ segments: z.array(segment), language: z.string().nullable().optional(), engineMs: z.number(), audioSec: z.number() }), node: z.string() }),
  z.object({ kind: z.literal('failed'), code: z.string().max(100), message: z.string().max(2000) }),
]);
export type BusReply = { kind: 'segments'; segments: EngineSegment[] } | { kind: 'done'; result: EngineResult; node: string } | { kind: 'failed'; code: string; message: string };

const announceSchema = z.object({
  node: z.string().min(1).max(200),
  slots: z.number().int().min(0).max(10_000),
  busy: z.number().int().min(0),
  models: z.array(z.string().max(500)).max(100),
  impl: z.string().max(50),
  backend: z.string().max(50),
  state: z.enum(['loading', 'ready', 'failed']),
});
export type Announcement = z.infer<typeof announceSchema>;

export const encodeMessage = (value: BusJob | BusReply | Announcement): Uint8Array => encode(value);

/** The message, or undefined when it is not one (logged by the caller, never thrown at the bus). */
export const decodeJob = (bytes: Uint8Array) => parseMessage(jobSchema, bytes);
export const decodeReply = (bytes: Uint8Array) => parseMessage(replySchema, bytes) as BusReply | undefined;
export const decodeAnnouncement = (bytes: Uint8Array) => parseMessage(announceSchema, bytes);

/** A msgpack message from the bus checked against `schema`: undefined when it is not one (every bus reader goes through here). */
export function parseMessage<T>(schema: z.ZodType<T>, bytes: Uint8Array): T | undefined {
  try {
    const parsed = schema.safeParse(decode(bytes));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Float samples as 16-bit PCM: half the bytes, so a 30 s chunk (960 kB) fits NATS's default 1 MB payload. */
export function toS16(samples: Float32Array): Uint8Array<ArrayBuffer> {
  const out = new Int16Array(samples.length);
  // Rounded and clamped with integer arithmetic, no Math calls: a 30 s chunk in ~1.7 ms rather than ~7.
  for (let i = 0; i < samples.length; i++) {
    const v = samples[i]!;
    out[i] = v >= 1 ? 32767 : v <= -1 ? -32768 : ((v * 32768 + 32768.5) | 0) - 32768;
  }
  return new Uint8Array(out.buffer);
}

export function fromS16(bytes: Uint8Array): Float32Array {
  const n = bytes.length >> 1;
  // A decoded Buffer may sit at an odd offset of a shared one: then it is copied (a Uint8Array made from it owns its bytes) to be read as 16-bit values.
  const s16 = bytes.byteOffset % 2 === 0 ? new Int16Array(bytes.buffer, bytes.byteOffset, n) : new Int16Array(new Uint8Array(bytes.subarray(0, n * 2)).buffer);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = s16[i]! * (1 / 32768);
  return out;
}

