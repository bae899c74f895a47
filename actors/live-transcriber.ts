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
// - LocalAgreement-2 at segment level: a segment whose text two consecutive
//   passes agree on, and that is not the last one, is final: it is emitted, and
//   its audio leaves the window, which therefore stays bounded.
// - The utterance ends (final pass over what is left) after the VAD's end
//   silence, on `finalize`, on `flush` (close), or when the window reaches
//   MAX_WINDOW_SEC.
import type { Engine } from './chunk-runner.ts';
import type { Scheduler } from './scheduler.ts';
import type { EngineSegment } from '../native/engine/types.ts';
import { EnergyVad, type VadEvent, type VoiceDetector } from '../native/audio/vad.ts';
import { SAMPLE_RATE, concatArrays } from '../native/audio/pcm.ts';
import { MAX_OVERLAP, dropOverlap, joinText, sameText, words } from './live-text.ts';

export const PARTIAL_STEP_MS = 500;
export const MAX_WINDOW_SEC = 25;
const PRE_ROLL_SAMPLES = 0.3 * SAMPLE_RATE;
/** seconds of speech the engine may fall behind before the client is told */
export const LAG_WARNING_SEC = 5;
/** closed utterances waiting for their final pass, at most (in seconds of audio): older ones are dropped */
export const MAX_BACKLOG_SEC = 120;

export type LiveEvent =
  | { type: 'PARTIAL'; segId: string; start: number; end: number; text: string }
  | { type: 'FINAL'; segId: string; start: number; end: number; text: string }
  | { type: 'LAG'; seconds: number }
  | { type: 'FLUSHED' }
  | { type: 'PASS_FAILED'; message: string };

interface Utterance {
  segId: string;
  /** sample position (in the stream) of the window's first sample */
  start: number;
  chunks: Float32Array[];
  length: number;
  /** segments of the previous partial pass over this window, for LocalAgreement-2 */
  previous: EngineSegment[] | undefined;
  /** window length covered by the last pass */
  passedLength: number;
  /** the utterance is over: only its final pass remains */
  closed: boolean;
  /** the text of the partial on screen for segId ('' if none) */
  shown: string;
  /** the last words made final in this utterance: a pass over the rest may hear them again */
  tail: string[];
}

export interface LiveTranscriberDeps {
  scheduler: Scheduler;
  engine: Engine;
  taskId: string;
  userId: string;
  language: string | undefined;
  /** time (sample position) the stream starts at: resumed sessions go on from where they were */
  startAt?: number;
  /** finds the utterances (default: the energy detector); the transcriber closes it when it stops */
  detector?: VoiceDetector;
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
  private vadQueue: Promise<void> | undefined; // VAD answers still to come, routed in arrival order
  private ended = false; // flush() was called: no more audio
  private recent: Float32Array[] = []; // pre-roll: the last ~0.3 s before speech
  private recentLength = 0;
  private current: Utterance | undefined;
  private readonly finals: Utterance[] = []; // closed utterances waiting for their final pass
  private running = false;
  private flushing = false;
  private segCounter = 0;
  private lagWarned = false;
  private readonly abort = new AbortController();

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
    this.inOrder(
      () => this.vad.push(copy),
      (events) => this.route(copy, from, events),
    );
  }

  /** Turns whatever is pending into finals now; the stream goes on. */
  finalize(): void {
    this.inOrder(
      () => [],
      () => {
        this.closeCurrent();
        this.pump();
      },
    );
  }

  /** Ends the stream: everything pending becomes final, then FLUSHED. */
  flush(): void {
    this.ended = true;
    this.inOrder(
      () => [],
      () => {
        this.closeCurrent();
        this.flushing = true;
        this.pump();
      },
    );
  }

  stop(): void {
    this.abort.abort();
    this.vad.close();
  }

  /**
   * Runs `then` with the VAD's answer, after every earlier answer: at once
   * when the detector answers synchronously and nothing is waiting, else in
   * a chain. The detector is asked at once (it keeps its own order); a failed
   * answer counts as no boundaries.
   */
  private inOrder(ask: () => VadEvent[] | Promise<VadEvent[]>, then: (events: VadEvent[]) => void): void {
    if (this.abort.signal.aborted) return;
    const answer = ask();
    if (!this.vadQueue && Array.isArray(answer)) return then(answer);
    const events = Promise.resolve(answer).catch((): VadEvent[] => []);
    const mine = (this.vadQueue ?? Promise.resolve()).then(async () => {
      const found = await events;
      if (!this.abort.signal.aborted) then(found);
    });
    this.vadQueue = mine;
    void mine.then(() => {
      if (this.vadQueue === mine) this.vadQueue = undefined;
    });
  }

  private route(samples: Float32Array, from: number, events: VadEvent[]): void {
    let cursor = 0; // index into samples already routed
    for (const event of events) {
      const at = Math.max(0, Math.min(samples.length, event.at - from));
      if (event.type === 'start') {
        this.remember(samples.subarray(cursor, at));
        this.open(from + at);
      } else {
        this.append(samples.subarray(cursor, at));
        this.closeCurrent();
      }
      cursor = at;
    }
    const rest = samples.subarray(cursor);
    if (this.current) this.append(rest);
    else this.remember(rest);
    if (this.current && this.current.length >= MAX_WINDOW_SEC * SAMPLE_RATE) this.closeCurrent();
    this.checkLag();
    this.pump();
  }

  private remember(samples: Float32Array): void {
    if (samples.length === 0) return;
    this.recent.push(samples.slice());
    this.recentLength += samples.length;
    while (this.recent.length > 1 && this.recentLength - this.recent[0]!.length >= PRE_ROLL_SAMPLES) this.recentLength -= this.recent.shift()!.length;
  }

  private open(at: number): void {
    const preRoll = joinChunks(this.recent, this.recentLength).subarray(-PRE_ROLL_SAMPLES);
    this.recent = [];
    this.recentLength = 0;
    this.current = {
      segId: this.nextSegId(),
      start: at - preRoll.length,
      chunks: preRoll.length ? [preRoll] : [],
      length: preRoll.length,
      previous: undefined,
      passedLength: 0,
      closed: false,
      shown: '',
      tail: [],
    };
  }

  private append(samples: Float32Array): void {
    if (!this.current || samples.length === 0) return;
    this.current.chunks.push(samples.slice());
    this.current.length += samples.length;
  }

  private closeCurrent(): void {
    if (!this.current) return;
    this.current.closed = true;
    this.finals.push(this.current);
    this.current = undefined;
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
    const audio = joinChunks(u.chunks, u.length);
    try {
      const requested = performance.now();
      const lease = await this.deps.scheduler.acquire({ userId: this.deps.userId, taskId: this.deps.taskId, priority: 'live' }, this.abort.signal);
      let segments: EngineSegment[];
      try {
        const started = performance.now();
        const job = { samples: audio, fitContext: true, language: this.deps.language, tag: { taskId: this.deps.taskId } };
        const result = await this.deps.engine.run(job, this.abort.signal);
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
      this.running = false;
    }
    this.checkLag();
    this.pump();
  }

  private emitFinal(u: Utterance, segments: EngineSegment[], length: number): void {
    const text = dropOverlap(joinText(segments), u.tail);
    // A final replaces the partial on screen even when it has no text left.
    if (text || u.shown) this.emit({ type: 'FINAL', segId: u.segId, ...this.span(u, segments, length), text });
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
      if (text || u.shown) this.emit({ type: 'FINAL', segId: u.segId, ...this.span(u, committed, cut), text }); // it replaces the partial on screen
      u.tail = [...u.tail, ...words(text)].slice(-MAX_OVERLAP);
      // What is final leaves the window; the rest goes on under a new segId.
      const rest = joinChunks(u.chunks, u.length).slice(cut);
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
    this.emit({ type: 'PARTIAL', segId: u.segId, ...this.span(u, segments, u.passedLength), text });
  }

  /** Start and end in seconds from the stream's start. */
  private span(u: Utterance, segments: EngineSegment[], length: number): { start: number; end: number } {
    const base = u.start / SAMPLE_RATE;
    const start = base + (segments[0]?.start ?? 0);
    const end = base + Math.min(length / SAMPLE_RATE, segments.at(-1)?.end ?? length / SAMPLE_RATE);
    return { start: round(start), end: round(Math.max(start, end)) };
  }
}

const round = (s: number) => Math.round(s * 1000) / 1000;

function joinChunks(chunks: Float32Array[], length: number): Float32Array {
  if (chunks.length === 1) return chunks[0]!;
  return chunks.length ? concatArrays(chunks) : new Float32Array(length);
}
