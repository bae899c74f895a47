// Reads a CTranslate2 model.bin (the format `ctranslate2.specs.ModelSpec`
// serialises: binary version, spec name, revision, then named variables, each
// rank, dims, dtype, byte count and data, then aliases) without loading it:
// an index of where each variable lies, and each one read on demand, so
// converting a large model holds one tensor at a time.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** CTranslate2's DataType enum, in its order. */
export const CT2_DTYPES = ['float32', 'int8', 'int16', 'int32', 'float16', 'bfloat16'] as const;
export type Ct2Dtype = (typeof CT2_DTYPES)[number];
const DTYPE_BYTES: Record<Ct2Dtype, number> = { float32: 4, int8: 1, int16: 2, int32: 4, float16: 2, bfloat16: 2 };

export interface Ct2Variable {
  name: string;
  dims: number[];
  dtype: Ct2Dtype;
  offset: number;
  bytes: number;
}

export class Ct2FormatError extends Error {}

export class Ct2Model {
  readonly spec: string;
  readonly version: number;
  readonly revision: number;
  private readonly variables = new Map<string, Ct2Variable>();

  private constructor(
    private readonly fd: number,
    private readonly path: string,
  ) {
    const size = fstatSync(fd).size;
    let pos = 0;
    const take = (n: number): Buffer => {
      if (pos + n > size) throw new Ct2FormatError(`${path} is truncated (needs ${pos + n} bytes, has ${size})`);
      const b = Buffer.alloc(n);
      readSync(fd, b, 0, n, pos);
      pos += n;
      return b;
    };
    const u8 = () => take(1)[0]!;
    const u16 = () => take(2).readUInt16LE(0);
    const u32 = () => take(4).readUInt32LE(0);
    const text = () => {
      const n = u16();
      if (n > 4096) throw new Ct2FormatError(`${path} is not a CTranslate2 model (a name of ${n} bytes)`);
      return take(n).toString('utf8').replace(/\0$/, '');
    };
    this.version = u32();
    if (this.version < 3 || this.version > 6) throw new Ct2FormatError(`${path} is not a CTranslate2 model.bin this hub reads (binary version ${this.version}; 3 to 6 are)`);
    this.spec = text();
    this.revision = u32();
    const count = u32();
    if (count > 100_000) throw new Ct2FormatError(`${path} is not a CTranslate2 model (${count} variables)`);
    for (let i = 0; i < count; i++) {
      const name = text();
      const rank = u8();
      const dims = Array.from({ length: rank }, () => u32());
      const code = u8();
      const dtype = CT2_DTYPES[code];
      if (!dtype) throw new Ct2FormatError(`${path}: variable ${name} has an unknown data type (${code})`);
      const bytes = u32();
      const elements = dims.reduce((a, b) => a * b, 1);
      if (bytes !== elements * DTYPE_BYTES[dtype]) throw new Ct2FormatError(`${path}: variable ${name} has ${bytes} bytes for ${dims.join('x') || 'a scalar'} ${dtype}`);
      if (pos + bytes > size) throw new Ct2FormatError(`${path} is truncated (variable ${name} runs past the end)`);
      this.variables.set(name, { name, dims, dtype, offset: pos, bytes });
      pos += bytes;
    }
    const aliases = pos + 4 <= size ? u32() : 0;
    for (let i = 0; i < aliases; i++) {
      const alias = text();
      const target = this.variables.get(text());
      if (target) this.variables.set(alias, { ...target, name: alias });
    }
  }

  static open(path: string): Ct2Model {
    const fd = openSync(path, 'r');
    try {
      return new Ct2Model(fd, path);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  has(name: string): boolean {
    return this.variables.has(name);
  }

  variable(name: string): Ct2Variable {
    const v = this.variables.get(name);
    if (!v) throw new Ct2FormatError(`${this.path} has no variable ${name}`);
    return v;
  }

  names(): string[] {
    return [...this.variables.keys()];
  }

  /** The variable's raw bytes (little-endian, row-major). */
  read(name: string): Buffer {
    const v = this.variable(name);
    const b = Buffer.alloc(v.bytes);
    readSync(this.fd, b, 0, v.bytes, v.offset);
    return b;
  }

  /** A scalar integer variable (num_heads and the like). */
  scalar(name: string): number {
    const v = this.variable(name);
    const b = this.read(name);
    if (v.dtype === 'int8') return b.readInt8(0);
    if (v.dtype === 'int16') return b.readInt16LE(0);
    if (v.dtype === 'int32') return b.readInt32LE(0);
    throw new Ct2FormatError(`${this.path}: ${name} is not an integer`);
  }

  close(): void {
    closeSync(this.fd);
  }
}
