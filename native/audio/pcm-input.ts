// Raw PCM as live clients send it (`s16le`, `f32le`, or telephony's G.711
// `mulaw` / `alaw`; any rate, interleaved channels), split into frames
// anywhere, turned into 16 kHz mono float32.
import { Resampler } from './resampler.ts';
import { concatArrays } from './pcm.ts';

export type RawFormat = 's16le' | 'f32le' | 'mulaw' | 'alaw';

const BYTES_PER_SAMPLE: Record<RawFormat, number> = { s16le: 2, f32le: 4, mulaw: 1, alaw: 1 };

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
    this.frameBytes = BYTES_PER_SAMPLE[format] * channels;
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
  const bytesPerSample = BYTES_PER_SAMPLE[format];
  const frames = Math.floor(bytes.byteLength / (bytesPerSample * channels));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const table = format === 'mulaw' ? MULAW : format === 'alaw' ? ALAW : undefined;
  const out = new Float32Array(frames);
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) {
      const at = (f * channels + c) * bytesPerSample;
      sum += table ? table[bytes[at]!]! : format === 's16le' ? view.getInt16(at, true) / 32768 : view.getFloat32(at, true);
    }
    out[f] = sum / channels;
  }
  return out;
}

/** G.711 μ-law (ITU-T G.711): a byte to its linear value, as a fraction of full scale. */
function mulawToLinear(byte: number): number {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 0x07)) - 0x84;
  return (u & 0x80 ? -magnitude : magnitude) / 32768;
}

/** G.711 A-law: a byte to its linear value (a set sign bit is positive). */
function alawToLinear(byte: number): number {
  const a = byte ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return (a & 0x80 ? magnitude : -magnitude) / 32768;
}

const MULAW = Float32Array.from({ length: 256 }, (_, b) => mulawToLinear(b));
const ALAW = Float32Array.from({ length: 256 }, (_, b) => alawToLinear(b));
