// Streaming sample-rate conversion to 16 kHz with a windowed-sinc low-pass
// filter (Blackman window, cutoff just under the lower Nyquist frequency), so
// that downsampling does not alias and upsampling does not image. The kernel
// is tabulated for 256 fractional phases (linear interpolation between them):
// no trigonometry per sample. Light enough for the hub's loop: 48 kHz stereo
// in costs about half a millisecond per second of audio.

import { SAMPLE_RATE } from './pcm.ts';

const PHASES = 256;
const ZERO_CROSSINGS = 16; // kernel half-width, in output-rate periods when downsampling

export class Resampler {
  private readonly step: number; // input samples per output sample
  private readonly halfWidth: number; // kernel half-width in input samples
  private readonly table: Float32Array; // (PHASES + 1) rows of 2*halfWidth taps
  private history: Float32Array; // the input tail the next output samples still need
  private position: number; // time of the next output sample, in input samples from history[0]

  constructor(
    readonly inRate: number,
    readonly outRate = SAMPLE_RATE,
  ) {
    this.step = inRate / outRate;
    const scale = Math.min(1, outRate / inRate); // cutoff relative to the input Nyquist
    const cutoff = 0.5 * scale * 0.94;
    this.halfWidth = Math.ceil(ZERO_CROSSINGS / scale);
    const taps = 2 * this.halfWidth;
    this.table = new Float32Array((PHASES + 1) * taps);
    for (let p = 0; p <= PHASES; p++) {
      const frac = p / PHASES;
      let sum = 0;
      for (let i = 0; i < taps; i++) {
        const u = i - this.halfWidth + 1 - frac; // distance from the output instant, in input samples
        const x = 2 * cutoff * u;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const w = 0.42 + 0.5 * Math.cos((Math.PI * u) / this.halfWidth) + 0.08 * Math.cos((2 * Math.PI * u) / this.halfWidth);
        const v = Math.abs(u) >= this.halfWidth ? 0 : 2 * cutoff * sinc * w;
        this.table[p * taps + i] = v;
        sum += v;
      }
      for (let i = 0; i < taps; i++) this.table[p * taps + i]! /= sum; // unity gain at DC
    }
    // Start as if silence preceded the audio, centred so output 0 lines up with input 0.
    this.history = new Float32Array(this.halfWidth);
    this.position = this.halfWidth;
  }

  /** The samples still held back at the end of the stream (the filter's look-ahead). */
  flush(): Float32Array {
    return this.inRate === this.outRate ? new Float32Array(0) : this.push(new Float32Array(this.halfWidth));
  }

  /** Converts the next piece of the stream; output length follows the rate ratio over time. */
  push(input: Float32Array): Float32Array {
    if (this.inRate === this.outRate) return input;
    const buffer = new Float32Array(this.history.length + input.length);
    buffer.set(this.history);
    buffer.set(input, this.history.length);
    const taps = 2 * this.halfWidth;
    const out: number[] = [];
    // An output sample at `position` needs inputs up to floor(position) + halfWidth.
    while (Math.floor(this.position) + this.halfWidth < buffer.length) {
      const base = Math.floor(this.position);
      const phase = (this.position - base) * PHASES;
      const p0 = Math.floor(phase);
      const mix = phase - p0;
      const row0 = p0 * taps;
      const row1 = row0 + taps;
      const first = base - this.halfWidth + 1;
      let acc = 0;
      for (let i = 0; i < taps; i++) {
        const k = this.table[row0 + i]! + mix * (this.table[row1 + i]! - this.table[row0 + i]!);
        acc += k * buffer[first + i]!;
      }
      out.push(acc);
      this.position += this.step;
    }
    // Keep what the next output samples will need.
    const keepFrom = Math.max(0, Math.floor(this.position) - this.halfWidth + 1);
    this.history = buffer.slice(keepFrom);
    this.position -= keepFrom;
    return Float32Array.from(out);
  }
}
