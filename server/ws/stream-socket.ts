// `/v1/stream`: live microphone audio in, partial and final text out.
// Translation only: it checks the connection's parameters, decodes the audio
// frames to 16 kHz mono (raw PCM resampled here, Opus through an ffmpeg
// process per connection), and passes samples and control messages to the
// session's stream actor. The session's frames reach the socket through its
// task topic, like every task frame; `ready` and `closed` are sent directly.
import { z } from 'zod';
import type { TemplatedApp, WebSocket, HttpResponse, HttpRequest } from '../uws.ts';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import type { StreamActor } from '../../actors/stream-machine.ts';
import type { LiveLoad } from '../../actors/live-load.ts';
import { LANGUAGES, STREAM_FORMATS, type ErrorCode, type ServerFrame } from '../../client/protocol/types.ts';
import { streamControlSchema } from '../../client/protocol/messages.ts';
import { encodeFor, type Encoding } from '../../client/protocol/codec.ts';
import { readClientMessage } from './client-message.ts';
import { guardSocket } from '../guard.ts';
import { FFMPEG_MISSING } from '../../native/audio/ffmpeg.ts';
import { PcmInput } from '../../native/audio/pcm-input.ts';
import { StreamDecoder } from '../../native/audio/stream-decoder.ts';
import { SAMPLE_RATE } from '../../native/audio/pcm.ts';
import { CLOSE, acceptUpgrade } from './upgrade.ts';
import { MAX_BACKPRESSURE, sendOrCut, type SocketState } from './backpressure.ts';
import { topicOf } from './task-socket.ts';

/** One audio frame at most (4013 beyond). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Audio may run ahead of real time by this much (a client catching up), no more. */
const MAX_AHEAD_SEC = 30;
const MAX_SPEEDUP = 10;
/** Engines busier than this with live passes take no new session (4029). */
const MAX_LIVE_UTILIZATION = 0.85;
/** Audio that arrives before the session is recorded waits, up to this much. */
const MAX_EARLY_BYTES = 4 * 1024 * 1024;

const streamQuery = z.object({
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
type StreamQuery = z.infer<typeof streamQuery>;

interface AudioInput {
  push(bytes: Uint8Array): void;
  /** no more audio: resolves once everything held has been handed over */
  end(): Promise<void>;
  kill(): void;
}

interface StreamSocketData extends SocketState {
  route: 'stream';
  caller: Caller | undefined;
  encoding: Encoding;
  query: StreamQuery | undefined;
  problem: string | undefined;
  actor: StreamActor | undefined;
  /** raw PCM conversion, or the ffmpeg decoder of this connection */
  input: AudioInput | undefined;
  early: Uint8Array[];
  earlyBytes: number;
  openedAt: number;
  audioSec: number;
  idle: NodeJS.Timeout | undefined;
  ending: boolean;
  /** the client sent `close`: the session is flushing its last finals */
  closing: boolean;
}

export function registerStreamSocket(app: TemplatedApp, ctx: HubContext, sockets: Set<WebSocket<SocketState>>, liveLoad: LiveLoad): void {
  /** The socket attached to each live session (a resume takes it over). */
  const attached = new Map<string, WebSocket<StreamSocketData>>();
  /** sessions being recorded right now, by their owner: they count for admission too */
  const creating = new Map<symbol, string>();

  const send = (ws: WebSocket<StreamSocketData>, frame: ServerFrame) => {
    const { data, binary } = encodeFor(ws.getUserData().encoding, frame);
    sendOrCut(ws, data, binary);
  };
  const refuse = (ws: WebSocket<StreamSocketData>, closeCode: number, code: ErrorCode, message: string) => {
    const d = ws.getUserData();
    if (d.closed || d.ending) return;
    send(ws, { type: 'error', code, message });
    d.ending = true;
    ws.end(closeCode, message.slice(0, 120));
  };
  const touch = (ws: WebSocket<StreamSocketData>) => {
    const d = ws.getUserData();
    clearTimeout(d.idle);
    if (d.closing) return;
    d.idle = setTimeout(() => {
      if (!d.closed && !d.ending) {
        d.ending = true;
        ws.end(CLOSE.idleTimeout, 'idle timeout: no audio or keepalive');
      }
    }, ctx.config.streamIdleMs);
    d.idle.unref();
  };

  app.ws<StreamSocketData>('/v1/stream', guardSocket('/v1/stream', ctx.log, {
    maxPayloadLength: 16 * MAX_FRAME_BYTES,
    maxBackpressure: MAX_BACKPRESSURE,
    idleTimeout: 0, // ours (HUB_STREAM_IDLE_SEC), with its own close code
    upgrade: (res: HttpResponse, req: HttpRequest, context) => {
      acceptUpgrade(ctx, res, req, context, (caller, encoding, query) => {
        const parsed = streamQuery.safeParse(Object.fromEntries([...query.entries()].filter(([, v]) => v !== '')));
        return {
          route: 'stream' as const, caller, encoding, closed: false, ending: false, actor: undefined, input: undefined, early: [], earlyBytes: 0, openedAt: Date.now(), audioSec: 0, idle: undefined, closing: false,
          query: parsed.success ? parsed.data : undefined,
          problem: parsed.success ? undefined : parsed.error.issues.map((i) => i.message).join('; '),
        };
      });
    },
    open: (ws) => {
      const d = ws.getUserData();
      if (!d.caller) return void ws.end(CLOSE.unauthorized, 'unauthorized');
      sockets.add(ws);
      if (d.problem || !d.query) return refuse(ws, CLOSE.badAudioFormat, 'bad_request', d.problem ?? 'bad parameters');
      if (ctx.shuttingDown()) return refuse(ws, CLOSE.goingAway, 'overloaded', 'the hub is shutting down');
      touch(ws);
      if ((d.query.format === 'webm' || d.query.format === 'ogg') && !ctx.ffmpeg) {
        return refuse(ws, CLOSE.badAudioFormat, 'unsupported_audio', `${FFMPEG_MISSING}; send raw PCM (format=s16le or f32le) instead`);
      }
      if (d.query.resume) return resume(ws, d.query.resume, d.query.since);
      return start(ws);
    },
    message: (ws, message, isBinary) => {
      const d = ws.getUserData();
      if (d.ending || !d.query) return;
      touch(ws);
      if (isBinary) return audio(ws, new Uint8Array(message.slice(0)));
      const control = readClientMessage(streamControlSchema, message, false);
      if (!control.ok) return control.close ? refuse(ws, control.close, control.error.code, control.error.message) : send(ws, control.error);
      if (control.message.type === 'keepalive') return;
      if (!d.actor) return send(ws, { type: 'error', code: 'bad_request', message: 'the session is not ready yet' });
      if (control.message.type === 'finalize') d.actor.send({ type: 'FINALIZE' });
      else {
        // The client is done: no idle timeout while the last finals are made,
        // and the decoder hands over all it holds before the session closes.
        clearTimeout(d.idle);
        d.closing = true;
        void d.input?.end().then(() => d.ending || d.actor?.send({ type: 'CLOSE' }));
      }
    },
    close: (ws) => {
      const d = ws.getUserData();
      d.closed = true;
      clearTimeout(d.idle);
      sockets.delete(ws);
      d.input?.kill();
      const id = d.actor?.getSnapshot().context.task.id;
      if (id && attached.get(id) === ws) {
        attached.delete(id);
        if (d.actor!.getSnapshot().status === 'active') d.actor!.send({ type: 'DISCONNECTED' });
      }
    },
  }));

  /**
   * Why another connected session cannot be admitted now, if it cannot.
   * Only connected sessions (and those being recorded) hold an admission
   * slot: one that waits to be resumed keeps its state, not its slot.
   */
  function refusal(userId: string, resuming?: string): string | undefined {
    let total = creating.size;
    let mine = [...creating.values()].filter((u) => u === userId).length;
    for (const [id, other] of attached) {
      if (id === resuming) continue;
      total++;
      if (other.getUserData().caller?.userId === userId) mine++;
    }
    if (total >= ctx.config.maxStreams) return `the hub is at its limit of ${ctx.config.maxStreams} live sessions; try again later`;
    if (mine >= ctx.config.maxStreamsPerUser) return `you already have ${mine} live sessions open, the most one user may have; close one first`;
    if (!resuming && liveLoad.utilization() > MAX_LIVE_UTILIZATION) return 'the engines cannot keep up with another live session in real time; try again later';
    return undefined;
  }

  async function start(ws: WebSocket<StreamSocketData>): Promise<void> {
    const d = ws.getUserData();
    const q = d.query!;
    const userId = d.caller!.userId;
    const refused = refusal(userId);
    if (refused) return refuse(ws, CLOSE.overloaded, 'overloaded', refused);
    let actor: StreamActor;
    const ticket = Symbol('creating');
    creating.set(ticket, userId);
    try {
      const language = q.language === 'auto' ? undefined : q.language;
      actor = await ctx.registry.createStream({ userId, ...(language ? { language } : {}), ...(q.name ? { name: q.name } : {}) });
    } catch (error) {
      ctx.log.error({ err: error, userId }, 'could not record a new stream session');
      return refuse(ws, CLOSE.overloaded, 'overloaded', 'the session could not be recorded; try again shortly');
    } finally {
      creating.delete(ticket);
    }
    actor.start();
    if (d.closed) {
      actor.send({ type: 'DISCONNECTED' });
      return;
    }
    attach(ws, actor);
    const id = actor.getSnapshot().context.task.id;
    ctx.log.info({ taskId: id, userId: d.caller!.userId, format: q.format, rate: q.rate, channels: q.channels }, 'stream session started');
    send(ws, { type: 'ready', id });
    for (const bytes of d.early.splice(0)) audio(ws, bytes);
  }

  function resume(ws: WebSocket<StreamSocketData>, id: string, since: number | undefined): void {
    const d = ws.getUserData();
    const actor = ctx.registry.stream(id);
    if (!actor || actor.getSnapshot().context.task.userId !== d.caller!.userId) {
      return refuse(ws, CLOSE.notFound, 'not_found', `no live session ${id} to resume (it ended, or its grace period passed)`);
    }
    const refused = refusal(d.caller!.userId, id);
    if (refused) return refuse(ws, CLOSE.overloaded, 'overloaded', refused);
    const previous = attached.get(id);
    if (previous) {
      const p = previous.getUserData();
      p.ending = true;
      attached.delete(id);
      previous.end(CLOSE.normal, 'the session was resumed on another connection');
    }
    attach(ws, actor);
    actor.send({ type: 'RESUMED' });
    const task = actor.getSnapshot().context.task;
    ws.cork(() => {
      // How much audio the session holds, so a client can re-send what the drop lost.
      send(ws, { type: 'ready', id, durationSec: task.durationSec ?? 0 });
      const missed = since === undefined ? undefined : ctx.registry.framesSince(id, since);
      if (missed) for (const frame of missed) send(ws, frame);
      else send(ws, { type: 'task', id, seq: task.seq, task });
    });
    ctx.log.info({ taskId: id, since }, 'stream session resumed');
  }

  function attach(ws: WebSocket<StreamSocketData>, actor: StreamActor): void {
    const d = ws.getUserData();
    const q = d.query!;
    const id = actor.getSnapshot().context.task.id;
    d.actor = actor;
    attached.set(id, ws);
    ws.subscribe(topicOf(d.encoding, id));
    const toActor = (samples: Float32Array) => {
      if (samples.length === 0 || d.ending) return;
      d.audioSec += samples.length / SAMPLE_RATE;
      actor.send({ type: 'AUDIO', samples });
    };
    if (q.format === 'webm' || q.format === 'ogg') {
      const decoder = new StreamDecoder(ctx.ffmpeg!, q.format, toActor, (message) => refuse(ws, CLOSE.badAudioFormat, 'unsupported_audio', message));
      d.input = { push: (bytes) => decoder.write(bytes), end: () => decoder.end(), kill: () => decoder.kill() };
    } else {
      const pcm = new PcmInput(q.format, q.rate, q.channels);
      d.input = { push: (bytes) => toActor(pcm.push(bytes)), end: async () => toActor(pcm.flush()), kill: () => {} };
    }
    // The session ends (closed, or expired): say so, then close normally.
    const watch = actor.subscribe({
      complete: () => {
        watch.unsubscribe();
        if (attached.get(id) !== ws || d.closed) return;
        attached.delete(id);
        const task = actor.getSnapshot().context.task;
        send(ws, { type: 'closed', id, durationSec: task.durationSec ?? 0 });
        d.ending = true;
        ws.end(CLOSE.normal, 'closed');
      },
    });
  }

  function audio(ws: WebSocket<StreamSocketData>, bytes: Uint8Array): void {
    const d = ws.getUserData();
    if (bytes.byteLength > MAX_FRAME_BYTES) return refuse(ws, CLOSE.frameTooLarge, 'bad_request', `audio frames are limited to ${MAX_FRAME_BYTES / 1024} KB`);
    if (!d.input) {
      d.earlyBytes += bytes.byteLength;
      if (d.earlyBytes > MAX_EARLY_BYTES) return refuse(ws, CLOSE.overloaded, 'overloaded', 'too much audio before the session was ready');
      d.early.push(bytes);
      return;
    }
    const elapsed = (Date.now() - d.openedAt) / 1000;
    if (d.audioSec > MAX_AHEAD_SEC + elapsed * MAX_SPEEDUP) {
      return refuse(ws, CLOSE.overloaded, 'overloaded', 'audio is arriving far faster than real time; send it as it is recorded');
    }
    d.input.push(bytes);
  }
}
