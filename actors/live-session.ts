// One live session's owner, the way a PartyServer room has one: it holds the
// connection attached to the session (a resume takes it over), the audio that
// arrives before the session is recorded, the pacing check, the decoder of the
// attached connection and the idle timer. The stream actor owns the session's
// state (text, seq); this object owns its link to a client. It never touches a
// socket: it talks to a `LiveConnection`, which the server implements.
import type { ErrorCode, ServerFrame } from '../client/protocol/types.ts';
import type { StreamControl, StreamParams } from '../client/protocol/messages.ts';
import { CLOSE } from '../client/protocol/close.ts';
import type { StreamActor } from './stream-machine.ts';
import type { SpeechEvent } from './live-transcriber.ts';
import type { FfmpegInfo } from '../native/audio/ffmpeg.ts';
import { liveAudioInput, type LiveAudioInput } from '../native/audio/live-input.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import type { LogFn } from '../native/log-fn.ts';

/** One audio frame at most (4013 beyond). */
export const MAX_FRAME_BYTES = 1024 * 1024;
/** Audio may run ahead of real time by this much (a client catching up), no more. */
const MAX_AHEAD_SEC = 30;
const MAX_SPEEDUP = 10;
/** Audio that arrives before the session is recorded waits, up to this much. */
const MAX_EARLY_BYTES = 4 * 1024 * 1024;

/** What a session needs of its client's connection. */
export interface LiveConnection {
  readonly userId: string;
  /** closed, or being closed: nothing more reaches the client */
  readonly gone: boolean;
  send(frame: ServerFrame): void;
  /** from now on the session's task frames reach this connection */
  follow(taskId: string): void;
  batch(run: () => void): void;
  end(code: number, reason: string): void;
  /** an utterance of session `id` started, stopped or is done, or words have paused (for clients that report turns; not task frames) */
  onSpeech?(speech: SpeechEvent, id: string): void;
  /** false: the client cannot resume (another API's socket), so a drop ends the session with what was said */
  readonly resumable?: boolean;
}

export interface LiveSessionDeps {
  framesSince(id: string, since: number): ServerFrame[] | undefined;
  ffmpeg: FfmpegInfo | undefined;
  idleMs: number;
  log: LogFn;
}

/** Sends an error frame, then closes: a refusal the client can read. */
export function refuseConnection(conn: LiveConnection, close: number, code: ErrorCode, message: string): void {
  if (conn.gone) return;
  conn.send({ type: 'error', code, message });
  conn.end(close, message);
}

export class LiveSession {
  private actor: StreamActor | undefined;
  private conn: LiveConnection | undefined;
  private params: StreamParams;
  private input: LiveAudioInput | undefined;
  private early: Uint8Array[] = [];
  private earlyBytes = 0;
  /** controls that came before the session was recorded, in order (after its early audio) */
  private earlyControls: StreamControl[] = [];
  private pace = { since: Date.now(), audioSec: 0 };
  private idle: NodeJS.Timeout | undefined;
  /** the client sent `close`: the session is flushing its last finals */
  private closing = false;

  constructor(
    private readonly deps: LiveSessionDeps,
    conn: LiveConnection,
    params: StreamParams,
    /** told once when the session is over (closed, expired, or never recorded) */
    private readonly onEnded: (session: LiveSession) => void,
  ) {
    this.params = params;
    this.conn = conn;
    this.touch();
  }

  get id(): string | undefined {
    return this.actor?.getSnapshot().context.task.id;
  }

  get userId(): string | undefined {
    return this.actor?.getSnapshot().context.task.userId;
  }

  /** Whether a client is attached now (only those hold an admission slot). */
  get connected(): boolean {
    return this.conn !== undefined && !this.conn.gone;
  }

  /**
   * The session was recorded (or `revived` from its stored record): its actor
   * starts, the waiting connection is attached.
   */
  started(actor: StreamActor, revived = false): void {
    this.actor = actor;
    actor.start();
    const watch = actor.subscribe({ complete: () => (watch.unsubscribe(), this.ended()) });
    actor.on('speech', ({ speech }) => this.conn?.onSpeech?.(speech, this.id!));
    const conn = this.conn;
    if (!conn || conn.gone) return void actor.send({ type: 'DISCONNECTED' });
    this.attach(conn);
    const id = this.id!;
    if (revived) {
      this.greetResumed(conn);
      this.deps.log('info', 'stream session resumed from its stored record', { taskId: id, since: this.params.since });
    } else {
      this.deps.log('info', 'stream session started', { taskId: id, userId: conn.userId, format: this.params.format, rate: this.params.rate, channels: this.params.channels });
      conn.send({ type: 'ready', id });
    }
    for (const bytes of this.early.splice(0)) this.onAudio(conn, bytes);
    for (const control of this.earlyControls.splice(0)) this.onControl(conn, control);
  }

  /** The session could not be recorded (or found): the waiting client is told why. */
  failed(message: string, close: number = CLOSE.overloaded, code: ErrorCode = 'overloaded'): void {
    if (this.conn) refuseConnection(this.conn, close, code, message);
    this.onEnded(this);
  }

  /** A client resumes the session: it takes the session over from any connection still attached. */
  onConnect(conn: LiveConnection, params: StreamParams): void {
    const actor = this.actor!;
    const previous = this.conn;
    if (previous && previous !== conn) {
      this.conn = undefined;
      this.input?.kill();
      previous.end(CLOSE.normal, 'the session was resumed on another connection');
    }
    this.params = params;
    this.closing = false;
    this.attach(conn);
    this.touch();
    actor.send({ type: 'RESUMED' });
    this.greetResumed(conn);
    this.deps.log('info', 'stream session resumed', { taskId: actor.getSnapshot().context.task.id, since: params.since });
  }

  /** How much audio the session holds (so a client can re-send what the drop lost), then what the client missed. */
  private greetResumed(conn: LiveConnection): void {
    const task = this.actor!.getSnapshot().context.task;
    const since = this.params.since;
    conn.batch(() => {
      conn.send({ type: 'ready', id: task.id, durationSec: task.durationSec ?? 0 });
      const missed = since === undefined ? undefined : this.deps.framesSince(task.id, since);
      if (missed) for (const frame of missed) conn.send(frame);
      else conn.send({ type: 'task', id: task.id, seq: task.seq, task });
    });
  }

  onAudio(conn: LiveConnection, bytes: Uint8Array): void {
    if (conn !== this.conn || conn.gone) return;
    this.touch();
    if (bytes.byteLength > MAX_FRAME_BYTES) return refuseConnection(conn, CLOSE.frameTooLarge, 'bad_request', `audio frames are limited to ${MAX_FRAME_BYTES / 1024} KB`);
    if (!this.input) {
      this.earlyBytes += bytes.byteLength;
      if (this.earlyBytes > MAX_EARLY_BYTES) return refuseConnection(conn, CLOSE.overloaded, 'overloaded', 'too much audio before the session was ready');
      this.early.push(bytes);
      return;
    }
    const elapsed = (Date.now() - this.pace.since) / 1000;
    if (this.pace.audioSec > MAX_AHEAD_SEC + elapsed * MAX_SPEEDUP) {
      return refuseConnection(conn, CLOSE.overloaded, 'overloaded', 'audio is arriving far faster than real time; send it as it is recorded');
    }
    this.input.push(bytes);
  }

  onControl(conn: LiveConnection, control: StreamControl): void {
    if (conn !== this.conn || conn.gone) return;
    this.touch();
    if (control.type === 'keepalive') return;
    if (!this.actor) return void (this.earlyControls.length < 16 && this.earlyControls.push(control));
    if (control.type === 'finalize') return void this.actor.send({ type: 'FINALIZE' });
    if (control.type === 'clear') return void this.actor.send({ type: 'CLEAR' });
    // The client is done: no idle timeout while the last finals are made,
    // and the decoder hands over all it holds before the session closes.
    clearTimeout(this.idle);
    this.closing = true;
    const actor = this.actor;
    void this.input?.end().then(() => conn.gone || actor.send({ type: 'CLOSE' }));
  }

  onClose(conn: LiveConnection): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    clearTimeout(this.idle);
    this.input?.kill();
    this.input = undefined;
    // A client that cannot come back has said all it will: its session ends with what it said.
    if (this.actor?.getSnapshot().status === 'active') this.actor.send({ type: conn.resumable === false ? 'CLOSE' : 'DISCONNECTED' });
  }

  private attach(conn: LiveConnection): void {
    this.conn = conn;
    this.pace = { since: Date.now(), audioSec: 0 };
    conn.follow(this.id!);
    const toActor = (samples: Float32Array) => {
      if (samples.length === 0 || conn.gone) return;
      this.pace.audioSec += samples.length / SAMPLE_RATE;
      this.actor!.send({ type: 'AUDIO', samples });
    };
    this.input = liveAudioInput(this.params, this.deps.ffmpeg, toActor, (message) => refuseConnection(conn, CLOSE.badAudioFormat, 'unsupported_audio', message));
  }

  /**
   * The session is over (closed, or expired): the attached client is told,
   * then closed normally. Stopped from outside instead (another hub took it
   * over, cluster mode), the client is closed with 1001 and resumes it there.
   */
  private ended(): void {
    clearTimeout(this.idle);
    const conn = this.conn;
    this.conn = undefined;
    if (conn && !conn.gone && this.actor!.getSnapshot().status === 'stopped') {
      this.input?.kill();
      conn.end(CLOSE.goingAway, 'the session moved to another hub; resume it');
    } else if (conn && !conn.gone) {
      const task = this.actor!.getSnapshot().context.task;
      conn.send({ type: 'closed', id: task.id, durationSec: task.durationSec ?? 0 });
      conn.end(CLOSE.normal, 'closed');
    }
    this.onEnded(this);
  }

  private touch(): void {
    clearTimeout(this.idle);
    if (this.closing || !this.conn) return;
    const conn = this.conn;
    this.idle = setTimeout(() => conn.end(CLOSE.idleTimeout, 'idle timeout: no audio or keepalive'), this.deps.idleMs);
    this.idle.unref();
  }
}
