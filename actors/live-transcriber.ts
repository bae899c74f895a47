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
// - Pauses (endpointer.ts): the VAD reports every pause of 120 ms; a pause
//   gets a pass at once (a running pass that cannot hear it is stopped), so
//   the endpointer hears how the words end. A pass has heard a pause when it
//   ran 0.1 s past where the VAD says the speech stopped, or when all it
//   missed of that is quiet and its words end a sentence (the VAD's end lags
//   the voice). Where that pass's words end a
//   sentence at a pause that lasted 240 ms or more, the text before it is
//   final and the rest is the next utterance (pause-split.ts) — even if the
//   speaker went on meanwhile. A pause that goes on ends the utterance after
//   the session's endpointing silence (longer after a dangling word); when
//   the last pass heard all its speech, that pass is its final (no extra
//   pass). With the `silence` rule the VAD's end silence alone ends an
//   utterance. Also on `finalize`, on `flush` (close), or when the window
//   reaches MAX_WINDOW_SEC; never on silence if the turns are manual;
//   `clear` drops it. A finalize or close while a pass that hears all the
//   utterance's speech runs makes that pass its final (no pass after it).
// - Speech events say when an utterance started, stopped (and why) and when
//   its last final was made, for the adapters of other APIs that report turns.
import type { Engine } from './chunk-runner.ts';
import type { Scheduler } from './scheduler.ts';
import type { EngineSegment } from '../native/engine/types.ts';
import type { TranscribeOptions, Word } from '../client/protocol/types.ts';
import { EnergyVad, type VadEvent, type VoiceDetector } from '../native/audio/vad.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import { MAX_OVERLAP, dropOverlap, joinText, sameText, words } from './live-text.ts';
import { PreRoll, append, audioOf, loudestFrameDb, rangeOf, spanOf, wordsOf, type Utterance } from './utterance.ts';
import { ENDPOINTING, endpoint, isComplete } from './endpointer.ts';
import { splitAtPause, type Split } from './pause-split.ts';
import { InOrder } from './in-order.ts';

export const PARTIAL_STEP_MS = 500;
export const MAX_WINDOW_SEC = 25;
/** seconds of speech the engine may fall behind before the client is told */
export const LAG_WARNING_SEC = 5;
/** closed utterances waiting for their final pass, at most (in seconds of audio): older ones are dropped */
export const MAX_BACKLOG_SEC = 120;

/** How a session's turns end (per session; the hub's HUB_ENDPOINTING picks the rule). */
export interface TurnOptions {
  /** ms of silence that end any utterance (default ENDPOINTING.defaultMs); a complete sentence ends sooner under the `words` rule */
  endSilenceMs?: number;
  /** the speech probability the VAD needs (Silero; default 0.5) */
  threshold?: number;
  /** silence never ends an utterance: only finalize, close or the window cap do */
  manual?: boolean;
  /** `words` (default): the endpointer listens to the words; `silence`: the VAD's end silence alone ends an utterance */
  rule?: 'words' | 'silence';
  /** after this much audio with no new words following a final, an `utterance_end` speech event */
  utteranceEndMs?: number;
}

/** The silence after which the session's VAD reports the end of speech: a pause (the words rule decides), or the end itself. */
export const vadEndSilenceMs = (turns: TurnOptions) => (turns.rule === 'silence' && !turns.manual ? (turns.endSilenceMs ?? ENDPOINTING.silenceRuleMs) : ENDPOINTING.pauseMs);

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
  | { kind: 'finalized'; segId: string | null }
  /** `utteranceEndMs` of audio have followed the last final's last word with no new speech */
  | { kind: 'utterance_end'; lastWordEnd: number };

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
  /** how utterances end */
  turns?: TurnOptions;
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
  private routed: number; // samples routed so far (the VAD answers after push)
  /** the open utterance's pauses (sample positions; `end` absent: still silent) */
  private pauses: { start: number; end?: number }[] = [];
  private supersededAt = Number.NEGATIVE_INFINITY; // where a pause last stopped a running pass
  /** the pass running now, and how to stop it when a pause needs a pass that hears it */
  private pass: { u: Utterance; covers: number; final: boolean; stop: AbortController } | undefined;
  private lastWordEnd = 0; // seconds: the end of the last final word said
  private utteranceEndFor = 0; // lastWordEnd for which utterance_end was said
  private readonly abort = new AbortController();
  private readonly vadAnswers = new InOrder<VadEvent[]>(this.abort.signal, () => []); // routed in arrival order

  constructor(
    private readonly deps: LiveTranscriberDeps,
    private readonly emit: (event: LiveEvent) => void,
  ) {
    this.position = deps.startAt ?? 0;
    this.routed = this.position;
    this.vad = deps.detector ?? new EnergyVad({ endSilenceMs: vadEndSilenceMs(deps.turns ?? {}) }, this.position);
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
    const turns = this.deps.turns ?? {};
    let cursor = 0; // index into samples already routed
    for (const event of events) {
      const at = Math.max(0, Math.min(samples.length, event.at - from));
      this.vadSpeaking = event.type === 'start';
      if (this.current) append(this.current, samples.subarray(cursor, at)); // (a paused or manual turn spans pauses)
      else this.preRoll.remember(samples.subarray(cursor, at));
      if (event.type === 'start') {
        this.current ??= this.open(from + at);
        const pause = this.pauses.at(-1);
        if (pause && pause.end === undefined) pause.end = Math.max(pause.start, event.at); // speech again: the pause is over
      } else if (this.current && !turns.manual) {
        if (turns.rule === 'silence') this.closeCurrent('silence');
        else this.paused(this.current, Math.max(this.current.start, event.speechEnd ?? event.at));
      }
      cursor = at;
    }
    const rest = samples.subarray(cursor);
    // Speech that goes on after a finalize or the window cap opens the next utterance at once.
    if (!this.current && this.vadSpeaking && rest.length > 0) this.current = this.open(from + cursor);
    if (this.current) append(this.current, rest);
    else this.preRoll.remember(rest);
    this.routed = from + samples.length;
    if (this.current && this.current.length >= MAX_WINDOW_SEC * SAMPLE_RATE) this.closeCurrent('length');
    this.considerEnd();
    this.checkUtteranceEnd();
    this.checkLag();
    this.pump();
  }

  /** The open utterance paused at `at`: a pass must hear it (a running one that cannot is stopped). */
  private paused(u: Utterance, at: number): void {
    this.pauses.push({ start: at });
    const pass = this.pass;
    // (at most once per PARTIAL_STEP_MS of audio: a VAD that hears many short pauses must not starve the partials)
    if (!pass || pass.final || pass.u !== u || pass.covers >= at + HEARD_AFTER_PAUSE || at - this.supersededAt < (PARTIAL_STEP_MS / 1000) * SAMPLE_RATE) return;
    this.supersededAt = at;
    pass.stop.abort();
  }

  /** The pause still going on in the open utterance, if any. */
  private get openPause(): { start: number } | undefined {
    const pause = this.pauses.at(-1);
    return pause && pause.end === undefined ? pause : undefined;
  }

  /** A paused utterance: does the endpointer end it now? Ended with a pass that heard all its speech, that pass is its final. */
  private considerEnd(): void {
    const u = this.current;
    const pause = this.openPause;
    if (!u || !pause) return;
    const covered = this.lastPassHeard(u, pause.start);
    const heard = covered ? lastPassText(u) : undefined;
    const silenceMs = ((this.routed - pause.start) / SAMPLE_RATE) * 1000;
    const maxMs = this.deps.turns?.endSilenceMs ?? ENDPOINTING.defaultMs;
    if (endpoint({ silenceMs, heard, maxMs }) === 'wait') return;
    // A pass that will hear the whole pause is on its way: its text is the final, unless it is very late.
    const coming = this.pass && !this.pass.final && this.pass.u === u && this.pass.covers >= pause.start + HEARD_AFTER_PAUSE;
    if (!covered && coming && silenceMs < maxMs + ENDPOINTING.passGraceMs) return;
    if (!covered) return this.closeCurrent('silence');
    // The last pass heard every word: its text is the final, no pass needed.
    this.endWith(u, u.previous ?? [], u.passedLength, 'silence');
  }

  /** Ends the open utterance `u` with `segments` (of a pass over `length` samples) as its final, no pass needed. */
  private endWith(u: Utterance, segments: EngineSegment[], length: number, cause: StopCause): void {
    this.close(u, length, cause);
    this.emitFinal(u, segments, length);
    this.speech({ kind: 'done', segId: u.segId });
  }

  /**
   * The last finished pass over `u` heard all its speech before the pause at
   * `pauseStart`: it ran HEARD_AFTER_PAUSE past it, or (the quiet rule) all it
   * missed of that is quiet and its words end a sentence. Silero's end of
   * speech lags the voice by up to ~0.2 s, so the pass that started as the
   * words ended often heard every word; but whisper often puts the period
   * only once it hears silence after the last word, so without one the
   * pause's own pass tells the endpointer how the words end.
   */
  private lastPassHeard(u: Utterance, pauseStart: number): boolean {
    if (!u.previous) return false;
    const covers = this.heardUpTo(u);
    const wanted = pauseStart + HEARD_AFTER_PAUSE;
    if (covers >= wanted) return true;
    if (covers <= u.start || wanted - covers > QUIET_SPAN_MAX || u.start + u.length < wanted) return false;
    return loudestFrameDb(rangeOf(u, covers - u.start, wanted - u.start)) <= u.loudestDb - QUIET_DB && isComplete(lastPassText(u));
  }

  /** The stream position up to which the last pass over `u` heard. */
  private heardUpTo(u: Utterance): number {
    return u.start + u.passedLength;
  }

  /** Pauses of the open utterance `u` in seconds from its window's start, as pause-split takes them. */
  private pausesIn(u: Utterance) {
    return this.pauses.filter((p) => p.start > u.start).map((p) => ({ start: (p.start - u.start) / SAMPLE_RATE, ...(p.end !== undefined ? { end: (p.end - u.start) / SAMPLE_RATE } : {}) }));
  }

  private checkUtteranceEnd(): void {
    const wait = this.deps.turns?.utteranceEndMs;
    if (wait === undefined || this.current || this.finals.length > 0 || this.running || this.lastWordEnd <= this.utteranceEndFor) return;
    if (this.routed / SAMPLE_RATE - this.lastWordEnd < wait / 1000) return;
    this.utteranceEndFor = this.lastWordEnd;
    this.speech({ kind: 'utterance_end', lastWordEnd: this.lastWordEnd });
  }

  private open(at: number): Utterance {
    const u = this.preRoll.open(this.nextSegId(), at);
    this.speech({ kind: 'started', segId: u.segId, at: seconds(u.start) });
    return u;
  }

  private closeCurrent(cause: StopCause): void {
    const u = this.current;
    if (!u) return;
    const pause = this.openPause;
    if (cause === 'finalize' || cause === 'close') {
      // Closed in a pause that the last pass heard whole (a finalize, the end of the stream): that pass is the final.
      if (pause && u.previous && this.lastPassHeard(u, pause.start)) return this.endWith(u, u.previous, u.passedLength, cause);
      // A pass running now hears all of it (every sample, or all the speech before the pause): it becomes the final, no pass more.
      const pass = this.pass;
      if (pass && !pass.final && !pass.stop.signal.aborted && pass.u === u && (pass.covers >= u.start + u.length || (pause && pass.covers >= pause.start + HEARD_AFTER_PAUSE))) {
        pass.final = true;
        return this.close(u, pass.covers - u.start, cause);
      }
    }
    this.finals.push(u);
    this.close(u, u.length, cause);
  }

  /** `u` is no longer the open utterance: its audio up to `length` is all its final will hear. */
  private close(u: Utterance, length: number, cause: StopCause): void {
    this.pauses = [];
    u.closed = true;
    this.current = undefined;
    this.speech({ kind: 'stopped', segId: u.segId, at: seconds(u.start + length), cause });
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
    // A partial pass per PARTIAL_STEP_MS of new speech; a pause gets one at once (the endpointer wants to hear how the words end).
    const pause = this.pauses.at(-1);
    const unheardPause = u && pause !== undefined && u.start + u.length >= pause.start + HEARD_AFTER_PAUSE && !this.lastPassHeard(u, pause.start);
    const due = u && (u.length - u.passedLength >= (PARTIAL_STEP_MS / 1000) * SAMPLE_RATE || unheardPause);
    if (u && due) return void this.run(u, false);
    if (this.flushing && !this.current) {
      this.flushing = false;
      this.emit({ type: 'FLUSHED' });
    }
  }

  private async run(u: Utterance, final: boolean): Promise<void> {
    this.running = true;
    const audio = audioOf(u);
    const stop = new AbortController();
    // (a partial pass becomes the final when the utterance is closed while it runs and it hears all of it)
    const pass = { u, covers: u.start + audio.length, final, stop };
    this.pass = pass;
    const signal = AbortSignal.any([this.abort.signal, stop.signal]);
    try {
      const requested = performance.now();
      const lease = await this.deps.scheduler.acquire({ userId: this.deps.userId, taskId: this.deps.taskId, priority: 'live' }, signal);
      let segments: EngineSegment[];
      try {
        const started = performance.now();
        const job = { samples: audio, fitContext: true, language: this.deps.language, ...(this.deps.options ? { options: this.deps.options } : {}), tag: { taskId: this.deps.taskId } };
        const result = await this.deps.engine.run(job, signal, this.earlyPartials(u, audio.length));
        const done = performance.now();
        this.deps.onPass?.({ engineMs: result.engineMs, waitMs: started - requested, overheadMs: Math.max(0, done - started - result.engineMs) });
        segments = result.segments;
      } finally {
        lease.release();
      }
      u.passedLength = audio.length;
      if (pass.final) this.emitFinal(u, segments, audio.length);
      else this.agree(u, segments);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      // (a pass stopped for one that hears a pause failed nothing: the next pass follows below)
      if (!stop.signal.aborted) {
        this.emit({ type: 'PASS_FAILED', message: (error as Error).message });
        if (pass.final) this.emitFinal(u, [], audio.length); // the utterance ends even so
      }
    } finally {
      if (pass.final && !this.abort.signal.aborted) this.speech({ kind: 'done', segId: u.segId });
      this.running = false;
      this.pass = undefined;
    }
    if (this.abort.signal.aborted) return;
    this.considerEnd();
    this.checkUtteranceEnd();
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
      const span = spanOf(u, segments, length);
      this.emit({ type: 'PARTIAL', segId: u.segId, ...span, text, ...wordsOf(u, segments, text, span) });
    };
  }

  private emitFinal(u: Utterance, segments: EngineSegment[], length: number): void {
    const text = dropOverlap(joinText(segments), u.tail);
    // A final replaces the partial on screen even when it has no text left.
    if (text || u.shown) this.final(u, segments, length, text);
  }

  private final(u: Utterance, segments: EngineSegment[], length: number, text: string): void {
    const span = spanOf(u, segments, length);
    const timed = wordsOf(u, segments, text, span);
    if (text) this.lastWordEnd = Math.max(this.lastWordEnd, timed.words?.at(-1)?.end ?? span.end);
    this.emit({ type: 'FINAL', segId: u.segId, ...span, text, ...timed });
  }

  /**
   * The pass's words end a sentence at a pause: what comes before is final.
   * If the pause goes on and nothing was said after it, the utterance is over;
   * else the rest of the window is the next utterance.
   */
  private splitAt(u: Utterance, split: Split): void {
    const cut = Math.min(u.length, Math.round(split.cut * SAMPLE_RATE));
    const rest = dropOverlap(joinText(split.after), []);
    if (split.pause.end === undefined && !rest) return this.endWith(u, split.before, cut, 'silence');
    const text = dropOverlap(joinText(split.before), u.tail);
    this.speech({ kind: 'stopped', segId: u.segId, at: seconds(u.start + cut), cause: 'silence' });
    if (text || u.shown) this.final(u, split.before, cut, text);
    this.speech({ kind: 'done', segId: u.segId });
    // The rest of the window is the next utterance, under a new segId.
    const after = audioOf(u).slice(cut);
    const at = u.start + cut;
    this.pauses = this.pauses.filter((p) => p.start > at);
    Object.assign(u, { start: at, chunks: [after], length: after.length, passedLength: Math.max(0, u.passedLength - cut), segId: this.nextSegId(), shown: '', tail: [] });
    u.previous = split.after.map((s) => shiftSegment(s, split.cut));
    this.speech({ kind: 'started', segId: u.segId, at: seconds(at) });
    const partial = joinText(u.previous);
    if (!partial) return;
    u.shown = partial;
    const span = spanOf(u, u.previous, u.passedLength);
    this.emit({ type: 'PARTIAL', segId: u.segId, ...span, text: partial, ...wordsOf(u, u.previous, partial, span) });
  }

  /** A partial pass's text: cut at a sentence-ending pause, or else what two passes agree on is final (LocalAgreement-2). */
  private agree(u: Utterance, segments: EngineSegment[]): void {
    const split = u === this.current ? splitAtPause(segments, this.pausesIn(u), u.passedLength / SAMPLE_RATE, (this.routed - u.start) / SAMPLE_RATE) : undefined;
    if (split) return this.splitAt(u, split);
    let agreed = 0;
    const previous = u.previous ?? [];
    while (agreed < segments.length - 1 && agreed < previous.length && sameText(segments[agreed]!.text, previous[agreed]!.text)) agreed++;
    if (agreed > 0 && u === this.current) {
      const committed = segments.slice(0, agreed);
      const cut = Math.min(u.length, Math.round(committed.at(-1)!.end * SAMPLE_RATE));
      const text = dropOverlap(joinText(committed), u.tail);
      if (text || u.shown) this.final(u, committed, cut, text); // it replaces the partial on screen
      u.tail = [...u.tail, ...words(text)].slice(-MAX_OVERLAP);
      // What is final leaves the window; the rest goes on under a new segId.
      const rest = audioOf(u).slice(cut);
      this.pauses = this.pauses.filter((p) => p.start > u.start + cut);
      u.start += cut;
      u.chunks = [rest];
      u.length = rest.length;
      u.passedLength = Math.max(0, u.passedLength - cut);
      u.segId = this.nextSegId();
      u.shown = '';
      const remaining = segments.slice(agreed).map((s) => shiftSegment(s, cut / SAMPLE_RATE));
      u.previous = remaining;
      segments = remaining;
    } else {
      u.previous = segments;
    }
    const text = dropOverlap(joinText(segments), u.tail);
    // Nothing new to show: no frame (a partial with the same text only moves its end).
    if (!text || u !== this.current || text === u.shown) return;
    u.shown = text;
    const span = spanOf(u, segments, u.passedLength);
    this.emit({ type: 'PARTIAL', segId: u.segId, ...span, text, ...wordsOf(u, segments, text, span) });
  }
}

/** What the last pass over `u` said, less what was already final. */
const lastPassText = (u: Utterance) => dropOverlap(joinText(u.previous ?? []), u.tail) || u.tail.join(' ');

const seconds = (samples: number) => Math.round((samples / SAMPLE_RATE) * 1000) / 1000;

/** A pause counts as heard by a pass that ran this far past where the speech stopped (the last word's tail is in). */
const HEARD_AFTER_PAUSE = 0.1 * SAMPLE_RATE;

/**
 * Audio this far (dB) under the utterance's loudest 20 ms holds no word: on
 * the real-speech recordings the last 30 ms of a word measured 30 dB under,
 * speech tails 1–23 dB, the silence after the words 38–84 dB. In a noisy room
 * nothing is that quiet and a pause waits for a pass that hears it.
 */
const QUIET_DB = 35;

/** Longer unheard stretches are never taken as quiet (the VAD's lag is shorter). */
const QUIET_SPAN_MAX = 0.5 * SAMPLE_RATE;


/** A segment (and its words) `by` seconds earlier: its times in a window that now starts later. */
function shiftSegment(s: EngineSegment, by: number): EngineSegment {
  const move = (t: number) => Math.max(0, t - by);
  return { ...s, start: move(s.start), end: move(s.end), ...(s.words ? { words: s.words.map((w) => ({ ...w, start: move(w.start), end: move(w.end) })) } : {}) };
}
