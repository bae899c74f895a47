// Writes whisper.cpp's legacy ggml model format (what `whisper_model_load`
// reads): magic, hyperparameters, mel filters, vocabulary, then tensors, each
// a header (dims, name, type) and its data. Shared by the synthetic model
// generator and the CTranslate2 import. Synchronous, in big buffered writes:
// call it from a worker or a CLI, never the hub's loop.
import { writeSync } from 'node:fs';

export const GGML_MAGIC = 0x67676d6c;
export const TYPE_F32 = 0;
export const TYPE_F16 = 1;
export type GgmlType = typeof TYPE_F32 | typeof TYPE_F16;
/** mel filter columns: a 400-point FFT at 16 kHz */
export const N_FFT_BINS = 201;

export interface Hparams {
  nVocab: number;
  nAudioCtx: number;
  nAudioState: number;
  nAudioHead: number;
  nAudioLayer: number;
  nTextCtx: number;
  nTextState: number;
  nTextHead: number;
  nTextLayer: number;
  nMels: number;
  /** 1: matrices are f16 */
  ftype: 0 | 1;
}

export class GgmlWriter {
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  constructor(private readonly fd: number) {}

  header(h: Hparams): void {
    this.u32(GGML_MAGIC);
    for (const v of [h.nVocab, h.nAudioCtx, h.nAudioState, h.nAudioHead, h.nAudioLayer, h.nTextCtx, h.nTextState, h.nTextHead, h.nTextLayer, h.nMels, h.ftype]) this.i32(v);
  }

  /** `filters`: nMels rows of N_FFT_BINS weights */
  melFilters(nMels: number, filters: Float32Array): void {
    if (filters.length !== nMels * N_FFT_BINS) throw new Error(`mel filters must be ${nMels} x ${N_FFT_BINS}`);
    this.i32(nMels);
    this.i32(N_FFT_BINS);
    this.bytes(new Uint8Array(filters.buffer, filters.byteOffset, filters.byteLength));
  }

  /** The ordinary tokens, as bytes, in id order (whisper.cpp names the special ones after them itself). */
  vocabulary(tokens: Uint8Array[]): void {
    this.i32(tokens.length);
    for (const t of tokens) {
      this.i32(t.length);
      this.bytes(t);
    }
  }

  /** A tensor's header; its data follows with `bytes`. `ne` in ggml order: ne[0] varies fastest. */
  tensorHeader(name: string, ne: number[], type: GgmlType): void {
    const encoded = new TextEncoder().encode(name);
    this.i32(ne.length);
    this.i32(encoded.length);
    this.i32(type);
    for (const d of ne) this.i32(d);
    this.bytes(encoded);
  }

  i32(v: number): void {
    this.ensure(4);
    this.used = this.buf.writeInt32LE(v, this.used);
  }

  u32(v: number): void {
    this.ensure(4);
    this.used = this.buf.writeUInt32LE(v, this.used);
  }

  bytes(b: Uint8Array): void {
    if (b.length > this.buf.length - this.used) this.flush();
    if (b.length >= this.buf.length) {
      writeSync(this.fd, b);
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  flush(): void {
    if (this.used > 0) writeSync(this.fd, this.buf, 0, this.used);
    this.used = 0;
  }

  private ensure(n: number): void {
    if (this.buf.length - this.used < n) this.flush();
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from single, round-to-nearest; flushes tiny values to zero (fine for weights). */
export function toFloat16Bytes(values: Float32Array): Uint8Array {
  const half = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f32[0] = values[i]!;
    const x = u32[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = ((x >>> 23) & 0xff) - 127 + 15;
    if (exp <= 0) half[i] = sign;
    else if (exp >= 31) half[i] = sign | 0x7c00;
    else half[i] = sign | ((exp << 10) + ((x >>> 13) & 0x3ff) + ((x >>> 12) & 1));
  }
  return new Uint8Array(half.buffer);
}

/** Single from IEEE half (subnormals included). */
export function fromFloat16(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) {
    const h = half[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24 : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
