// Reads one client message off a socket, for every socket route: bytes →
// value (msgpack or JSON text) → bounded shape → schema. Nothing else looks at
// a client message before this has: its depth and size are bounded here, and
// client input is never stringified or echoed back, except a `ref` that
// passed the schema's bounds and a message type that is a short plain word.
import type { z } from 'zod';
import type { ErrorFrame } from '../../client/protocol/types.ts';
import { decode } from '../../client/protocol/codec.ts';
import { CLOSE } from '../../client/protocol/close.ts';

/** No client message of the protocol nests deeper or holds more values than this. */
export const MESSAGE_LIMITS = { depth: 8, values: 256 } as const;
/** A control message larger than this closes its socket with 1009. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/**
 * uWS's own limit on control sockets, well above ours so that an oversized
 * message is answered (1009) rather than dropped: past uWS's limit, and for a
 * text frame that is not valid UTF-8, uWS closes the TCP connection itself
 * without a close frame (the client sees 1006), before any handler runs.
 */
export const UWS_MAX_PAYLOAD = 1024 * 1024;

type Tagged = z.ZodObject<{ type: z.ZodLiteral<string> }>;

/** A failure with `close` set ends the socket with that code after the error frame; others leave it open. */
export type ReadResult<T> = { ok: true; message: T } | { ok: false; error: ErrorFrame; close?: number };


/** The message types a discriminated union of `{type: literal}` objects accepts. */
export function messageTypes(schema: z.ZodDiscriminatedUnion<Tagged[]>): string[] {
  return schema.options.map((option) => String(option.shape.type.value));
}

export function readClientMessage<S extends z.ZodDiscriminatedUnion<Tagged[]>>(
  schema: S,
  bytes: ArrayBuffer | Uint8Array,
  isBinary: boolean,
  maxBytes = MAX_MESSAGE_BYTES,
): ReadResult<z.infer<S>> {
  const fail = (message: string, ref?: string | number): ReadResult<z.infer<S>> => ({
    ok: false,
    error: { type: 'error', code: 'bad_request', message, ...(ref !== undefined ? { ref } : {}) },
  });
  if (bytes.byteLength > maxBytes) {
    return { ok: false, close: CLOSE.messageTooBig, error: { type: 'error', code: 'payload_too_large', message: `a message is at most ${maxBytes / 1024} KB` } };
  }
  let raw: unknown;
  try {
    const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    raw = isBinary ? decode(view) : JSON.parse(Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('utf8'));
  } catch {
    // A parser that recursed too deep lands here too, as a plain failure.
    return fail(isBinary ? 'the message is not valid MessagePack' : 'the message is not valid JSON');
  }
  if (!withinLimits(raw)) {
    return fail(`a message nests at most ${MESSAGE_LIMITS.depth} levels and holds at most ${MESSAGE_LIMITS.values} values`);
  }
  const ref = safeRef(raw);
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const types = messageTypes(schema);
  const type = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as { type?: unknown }).type : undefined;
  if (typeof type === 'string' && types.includes(type)) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ');
    return fail(`bad ${type} message: ${why}`, ref);
  }
  const named = typeof type === 'string' && /^[\w.-]{1,40}$/.test(type) ? ` "${type}"` : '';
  return fail(`unknown message type${named} (a message is a map whose "type" is one of ${types.join(', ')})`, ref);
}

/** Iterative, so no nesting can overflow the stack; stops at the first value over a limit. */
export function withinLimits(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  let values = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (++values > MESSAGE_LIMITS.values) return false;
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth >= MESSAGE_LIMITS.depth) return false;
    const children = Array.isArray(v) ? v : Object.values(v);
    if (values + stack.length + children.length > MESSAGE_LIMITS.values) return false;
    for (const child of children) stack.push([child, depth + 1]);
  }
  return true;
}

/** The client's `ref`, echoed on errors only when it is a short string or a finite number. */
function safeRef(raw: unknown): string | number | undefined {
  const ref = typeof raw === 'object' && raw !== null ? (raw as { ref?: unknown }).ref : undefined;
  if (typeof ref === 'string' && ref.length <= 200) return ref;
  if (typeof ref === 'number' && Number.isFinite(ref)) return ref;
  return undefined;
}
