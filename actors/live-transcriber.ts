// The work behind a live stream: takes 16 kHz audio as it arrives, finds
// utterances with the VAD (silence never reaches the engine), and
// re-transcribes the open utterance on a live-priority engine slot as it grows.
// Results come out as events: partials (replaceable, same segId), finals
// (never change again), lag warnings. It owns the audio; the stream actor owns
// the session's public state.
//
// Policy:
// - A partial pass runs whenever PARTIAL_STEP_MS of new speech has arrived and
//   no pass is running; only the newest audio matters, so work never queues up
//   (a pass that would start while another runs is simply folded into the next).
// - While a pass runs, the segments whisper has emitted so far update the
//   partial when they say more than it shows (at most once per
//   PARTIAL_STEP_MS): a long utterance's text appears before its pass ends.
// - LocalAgreement-2 at segment level: a segment whose text two consecutive
//   passes agree on, and that is not the last one, is final: it is emitted, and
//   its audio leaves the window, which therefore stays bounded.
// - The utterance ends (final pass over what is left) after the VAD's end
//   silence (unless the session's turns are manual), on `finalize`, on `flush`
//   (close), or when the window reaches MAX_WINDOW_SEC; `clear` drops it.
// - Speech events say when an utterance started, stopped (and why) and when
//   its last final was made, for the adapters of other APIs that report turns.
import type { Engine } from './chunk-runner.ts';
import type { Scheduler } from './scheduler.ts';
import type { EngineSegment } from '../native/engine/types.ts';
import type { TranscribeOptions, Word } from '../client/protocol/types.ts';
import { EnergyVad, type VadEvent, type VoiceDetector } from '../native/audio/vad.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import { MAX_OVERLAP, dropOverlap, joinText, sameText, words } from './live-text.ts';
import { PreRoll, append, audioOf, spanOf, wordsOf, type Utterance } from './utterance.ts';
import { InOrder } from './in-order.ts';

export const PARTIAL_STEP_MS = 500;
export const MAX_WINDOW_SEC = 25;
/** seconds of speech the engine may fall behind before the client is told */
export const LAG_WARNING_SEC = 5;
/** closed utterances waiting for their final pass, at most (in seconds of audio): older ones are dropped */
export const MAX_BACKLOG_SEC = 120;

/** How a session's turns end: after the VAD's end silence (its length and threshold per session), or only when the client says. */
export interface TurnOptions {
  /** ms of silence that end an utterance (default: the VAD's, 600) */
  endSilenceMs?: number;
  /** the speech probability the VAD needs (Silero; default 0.5) */
  threshold?: number;
  /** silence never ends an utterance: only finalize, close or the window cap do */
  manual?: boolean;
}

/** Why an utterance stopped. */
export type StopCause = 'silence' | 'finalize' | 'close' | 'length' | 'clear';

/**
 * An utterance's life, in stream seconds: `done` follows its last final
 * (which may have been empty, or not sent at all). `finalized` answers each
 * finalize, with the utterance it closed (null: nothing was open).
 */
export type SpeechEvent =
  | { kind: 'started'; segId: string; at: number }
  | { kind: 'stopped'; segId: string; at: number; cause: StopCause }
  | { kind: 'done'; segId: string }
  | { kind: 'finalized'; segId: string | null };

export type LiveEvent =
  | { type: 'PARTIAL'; segId: string; start: number; end: number; text: string; words?: Word[] }
  | { type: 'FINAL'; segId: string; start: number; end: number; text: string; words?: Word[] }
  | { type: 'SPEECH'; speech: SpeechEvent }
  | { type: 'LAG'; seconds: number }
  | { type: 'FLUSHED' }
  | { type: 'PASS_FAILED'; message: string };

export interface LiveTranscriberDeps {
  scheduler: Scheduler;
  engine: Engine;
  taskId: string;
  userId: string;
  language: string | undefined;
  options?: TranscribeOptions;
  /** time (sample position) the stream starts at: resumed sessions go on from where they were */
  startAt?: number;
  /** finds the utterances (default: the energy detector); the transcriber closes it when it stops */
  detector?: VoiceDetector;
  /** silence does not end utterances (TurnOptions.manual) */
  manualTurns?: boolean;
  onPass?: (pass: PassTiming) => void;
}

/** Where the time of one pass went, in ms. */
export interface PassTiming {
  /** in the engine: reading, whisper, collecting segments */
  engineMs: number;
  /** waiting for an engine slot */
  waitMs: number;
  /** the hub's own share: IPC both ways, copying the audio, handling the result */
  overheadMs: number;
}

export class LiveTranscriber {
  private readonly vad: VoiceDetector;
  private position: number; // samples received so far
  private ended = false; // flush() was called: no more audio
  private readonly preRoll = new PreRoll();
  private current: Utterance | undefined;
  private readonly finals: Utterance[] = []; // closed utterances waiting for their final pass
  private running = false;
  private flushing = false;
  private segCounter = 0;
  private lagWarned = false;
  private vadSpeaking = false; // the detector's last word: inside speech
  private readonly abort = new AbortController();
  private readonly vadAnswers = new InOrder<VadEvent[]>(this.abort.signal, () => []); // routed in arrival order

  constructor(
    private readonly deps: LiveTranscriberDeps,
    private readonly emit: (event: LiveEvent) => void,
  ) {
    this.position = deps.startAt ?? 0;
    this.vad = deps.detector ?? new EnergyVad({}, this.position);
  }

  push(samples: Float32Array): void {
    if (this.ended || samples.length === 0) return;
    const from = this.position;
    this.position += samples.length;
    const copy = samples.slice(); // the caller may reuse its buffer before an asynchronous VAD answers
    this.vadAnswers.run(
      () => this.vad.push(copy),
      (events) => this.route(copy, from, events),
    );
  }

  /** Turns whatever is pending into finals now; the stream goes on. */
  finalize(): void {
    this.vadAnswers.run(
      () => [],
      () => {
        const segId = this.current?.segId ?? null;
        this.closeCurrent('finalize');
        this.speech({ kind: 'finalized', segId });
        this.pump();
      },
    );
  }

  /** Drops the open utterance: no final pass (a partial on screen is replaced by an empty final). */
  clear(): void {
    this.vadAnswers.run(
      () => [],
      () => {
        const u = this.current;
        this.preRoll.clear();
        if (!u) return;
        this.current = undefined;
        if (u.shown) this.emit({ type: 'FINAL', segId: u.segId, ...spanOf(u, [], u.length), text: '' });
        this.speech({ kind: 'stopped', segId: u.segId, at: seconds(u.start + u.length), cause: 'clear' });
        this.speech({ kind: 'done', segId: u.segId });
      },
    );
  }

  /** Ends the stream: everything pending becomes final, then FLUSHED. */
  flush(): void {
    this.ended = true;
    this.vadAnswers.run(
      () => [],
      () => {
        this.closeCurrent('close');
        this.flushing = true;
        this.pump();
      },
    );
  }

  stop(): void {
    this.abort.abort();
    this.vad.close();
  }

  private route(samples: Float32Array, from: number, events: VadEvent[]): void {
    let cursor = 0; // index into samples already routed
    for (const event of events) {
      const at = Math.max(0, Math.min(samples.length, event.at - from));
      this.vadSpeaking = event.type === 'start';
      if (this.current) append(this.current, samples.subarray(cursor, at)); // (a manual turn spans pauses)
      else this.preRoll.remember(samples.subarray(cursor, at));
      if (event.type === 'start') this.current ??= this.open(from + at);
      else if (!this.deps.manualTurns) this.closeCurrent('silence');
      cursor = at;
    }
    const rest = samples.subarray(cursor);
    // Speech that goes on after a finalize or the window cap opens the next utterance at once.
    if (!this.current && this.vadSpeaking && rest.length > 0) this.current = this.open(from + cursor);
    if (this.current) append(this.current, rest);
    else this.preRoll.remember(rest);
    if (this.current && this.current.length >= MAX_WINDOW_SEC * SAMPLE_RATE) this.closeCurrent('length');
    this.checkLag();
    this.pump();
  }

  private open(at: number): Utterance {
    const u = this.preRoll.open(this.nextSegId(), at);
    this.speech({ kind: 'started', segId: u.segId, at: seconds(u.start) });
    return u;
  }

  private closeCurrent(cause: StopCause): void {
    const u = this.current;
    if (!u) return;
    u.closed = true;
    this.finals.push(u);
    this.current = undefined;
    this.speech({ kind: 'stopped', segId: u.segId, at: seconds(u.start + u.length), cause });
  }

  private speech(speech: SpeechEvent): void {
    this.emit({ type: 'SPEECH', speech });
  }

  private nextSegId(): string {
    return `${this.deps.taskId.slice(0, 8)}-${++this.segCounter}`;
  }

  private checkLag(): void {
    const behind = this.current ? (this.current.length - this.current.passedLength) / SAMPLE_RATE : 0;
    let queued = this.finals.reduce((n, u) => n + u.length, 0) / SAMPLE_RATE;
    // Never buffer without bound: the engine cannot keep up, the oldest waiting utterance goes.
    while (queued > MAX_BACKLOG_SEC && this.finals.length > 1) {
      const dropped = this.finals.shift()!;
      queued -= dropped.length / SAMPLE_RATE;
      this.emitFinal(dropped, [], dropped.length);
      this.speech({ kind: 'done', segId: dropped.segId });
      this.emit({ type: 'PASS_FAILED', message: `dropped ${(dropped.length / SAMPLE_RATE).toFixed(1)} s of speech: the engine is too far behind` });
    }
    const lag = behind + queued;
    if (lag > LAG_WARNING_SEC && !this.lagWarned) {
      this.lagWarned = true;
      this.emit({ type: 'LAG', seconds: Math.round(lag * 10) / 10 });
    } else if (lag < LAG_WARNING_SEC / 2) this.lagWarned = false;
  }

  /** Starts the next pass if none is running: finals first (in order), else a partial of the open utterance. */
  private pump(): void {
    if (this.running || this.abort.signal.aborted) return;
    const final = this.finals.shift();
    if (final) return void this.run(final, true);
    const u = this.current;
    if (u && u.length - u.passedLength >= (PARTIAL_STEP_MS / 1000) * SAMPLE_RATE) return void this.run(u, false);
    if (this.flushing && !this.current) {
      this.flushing = false;
      this.emit({ type: 'FLUSHED' });
    }
  }

  private async run(u: Utterance, final: boolean): Promise<void> {
    this.running = true;
    const audio = audioOf(u);
    try {
      const requested = performance.now();
      const lease = await this.deps.scheduler.acquire({ userId: this.deps.userId, taskId: this.deps.taskId, priority: 'live' }, this.abort.signal);
      let segments: EngineSegment[];
      try {
        const started = performance.now();
        const job = { samples: audio, fitContext: true, language: this.deps.language, ...(this.deps.options ? { options: this.deps.options } : {}), tag: { taskId: this.deps.taskId } };
        const result = await this.deps.engine.run(job, this.abort.signal, this.earlyPartials(u, audio.length));
        const done = performance.now();
        this.deps.onPass?.({ engineMs: result.engineMs, waitMs: started - requested, overheadMs: Math.max(0, done - started - result.engineMs) });
        segments = result.segments;
      } finally {
        lease.release();
      }
      u.passedLength = audio.length;
      if (final) this.emitFinal(u, segments, audio.length);
      else this.agree(u, segments);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      this.emit({ type: 'PASS_FAILED', message: (error as Error).message });
      if (final) this.emitFinal(u, [], audio.length); // the utterance ends even so
    } finally {
      if (final && !this.abort.signal.aborted) this.speech({ kind: 'done', segId: u.segId });
      this.running = false;
    }
    this.checkLag();
    this.pump();
  }

  /** What a running pass has said so far, shown when it says more than the partial on screen. */
  private earlyPartials(u: Utterance, length: number): (segments: EngineSegment[]) => void {
    let lastAt = Number.NEGATIVE_INFINITY;
    return (segments) => {
      const now = performance.now();
      if (this.abort.signal.aborted || now - lastAt < PARTIAL_STEP_MS) return;
      const text = dropOverlap(joinText(segments), u.tail);
      if (!text || text.length <= u.shown.length) return;
      lastAt = now;
      u.shown = text;
      this.emit({ type: 'PARTIAL', segId: u.segId, ...spanOf(u, segments, length), text, ...wordsOf(u, segments, text) });
    };
  }

  private emitFinal(u: Utterance, segments: EngineSegment[], length: number): void {
    const text = dropOverlap(joinText(segments), u.tail);
    // A final replaces the partial on screen even when it has no text left.
    if (text || u.shown) this.emit({ type: 'FINAL', segId: u.segId, ...spanOf(u, segments, length), text, ...wordsOf(u, segments, text) });
  }

  /** LocalAgreement-2, per segment: what two passes agree on (but the last segment) is final. */
  private agree(u: Utterance, segments: EngineSegment[]): void {
    let agreed = 0;
    const previous = u.previous ?? [];
    while (agreed < segments.length - 1 && agreed < previous.length && sameText(segments[agreed]!.text, previous[agreed]!.text)) agreed++;
    if (agreed > 0 && u === this.current) {
      const committed = segments.slice(0, agreed);
      const cut = Math.min(u.length, Math.round(committed.at(-1)!.end * SAMPLE_RATE));
      const text = dropOverlap(joinText(committed), u.tail);
      if (text || u.shown) this.emit({ type: 'FINAL', segId: u.segId, ...spanOf(u, committed, cut), text, ...wordsOf(u, committed, text) }); // it replaces the partial on screen
      u.tail = [...u.tail, ...words(text)].slice(-MAX_OVERLAP);
      // What is final leaves the window; the rest goes on under a new segId.
      const rest = audioOf(u).slice(cut);
      u.start += cut;
      u.chunks = [rest];
      u.length = rest.length;
      u.passedLength = Math.max(0, u.passedLength - cut);
      u.segId = this.nextSegId();
      u.shown = '';
      const remaining = segments.slice(agreed).map((s) => ({ ...s, start: Math.max(0, s.start - cut / SAMPLE_RATE), end: Math.max(0, s.end - cut / SAMPLE_RATE) }));
      u.previous = remaining;
      segments = remaining;
    } else {
      u.previous = segments;
    }
    const text = dropOverlap(joinText(segments), u.tail);
    // Nothing new to show: no frame (a partial with the same text only moves its end).
    if (!text || u !== this.current || text === u.shown) return;
    u.shown = text;
    this.emit({ type: 'PARTIAL', segId: u.segId, ...spanOf(u, segments, u.passedLength), text, ...wordsOf(u, segments, text) });
  }
}

const seconds = (samples: number) => Math.round((samples / SAMPLE_RATE) * 1000) / 1000;
