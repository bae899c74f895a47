// Voice activity detection for live streams: decides where utterances start
// and end, so that silence never reaches the engine (it cannot invent text
// from nothing it is not given). Two detectors share one interface and one
// gate: Silero VAD (a neural model, silero-vad.ts; the default) and the energy
// detector below (no model: the fallback, and what tests of mechanics use).
// The gate turns per-frame decisions into utterances: one starts after a few
// speech frames in a row (a click is not speech) and ends after enough
// silence (pauses between words are not ends). See docs/decisions.md for the
// accuracy of both, measured on real speech in noise.
import { SAMPLE_RATE, concatArrays } from './pcm.ts';

/** `at`: where an utterance starts or ends (padded); an end's `speechEnd`: where the speech itself stopped. */
export type VadEvent = { type: 'start'; at: number } | { type: 'end'; at: number; speechEnd?: number };

/** Finds utterances in a stream of 16 kHz samples; one per live session. */
export interface VoiceDetector {
  /** Feeds samples; returns (or resolves to) the boundaries they complete, as sample positions from the stream's start. */
  push(samples: Float32Array): VadEvent[] | Promise<VadEvent[]>;
  /** Lets go of whatever the detector holds (a model state in a worker). */
  close(): void;
}

export interface GateOptions {
  /** consecutive speech frames that start an utterance */
  onsetFrames: number;
  /** silence that ends an utterance */
  endSilenceMs: number;
  /** added before a start and after an end (a model's frames lag the voice's edges) */
  padMs: number;
}


/** Per-frame decisions to utterance boundaries (hysteresis: `onset` opens, `sustain` keeps open). */
export class SpeechGate {
  private speaking = false;
  private run = 0; // speech frames in a row (while silent) or silent samples in a row (while speaking)
  private lastSpeechEnd = 0;
  private readonly pad: number;
  private readonly endSilence: number;

  constructor(private readonly o: GateOptions) {
    this.pad = Math.round((o.padMs * SAMPLE_RATE) / 1000);
    this.endSilence = (o.endSilenceMs * SAMPLE_RATE) / 1000;
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** One frame at sample position `start`, `length` samples long. */
  frame(start: number, length: number, onset: boolean, sustain: boolean): VadEvent | undefined {
    if (!this.speaking) {
      this.run = onset ? this.run + 1 : 0;
      if (this.run < this.o.onsetFrames) return undefined;
      this.speaking = true;
      this.run = 0;
      this.lastSpeechEnd = start + length;
      return { type: 'start', at: Math.max(0, start - (this.o.onsetFrames - 1) * length - this.pad) };
    }
    if (sustain) {
      this.run = 0;
      this.lastSpeechEnd = start + length;
      return undefined;
    }
    this.run += length;
    if (this.run < this.endSilence) return undefined;
    this.speaking = false;
    this.run = 0;
    return { type: 'end', at: Math.min(start + length, this.lastSpeechEnd + this.pad), speechEnd: this.lastSpeechEnd };
  }
}

export interface EnergyVadOptions extends GateOptions {
  /** dB above the noise floor that counts as speech */
  marginDb: number;
  /** below this level nothing is speech (dBFS) */
  minSpeechDb: number;
}

export const DEFAULT_ENERGY_VAD: EnergyVadOptions = { marginDb: 10, minSpeechDb: -50, onsetFrames: 3, endSilenceMs: 600, padMs: 0 };

const FRAME = 320; // 20 ms
const FLOOR_WINDOW = 150; // frames: 3 s

/**
 * Energy per 20 ms frame against a noise floor found by minimum statistics
 * (the quietest frame of the last 3 s: speech has gaps between words, so the
 * floor follows the room, not the voice). Good in quiet rooms; in steady noise
 * speech barely rises above the floor and it fails (measured).
 */
export class EnergyVad implements VoiceDetector {
  private readonly o: EnergyVadOptions;
  private readonly gate: SpeechGate;
  private pending = new Float32Array(0);
  private frames = 0; // frames seen
  private readonly recent = new Float32Array(FLOOR_WINDOW);

  /** `startAt`: the stream position of the first sample it is given */
  constructor(
    options: Partial<EnergyVadOptions> = {},
    private readonly startAt = 0,
  ) {
    this.o = { ...DEFAULT_ENERGY_VAD, ...options };
    this.gate = new SpeechGate(this.o);
  }

  push(samples: Float32Array): VadEvent[] {
    const data = this.pending.length ? concatArrays([this.pending, samples]) : samples;
    const events: VadEvent[] = [];
    let at = 0;
    for (; at + FRAME <= data.length; at += FRAME) {
      let sum = 0;
      for (let i = at; i < at + FRAME; i++) sum += data[i]! * data[i]!;
      const db = 10 * Math.log10(sum / FRAME + 1e-10);
      this.recent[this.frames % FLOOR_WINDOW] = db;
      // Until 3 s have been heard, only the frames heard so far count: speech
      // from the very first frame is heard once the first pause comes.
      const heard = Math.min(this.frames + 1, FLOOR_WINDOW);
      let floor = Infinity;
      for (let i = 0; i < heard; i++) floor = Math.min(floor, this.recent[i]!);
      const voiced = db > Math.max(floor + this.o.marginDb, this.o.minSpeechDb);
      const event = this.gate.frame(this.startAt + this.frames * FRAME, FRAME, voiced, voiced);
      this.frames++;
      if (event) events.push(event);
    }
    this.pending = data.slice(at);
    return events;
  }

  close(): void {}
}
