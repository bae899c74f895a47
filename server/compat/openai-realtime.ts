// OpenAI's Realtime API for transcription: `GET /v1/realtime?intent=transcription`
// upgraded to a socket that speaks OpenAI's events, so code written for
// OpenAI's realtime transcription works with the base URL and key changed.
// Translation only: the audio goes to a hub live session (the same VAD,
// admission, priority and persistence as `/v1/stream`; a task of the caller),
// and each of its utterances is one OpenAI item — speech_started, speech_stopped
// and committed from the session's speech events, transcription deltas from
// its partials once two agree and from its finals, completed once the
// utterance is done. With `turn_detection: null` only the client's `commit`
// ends an item. The session starts at the first audio, with the settings
// given by then; see docs/compat.md for what may change afterwards.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { LiveSessions } from '../../actors/live-sessions.ts';
import type { LiveConnection, LiveSession } from '../../actors/live-session.ts';
import { translatedConnection } from './translated-connection.ts';
import type { SpeechEvent } from '../../actors/live-transcriber.ts';
import type { FrameTap } from '../../actors/frame-tap.ts';
import type { ErrorFrame, ServerFrame } from '../../client/protocol/types.ts';
import type { StreamParams } from '../../client/protocol/messages.ts';
import type { SocketPort, SocketRoute } from '../ws/socket-port.ts';
import { GrowingText } from './growing-text.ts';
import { ConfigError, DEFAULT_CONFIG, applyBeta, applyGa, betaSessionSchema, fixedChanges, gaSessionSchema, sessionOf, turnsOf, type Dialect, type RealtimeConfig } from './realtime-config.ts';
import { OPENAI_MODELS } from './openai-routes.ts';

/** An append carries at most this much base64 (about 50 s of 24 kHz pcm16). */
const MAX_EVENT_BYTES = 4 * 1024 * 1024;

const eventId = z.string().max(200).optional();
export const realtimeMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('transcription_session.update'), event_id: eventId, session: betaSessionSchema }),
  z.object({ type: z.literal('session.update'), event_id: eventId, session: gaSessionSchema.extend(betaSessionSchema.shape) }),
  z.object({ type: z.literal('input_audio_buffer.append'), event_id: eventId, audio: z.string() }),
  z.object({ type: z.literal('input_audio_buffer.commit'), event_id: eventId }),
  z.object({ type: z.literal('input_audio_buffer.clear'), event_id: eventId }),
]);
type RealtimeMessage = z.infer<typeof realtimeMessageSchema>;

/** A server event: `type`, `event_id` and its fields. */
export type RealtimeEvent = { type: string; event_id: string } & Record<string, unknown>;

const realtimeParams = z.object({ intent: z.string().max(40).optional(), model: z.string().max(200).optional() });
type RealtimeParams = z.infer<typeof realtimeParams>;

export interface RealtimeDeps {
  sessions: LiveSessions;
  frames: FrameTap;
  knowsModel(name: string): boolean;
  modelNames(): string[];
}

const errorEvent = (code: string, message: string, options: { param?: string; eventId?: string; server?: boolean } = {}): RealtimeEvent => ({
  type: 'error',
  event_id: `event_${randomUUID()}`,
  error: { type: options.server ? 'server_error' : 'invalid_request_error', code, message, param: options.param ?? null, event_id: options.eventId ?? null },
});

export function realtimeRoute(deps: RealtimeDeps): SocketRoute<typeof realtimeMessageSchema, RealtimeParams, RealtimeEvent> {
  return {
    path: '/v1/realtime',
    params: { schema: realtimeParams, close: 1008 },
    messages: realtimeMessageSchema,
    limits: { maxPayloadBytes: 2 * MAX_EVENT_BYTES, idleTimeoutSec: 120 },
    foreign: {
      // The ws SDKs send a Bearer header; browsers offer `realtime, openai-insecure-api-key.<key>`, and `realtime` must be echoed.
      credentials: ({ authorization, protocols }) => {
        const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
        const offered = protocols.find((p) => p.startsWith('openai-insecure-api-key.'))?.slice('openai-insecure-api-key.'.length);
        return { token: bearer ?? offered, ...(protocols.includes('realtime') ? { protocol: 'realtime' } : {}) };
      },
      refusal: (status, message) => ({
        body: JSON.stringify({ error: { type: 'invalid_request_error', code: status === 401 ? 'invalid_api_key' : 'invalid_request', message, param: null } }),
        headers: [['Content-Type', 'application/json; charset=utf-8']],
      }),
      error: (frame: ErrorFrame) => errorEvent(frame.code, frame.message, { server: frame.code === 'internal' }),
      maxMessageBytes: MAX_EVENT_BYTES,
    },
    connect(port, params) {
      if (params.intent !== undefined && params.intent !== 'transcription') {
        port.send(errorEvent('invalid_intent', 'this hub runs transcription sessions only (intent=transcription): it has no speech-to-speech model', { param: 'intent' }));
        port.end(1008, 'transcription sessions only');
        return {};
      }
      const session = new RealtimeTranscription(deps, port);
      return { onMessage: (message) => session.onMessage(message), onClose: () => session.onClose() };
    },
  };
}

interface Item {
  id: string;
  text: GrowingText;
  /** stream seconds where its speech started and stopped */
  startedAt: number;
  stoppedAt: number;
}

/** One client's transcription session: its settings, its hub live session, and the items its utterances become. */
class RealtimeTranscription {
  private readonly id = `sess_${randomUUID().replaceAll('-', '')}`;
  private config: RealtimeConfig = DEFAULT_CONFIG;
  private dialect: Dialect = 'ga';
  private live: LiveSession | undefined;
  private readonly conn: LiveConnection;
  private readonly unfollow: () => void;
  private readonly items = new Map<string, Item>(); // by every segId the utterance had
  private open: Item | undefined; // the item being spoken
  private lastCommitted: string | null = null;
  private bytesSinceCommit = 0;

  constructor(
    private readonly deps: RealtimeDeps,
    private readonly port: SocketPort<RealtimeEvent>,
  ) {
    const link = translatedConnection(port, deps.frames, { frame: (frame) => this.onHubFrame(frame), speech: (speech) => this.onSpeech(speech) });
    this.conn = link.conn;
    this.unfollow = link.close;
    this.emit('session.created', { session: sessionOf(this.id, this.config, this.dialect) });
  }

  onMessage(m: RealtimeMessage): void {
    switch (m.type) {
      case 'transcription_session.update':
      case 'session.update':
        return this.update(m);
      case 'input_audio_buffer.append':
        return this.append(m.audio, m.event_id);
      case 'input_audio_buffer.commit':
        if (this.bytesSinceCommit === 0) return this.port.send(errorEvent('input_audio_buffer_commit_empty', 'the input audio buffer is empty: append audio before committing', { ...(m.event_id ? { eventId: m.event_id } : {}) }));
        this.bytesSinceCommit = 0;
        return void this.live?.onControl(this.conn, { type: 'finalize' });
      case 'input_audio_buffer.clear':
        this.bytesSinceCommit = 0;
        this.live?.onControl(this.conn, { type: 'clear' });
        return this.emit('input_audio_buffer.cleared', {});
    }
  }

  onClose(): void {
    this.unfollow();
    this.live?.onClose(this.conn);
  }

  private update(m: Extract<RealtimeMessage, { type: 'transcription_session.update' | 'session.update' }>): void {
    this.dialect = m.type === 'transcription_session.update' ? 'beta' : 'ga';
    const fail = (code: string, message: string, param: string) => this.port.send(errorEvent(code, message, { param, ...(m.event_id ? { eventId: m.event_id } : {}) }));
    let next: RealtimeConfig;
    try {
      next = m.type === 'transcription_session.update' ? applyBeta(this.config, m.session) : applyBeta(applyGa(this.config, m.session), m.session);
    } catch (error) {
      if (error instanceof ConfigError) return fail('invalid_value', error.message, error.param);
      throw error;
    }
    if (!isOpenAiModel(next.model) && !this.deps.knowsModel(next.model)) {
      return fail('model_not_found', `the model ${next.model.slice(0, 100)} does not exist here: use whisper-1 or gpt-4o-transcribe (the hub's default model) or one of ${this.deps.modelNames().join(', ')}`, 'session.audio.input.transcription.model');
    }
    const fixed = this.live ? fixedChanges(this.config, next) : undefined;
    if (fixed) return fail('session_already_started', `${fixed} cannot change once audio has arrived: open a new session for other settings`, 'session');
    this.config = next;
    this.emit(this.dialect === 'beta' ? 'transcription_session.updated' : 'session.updated', { session: sessionOf(this.id, this.config, this.dialect) });
  }

  private append(base64: string, clientEventId: string | undefined): void {
    const bytes = Buffer.from(base64, 'base64');
    const whole = this.config.format === 's16le' ? bytes.length % 2 === 0 : true;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || !whole) {
      return this.port.send(errorEvent('invalid_value', 'audio must be base64 of the session\'s input format (pcm16: whole 16-bit samples)', { param: 'audio', ...(clientEventId ? { eventId: clientEventId } : {}) }));
    }
    if (bytes.length === 0) return;
    this.live ??= this.startLive();
    this.bytesSinceCommit += bytes.length;
    this.live?.onAudio(this.conn, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  private startLive(): LiveSession | undefined {
    const c = this.config;
    const params: StreamParams = {
      format: c.format,
      rate: c.rate,
      channels: 1,
      ...(c.language ? { language: c.language } : {}),
      ...(c.prompt ? { prompt: c.prompt } : {}),
      ...(isOpenAiModel(c.model) ? {} : { model: c.model }),
      name: 'OpenAI realtime session',
    };
    return this.deps.sessions.open(this.conn, params, turnsOf(c));
  }

  private onSpeech(speech: SpeechEvent): void {
    const vad = this.config.turn !== null;
    switch (speech.kind) {
      case 'started': {
        const item = newItem(speech.at);
        this.items.set(speech.segId, item);
        this.open = item;
        if (vad) this.emit('input_audio_buffer.speech_started', { audio_start_ms: ms(speech.at), item_id: item.id });
        return;
      }
      case 'stopped': {
        const item = this.items.get(speech.segId) ?? this.open;
        if (!item) return;
        this.items.set(speech.segId, item);
        item.stoppedAt = speech.at;
        if (this.open === item) this.open = undefined;
        if (speech.cause === 'clear') return this.forget(item);
        if (vad && (speech.cause === 'silence' || speech.cause === 'length')) this.emit('input_audio_buffer.speech_stopped', { audio_end_ms: ms(speech.at), item_id: item.id });
        return this.commit(item);
      }
      case 'finalized':
        // A commit with audio in which the VAD heard no speech: an item with no words, as OpenAI gives.
        if (speech.segId === null) {
          const item = newItem(0);
          this.commit(item);
          this.complete(item);
        }
        return;
      case 'done': {
        const item = this.items.get(speech.segId);
        if (item) this.complete(item);
        return;
      }
    }
  }

  private onHubFrame(frame: ServerFrame): void {
    if (frame.type === 'partial' || frame.type === 'final') {
      let item = this.items.get(frame.segId);
      if (!item && this.open) this.items.set(frame.segId, (item = this.open)); // a segId the live transcriber gave the rest of an open utterance
      if (!item) return;
      const delta = frame.type === 'partial' ? item.text.partial(frame.text) : item.text.final(frame.text);
      if (delta) this.emit('conversation.item.input_audio_transcription.delta', { item_id: item.id, content_index: 0, delta });
      return;
    }
    // A refusal (admission, bad audio) or a pass that failed: OpenAI says errors as error events.
    if (frame.type === 'error') this.port.send(errorEvent(frame.code, frame.message, { server: frame.code === 'internal' || frame.code === 'engine_failed' }));
  }

  private commit(item: Item): void {
    this.emit('input_audio_buffer.committed', { previous_item_id: this.lastCommitted, item_id: item.id });
    this.emit('conversation.item.created', {
      previous_item_id: this.lastCommitted,
      item: { id: item.id, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content: [{ type: 'input_audio', transcript: null }] },
    });
    this.lastCommitted = item.id;
  }

  private complete(item: Item): void {
    this.forget(item);
    const seconds = Math.round(Math.max(0, item.stoppedAt - item.startedAt) * 10) / 10;
    this.emit('conversation.item.input_audio_transcription.completed', { item_id: item.id, content_index: 0, transcript: item.text.text, usage: { type: 'duration', seconds } });
  }

  private forget(item: Item): void {
    for (const [segId, it] of this.items) if (it === item) this.items.delete(segId);
  }

  private emit(type: string, body: Record<string, unknown>): void {
    this.port.send({ type, event_id: `event_${randomUUID().replaceAll('-', '').slice(0, 24)}`, ...body });
  }
}

/** OpenAI's names for its transcription models: unchanged code asks for these, and gets the hub's default model. */
function isOpenAiModel(name: string): boolean {
  return OPENAI_MODELS.includes(name) || /^gpt-(4o|realtime)/.test(name) || name === 'whisper-1';
}

const ms = (seconds: number) => Math.round(seconds * 1000);
const newItem = (at: number): Item => ({ id: `item_${randomUUID().replaceAll('-', '').slice(0, 24)}`, text: new GrowingText(), startedAt: at, stoppedAt: at });
