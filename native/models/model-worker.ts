// Worker thread entry for the model work that takes seconds of CPU and disk:
// writing a synthetic model, and importing a CTranslate2 directory (hashing
// it, converting it once into the cache). The hub's loop keeps serving.
import { createHash } from 'node:crypto';
import { existsSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { portEndpoint } from '../endpoints.ts';
import { SYNTHETIC_SHAPES, writeSyntheticModel, type SyntheticName } from './synthetic.ts';
import { importCt2 } from './import-ct2.ts';

/** Bump when the converter's output changes: cached imports are made again. */
const IMPORT_VERSION = 1;
const SOURCE_FILES = ['model.bin', 'tokenizer.json', 'vocabulary.txt', 'vocabulary.json'];

/** A checksum of what the import reads, so the cache is named by its source. */
function sourceChecksum(dir: string): string {
  const hash = createHash('sha256').update(`import-v${IMPORT_VERSION}`);
  const buf = Buffer.allocUnsafe(1 << 20);
  for (const name of SOURCE_FILES) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    hash.update(name);
    const fd = openSync(path, 'r');
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  return hash.digest('hex').slice(0, 16);
}

const api = {
  writeSynthetic(path: string, name: SyntheticName): void {
    writeSyntheticModel(path, SYNTHETIC_SHAPES[name]);
  },

  /** The ggml file for CTranslate2 model `dir` in `cacheDir`, converted now unless a previous run did. */
  importCt2(dir: string, cacheDir: string): { path: string; converted: boolean } {
    const path = join(cacheDir, `ct2-${sourceChecksum(dir)}.bin`);
    if (existsSync(path)) return { path, converted: false };
    importCt2(dir, path);
    return { path, converted: true };
  },
};

export type ModelWorkerApi = typeof api;

Comlink.expose(api, portEndpoint(parentPort!));
