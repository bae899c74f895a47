// Deepgram's live transcription socket, `/v1/listen`: audio in as binary
// frames, Deepgram's messages out, so code written for Deepgram (its SDK sends
// `Authorization: Token <key>`; browsers offer the `token` subprotocol) works
// with the base URL and key changed. Translation only: the audio goes to a hub
// live session (the same VAD, admission, priority and persistence as
// `/v1/stream`; a task of the caller) and its text comes back as `Results`:
// interim (`is_final: false`) from partials, final from finals,
// `speech_final` on the final that ends an utterance, `from_finalize` after a
// `Finalize`; `SpeechStarted` and `UtteranceEnd` from the session's speech
// events; `Metadata` when the stream closes. A Finalize keeps the socket open.
import { createHash, type Hash } from 'node:crypto';
import { z } from 'zod';
import type { LiveSessions } from '../../actors/live-sessions.ts';
import type { LiveConnection, LiveSession } from '../../actors/live-session.ts';
import { translatedConnection } from './translated-connection.ts';
import type { SpeechEvent } from '../../actors/live-transcriber.ts';
import type { FrameTap } from '../../actors/frame-tap.ts';
import { CLOSE } from '../../client/protocol/close.ts';
import type { ServerFrame, Word } from '../../client/protocol/types.ts';
import type { StreamParams } from '../../client/protocol/messages.ts';
import { MAX_FRAME_BYTES } from '../../actors/live-session.ts';
import type { SocketPort, SocketRoute } from '../ws/socket-port.ts';
import { audioOf, deepgramError, endpointingOf, isDeepgramModel, languageOf, listenParamsSchema, metadata, modelInfo, promptOf, queryObject, results, type ListenParams, type ModelInfo } from './deepgram-format.ts';

export const listenControlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('KeepAlive') }),
  z.object({ type: z.literal('Finalize') }),
  z.object({ type: z.literal('CloseStream') }),
]);
type ListenControl = z.infer<typeof listenControlSchema>;

export interface ListenDeps {
  sessions: LiveSessions;
  frames: FrameTap;
  knowsModel(name: string): boolean;
  /** the model that runs for `name` (absent: the default), and the engine's version */
  model(name: string | undefined): { name: string; version: string };
}

/** Deepgram closes with standard codes and a reason: the hub's own codes, as Deepgram would say them. */
const CLOSE_AS_DEEPGRAM: Record<number, [number, string]> = {
  [CLOSE.badAudioFormat]: [1008, 'DATA-0000'],
  [CLOSE.idleTimeout]: [1011, 'NET-0001'],
  [CLOSE.frameTooLarge]: [1009, 'DATA-0001'],
  [CLOSE.overloaded]: [1013, 'LIMIT-0000'],
  [CLOSE.notFound]: [1008, 'DATA-0002'],
};

export function listenRoute(deps: ListenDeps): SocketRoute<typeof listenControlSchema, ListenParams, object> {
  return {
    path: '/v1/listen',
    params: { schema: listenParamsSchema, close: 1008 },
    messages: listenControlSchema,
    audio: true,
    limits: { maxPayloadBytes: 16 * MAX_FRAME_BYTES, idleTimeoutSec: 0 /* the live session's own idle timer */ },
    foreign: {
      credentials: ({ authorization, protocols }) => {
        const header = /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(authorization)?.[1];
        const offered = protocols[0] === 'token' ? protocols[1] : undefined;
        return { token: header ?? offered, ...(offered ? { protocol: 'token' } : {}) };
      },
      refusal: (status, message) => (status === 401 ? deepgramError('INVALID_AUTH', 'Invalid credentials.', '') : deepgramError('Bad Request', message, '')),
      readQuery: queryObject,
      error: (frame) => ({ type: 'Error', err_code: frame.code, err_msg: frame.message, description: frame.message }),
    },
    connect(port, params) {
      if (params.model && !isDeepgramModel(params.model) && !deps.knowsModel(params.model)) {
        port.end(1008, `DATA-0003: unknown model ${params.model.slice(0, 60)}`);
        return {};
      }
      const listen = new DeepgramListen(deps, port, params, audioOf(params));
      return { onAudio: (bytes) => listen.onAudio(bytes), onMessage: (m) => listen.onControl(m), onClose: () => listen.onClose() };
    },
  };
}

/** One client's stream: its hub live session, and what Deepgram's messages need that the hub's frames do not say. */
class DeepgramListen {
  private readonly conn: LiveConnection;
  private readonly live: LiveSession | undefined;
  private readonly unfollow: () => void;
  private requestId = '';
  private readonly model: ModelInfo;
  private readonly sha = createHash('sha256') as Hash;
  private readonly punctuate: boolean;
  /** segIds whose utterance has stopped (their next final ends it), and why */
  private readonly stopped = new Map<string, SpeechEvent & { kind: 'stopped' }>();
  private lastWordEnd = 0;
  private finalizing = false;

  constructor(
    private readonly deps: ListenDeps,
    private readonly port: SocketPort<object>,
    private readonly params: ListenParams,
    audio: { format: StreamParams['format']; rate: number; channels: number },
  ) {
    this.punctuate = params.punctuate !== false || params.smart_format === true;
    const wanted = params.model && !isDeepgramModel(params.model) ? params.model : undefined;
    const model = deps.model(wanted);
    this.model = modelInfo(model.name, model.version);
    const link = translatedConnection(port, deps.frames, {
      frame: (frame) => this.onHubFrame(frame),
      speech: (speech) => this.onSpeech(speech),
      end: (code, reason) => {
        const [dgCode, dgReason] = CLOSE_AS_DEEPGRAM[code] ?? [code, ''];
        port.end(dgCode, dgReason ? `${dgReason}: ${reason}` : reason);
      },
    });
    this.conn = link.conn;
    this.unfollow = link.close;
    const language = languageOf(params);
    const prompt = promptOf(params);
    const endpointing = endpointingOf(params);
    const streamParams: StreamParams = {
      ...audio,
      ...(language ? { language } : {}),
      ...(prompt ? { prompt } : {}),
      ...(wanted ? { model: wanted } : {}),
      ...(endpointing !== undefined ? { endpointing } : {}),
      ...(params.utterance_end_ms !== undefined ? { utterance_end_ms: params.utterance_end_ms } : {}),
      name: 'Deepgram live stream',
    };
    this.live = deps.sessions.open(this.conn, streamParams);
  }

  onAudio(bytes: Uint8Array): void {
    // An empty frame is Deepgram's old way of saying CloseStream.
    if (bytes.byteLength === 0) return this.onControl({ type: 'CloseStream' });
    this.sha.update(bytes);
    this.live?.onAudio(this.conn, bytes);
  }

  onControl(m: ListenControl): void {
    if (!this.live) return;
    if (m.type === 'KeepAlive') return this.live.onControl(this.conn, { type: 'keepalive' });
    if (m.type === 'Finalize') {
      this.finalizing = true;
      return this.live.onControl(this.conn, { type: 'finalize' });
    }
    this.live.onControl(this.conn, { type: 'close' });
  }

  onClose(): void {
    this.unfollow();
    this.live?.onClose(this.conn);
  }

  private onSpeech(speech: SpeechEvent): void {
    switch (speech.kind) {
      case 'started':
        if (this.params.vad_events) this.port.send({ type: 'SpeechStarted', channel: [0], timestamp: speech.at });
        return;
      case 'stopped':
        this.stopped.set(speech.segId, speech);
        return;
      case 'finalized':
        // Nothing was pending: Deepgram still answers a Finalize with an empty final result.
        if (speech.segId === null && this.finalizing) {
          this.finalizing = false;
          this.sendResults({ start: this.lastWordEnd, end: this.lastWordEnd, text: '' }, true, false, true);
        }
        return;
      case 'done':
        this.stopped.delete(speech.segId);
        return;
      case 'utterance_end':
        this.port.send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: speech.lastWordEnd });
        return;
    }
  }

  private onHubFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'ready':
        this.requestId = frame.id;
        return;
      case 'partial':
        if (this.params.interim_results) this.sendResults(frame, false, false, false);
        return;
      case 'final': {
        const stop = this.stopped.get(frame.segId);
        const fromFinalize = stop?.cause === 'finalize' && this.finalizing;
        if (fromFinalize) this.finalizing = false;
        this.sendResults(frame, true, stop !== undefined && stop.cause !== 'clear', fromFinalize);
        return;
      }
      case 'closed':
        return this.port.send(metadata(this.requestId, this.model, frame.durationSec, this.sha.copy().digest('hex')));
      default:
        return;
    }
  }

  private sendResults(r: { start: number; end: number; text: string; words?: Word[] }, isFinal: boolean, speechFinal: boolean, fromFinalize: boolean): void {
    if (isFinal && r.words?.length) this.lastWordEnd = r.words.at(-1)!.end;
    this.port.send(results({ requestId: this.requestId, model: this.model, start: r.start, end: r.end, text: r.text, words: r.words, isFinal, speechFinal, fromFinalize, punctuate: this.punctuate }));
  }
}
