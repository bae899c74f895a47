// Raw PCM as live clients send it (`s16le` or `f32le`, any rate, interleaved
// channels), split into frames anywhere, turned into 16 kHz mono float32.
import { Resampler } from './resampler.ts';
import { concatArrays } from './pcm.ts';

export type RawFormat = 's16le' | 'f32le';

export class PcmInput {
  private carry = new Uint8Array(0);
  private readonly resampler: Resampler;
  private readonly frameBytes: number;

  constructor(
    private readonly format: RawFormat,
    rate: number,
    private readonly channels: number,
  ) {
    this.resampler = new Resampler(rate);
    this.frameBytes = (format === 's16le' ? 2 : 4) * channels;
  }

  /** The resampler's last samples, at the end of the stream. */
  flush(): Float32Array {
    return this.resampler.flush();
  }

  push(bytes: Uint8Array): Float32Array {
    const data = this.carry.length ? concatArrays([this.carry, bytes]) : bytes;
    const whole = data.length - (data.length % this.frameBytes);
    this.carry = data.slice(whole);
    return this.resampler.push(pcmToMono(data.subarray(0, whole), this.format, this.channels));
  }
}

/** Interleaved raw PCM to mono float samples (channels averaged). */
export function pcmToMono(bytes: Uint8Array, format: RawFormat, channels: number): Float32Array {
  const bytesPerSample = format === 's16le' ? 2 : 4;
  const frames = Math.floor(bytes.byteLength / (bytesPerSample * channels));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const at = (f * channels + c) * bytesPerSample;
      sum += format === 's16le' ? view.getInt16(at, true) / 32768 : view.getFloat32(at, true);
    }
    out[f] = sum / channels;
  }
  return out;
}
