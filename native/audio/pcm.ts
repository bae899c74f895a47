// The hub's one internal audio format: 16 kHz mono float32 little-endian, as a
// headerless file in the spool. Chunks are sample ranges of it, so engine
// workers read their own slice and audio never crosses the hub's event loop.
import { open } from 'node:fs/promises';

export const SAMPLE_RATE = 16_000;
export const BYTES_PER_SAMPLE = 4;

export const samplesToSeconds = (samples: number) => samples / SAMPLE_RATE;

/** Reads samples [start, end) of a pcm file. */
export async function readPcmRange(path: string, start: number, end: number): Promise<Float32Array> {
  const [samples] = await readPcmRanges(path, [[start, end]]);
  return samples!;
}

/** Reads each [start, end) sample range of a pcm file, in order, through one open file (a long recording's thousands of windows must not open it thousands of times at once). */
export async function readPcmRanges(path: string, ranges: readonly (readonly [number, number])[]): Promise<Float32Array[]> {
  const file = await open(path, 'r');
  try {
    const out: Float32Array[] = [];
    for (const [start, end] of ranges) {
      const bytes = new Uint8Array(Math.max(0, end - start) * BYTES_PER_SAMPLE);
      let got = 0;
      while (got < bytes.length) {
        const { bytesRead } = await file.read(bytes, got, bytes.length - got, start * BYTES_PER_SAMPLE + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      out.push(new Float32Array(bytes.buffer, 0, Math.floor(got / BYTES_PER_SAMPLE)));
    }
    return out;
  } finally {
    await file.close();
  }
}

/** The arrays one after the other, in a new array of the same kind. */
export function concatArrays<T extends Float32Array | Uint8Array>(parts: T[]): T {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const out = new (parts[0]!.constructor as new (length: number) => T)(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
