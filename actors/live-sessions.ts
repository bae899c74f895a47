// The live sessions of this hub, by id, and the admission of new connections:
// a new session is refused when the hub or the user is at its limit, or the
// engines cannot keep up with another one in real time; a resume finds its
// session and hands it the connection — or, when the session's hub stopped
// (a restart; another hub, in cluster mode), revives it from its record. Only
// connected sessions (and those being recorded or revived) hold an admission
// slot: one waiting to be resumed keeps its state, not its slot.
import { optionsOf, type StreamParams } from '../client/protocol/messages.ts';
import type { TranscribeOptions } from '../client/protocol/types.ts';
import { CLOSE } from '../client/protocol/close.ts';
import type { StreamActor } from './stream-machine.ts';
import type { TurnOptions } from './live-transcriber.ts';
import { LiveSession, refuseConnection, type LiveConnection, type LiveSessionDeps } from './live-session.ts';
import { FFMPEG_MISSING } from '../native/audio/ffmpeg.ts';
import { needsFfmpeg } from '../native/audio/live-input.ts';

/** Engines busier than this with live passes take no new session (4029). */
const MAX_LIVE_UTILIZATION = 0.85;

export interface LiveSessionsDeps extends LiveSessionDeps {
  createStream(input: { userId: string; language?: string; name?: string; options?: TranscribeOptions; turns?: TurnOptions }): Promise<StreamActor>;
  /** a stored session of this user whose hub stopped, as a new actor here (undefined: none to resume) */
  reviveStream?(id: string, userId: string, turns: TurnOptions): Promise<StreamActor | undefined>;
  utilization(): number;
  limits: { maxStreams: number; maxStreamsPerUser: number };
  /** how utterances end unless a session says otherwise (HUB_ENDPOINTING) */
  rule?: 'words' | 'silence';
  shuttingDown(): boolean;
}

export class LiveSessions {
  private readonly byId = new Map<string, LiveSession>();
  /** sessions being recorded right now, with their user: they count for admission too */
  private readonly recording = new Map<LiveSession, string>();

  constructor(private readonly deps: LiveSessionsDeps) {}

  /**
   * A client connects: a new session, or the resume of one. Undefined when
   * refused (the client was told why). `turns` (adapters of other APIs): how
   * utterances end, beyond what `params.endpointing` says.
   */
  open(conn: LiveConnection, params: StreamParams, turns?: TurnOptions): LiveSession | undefined {
    if (this.deps.shuttingDown()) return void refuseConnection(conn, CLOSE.goingAway, 'overloaded', 'the hub is shutting down');
    if (needsFfmpeg(params.format) && !this.deps.ffmpeg) {
      return void refuseConnection(conn, CLOSE.badAudioFormat, 'unsupported_audio', `${FFMPEG_MISSING}; send raw PCM (format=s16le or f32le) instead`);
    }
    const sessionTurns = { ...(this.deps.rule ? { rule: this.deps.rule } : {}), ...turnsOf(params), ...turns };
    return params.resume ? this.resume(conn, params.resume, params, sessionTurns) : this.start(conn, params, sessionTurns);
  }

  /** A session waiting for its actor (being recorded, or revived): it holds an admission slot meanwhile. */
  private waiting(conn: LiveConnection, params: StreamParams): LiveSession {
    const session = new LiveSession(this.deps, conn, params, (ended) => {
      this.recording.delete(ended);
      if (ended.id && this.byId.get(ended.id) === ended) this.byId.delete(ended.id);
    });
    this.recording.set(session, conn.userId);
    return session;
  }

  private start(conn: LiveConnection, params: StreamParams, turns: TurnOptions): LiveSession | undefined {
    const refused = this.refusal(conn.userId);
    if (refused) return void refuseConnection(conn, CLOSE.overloaded, 'overloaded', refused);
    const session = this.waiting(conn, params);
    const language = params.language === 'auto' ? undefined : params.language;
    const options = optionsOf(params);
    this.deps.createStream({ userId: conn.userId, ...(language ? { language } : {}), ...(params.name ? { name: params.name } : {}), ...(options ? { options } : {}), turns }).then(
      (actor) => {
        this.recording.delete(session);
        this.byId.set(actor.getSnapshot().context.task.id, session);
        session.started(actor);
      },
      (error: unknown) => {
        this.deps.log('error', 'could not record a new stream session', { userId: conn.userId, error: String(error) });
        session.failed('the session could not be recorded; try again shortly');
      },
    );
    return session;
  }

  private resume(conn: LiveConnection, id: string, params: StreamParams, turns: TurnOptions): LiveSession | undefined {
    const gone = `no live session ${id} to resume (it ended, or its grace period passed)`;
    const session = this.byId.get(id);
    if (!session && this.deps.reviveStream) return this.revive(conn, id, params, turns, gone);
    if (!session || session.userId !== conn.userId) return void refuseConnection(conn, CLOSE.notFound, 'not_found', gone);
    const refused = this.refusal(conn.userId, session);
    if (refused) return void refuseConnection(conn, CLOSE.overloaded, 'overloaded', refused);
    session.onConnect(conn, params);
    return session;
  }

  /** The session is not on this hub: revived from its record if its hub stopped, else not found. */
  private revive(conn: LiveConnection, id: string, params: StreamParams, turns: TurnOptions, gone: string): LiveSession | undefined {
    const refused = this.refusal(conn.userId);
    if (refused) return void refuseConnection(conn, CLOSE.overloaded, 'overloaded', refused);
    const session = this.waiting(conn, params);
    this.deps.reviveStream!(id, conn.userId, turns).then(
      (actor) => {
        this.recording.delete(session);
        if (!actor) return session.failed(gone, CLOSE.notFound, 'not_found');
        this.byId.set(id, session);
        session.started(actor, true);
      },
      (error: unknown) => {
        this.deps.log('error', 'could not revive a stream session', { taskId: id, error: String(error) });
        session.failed('the session could not be resumed (the store is not answering); try again shortly');
      },
    );
    return session;
  }

  /** Why another connected session cannot be admitted now, if it cannot. */
  private refusal(userId: string, resuming?: LiveSession): string | undefined {
    const { maxStreams, maxStreamsPerUser } = this.deps.limits;
    let total = this.recording.size;
    let mine = [...this.recording.values()].filter((u) => u === userId).length;
    for (const session of this.byId.values()) {
      if (session === resuming || !session.connected) continue;
      total++;
      if (session.userId === userId) mine++;
    }
    if (total >= maxStreams) return `the hub is at its limit of ${maxStreams} live sessions; try again later`;
    if (mine >= maxStreamsPerUser) return `you already have ${mine} live sessions open, the most one user may have; close one first`;
    if (!resuming && this.deps.utilization() > MAX_LIVE_UTILIZATION) return 'the engines cannot keep up with another live session in real time; try again later';
    return undefined;
  }
}

/** `endpointing=` and `utterance_end_ms=` as turn options: false ends utterances only on request, a number of ms is the silence that ends any. */
function turnsOf(params: StreamParams): TurnOptions {
  return {
    ...(params.endpointing === false ? { manual: true } : params.endpointing !== undefined ? { endSilenceMs: params.endpointing } : {}),
    ...(params.utterance_end_ms !== undefined ? { utteranceEndMs: params.utterance_end_ms } : {}),
  };
}
