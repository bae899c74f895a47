// Voice activity detection for live streams: decides where utterances start
// and end, so that silence never reaches the engine (it cannot invent text
// from nothing it is not given). Energy-based, per 20 ms frame, with a noise
// floor by minimum statistics (the quietest frame of the last 3 s: speech has
// gaps between words, so the floor follows the room, not the voice). A frame
// is speech when it is well above the floor and above an absolute minimum; an
// utterance starts after a few speech frames in a row (a click is not speech)
// and ends after enough silence (pauses between words are not ends). See
// docs/decisions.md for why not Silero, and the accuracy measured.
import { concatArrays } from './pcm.ts';

export interface VadOptions {
  /** dB above the noise floor that counts as speech */
  marginDb: number;
  /** below this level nothing is speech (dBFS) */
  minSpeechDb: number;
  /** consecutive speech frames that start an utterance */
  onsetFrames: number;
  /** silence that ends an utterance */
  endSilenceMs: number;
}

export const DEFAULT_VAD: VadOptions = { marginDb: 10, minSpeechDb: -50, onsetFrames: 3, endSilenceMs: 600 };

export type VadEvent = { type: 'start'; at: number } | { type: 'end'; at: number };

const FRAME = 320; // 20 ms at 16 kHz
const FLOOR_WINDOW = 150; // frames: 3 s

export class Vad {
  private readonly o: VadOptions;
  private pending = new Float32Array(0);
  private frame = 0; // frames seen
  private readonly recent = new Float32Array(FLOOR_WINDOW);
  private speaking = false;
  private run = 0; // speech frames in a row (while silent) or silent frames in a row (while speaking)
  private lastSpeechEnd = 0;

  constructor(options: Partial<VadOptions> = {}) {
    this.o = { ...DEFAULT_VAD, ...options };
  }

  get inSpeech(): boolean {
    return this.speaking;
  }

  /** Feeds 16 kHz samples; returns utterance boundaries (sample positions from the stream's start). */
  push(samples: Float32Array): VadEvent[] {
    const data = this.pending.length ? concatArrays([this.pending, samples]) : samples;
    const events: VadEvent[] = [];
    let at = 0;
    for (; at + FRAME <= data.length; at += FRAME) {
      let sum = 0;
      for (let i = at; i < at + FRAME; i++) sum += data[i]! * data[i]!;
      const db = 10 * Math.log10(sum / FRAME + 1e-10);
      this.recent[this.frame % FLOOR_WINDOW] = db;
      // Until 3 s have been heard, only the frames heard so far count: speech
      // from the very first frame is heard once the first pause comes.
      const heard = Math.min(this.frame + 1, FLOOR_WINDOW);
      let floor = Infinity;
      for (let i = 0; i < heard; i++) floor = Math.min(floor, this.recent[i]!);
      const voiced = db > Math.max(floor + this.o.marginDb, this.o.minSpeechDb);
      const start = this.frame * FRAME;
      this.frame++;
      if (!this.speaking) {
        this.run = voiced ? this.run + 1 : 0;
        if (this.run >= this.o.onsetFrames) {
          this.speaking = true;
          events.push({ type: 'start', at: start - (this.o.onsetFrames - 1) * FRAME });
          this.run = 0;
          this.lastSpeechEnd = start + FRAME;
        }
      } else if (voiced) {
        this.run = 0;
        this.lastSpeechEnd = start + FRAME;
      } else if (++this.run * FRAME >= (this.o.endSilenceMs * 16_000) / 1000) {
        this.speaking = false;
        this.run = 0;
        events.push({ type: 'end', at: this.lastSpeechEnd });
      }
    }
    this.pending = data.slice(at);
    return events;
  }
}
