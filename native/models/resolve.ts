// Turns WHISPER_MODEL into a ggml file on disk:
//  - a path to a ggml file: used as it is (it must exist);
//  - a CTranslate2 / faster-whisper model directory: converted once into the
//    cache (named by the source's checksum; later starts reuse it);
//  - a model name (`base.en`, `large-v3-turbo`, ...): fetched once into the
//    cache, checksum verified;
//  - `synthetic:micro` / `synthetic:tiny`: generated once into the cache.
// Unset, the default model is fetched. When a named model cannot be had (no
// network), the hub falls back to `synthetic:tiny` and says so loudly: it still
// starts, but its text is a fixed script, not a transcription.
import { access, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL, MODEL_SHA1, MODEL_SOURCE, modelFileName } from './catalog.ts';
import { downloadVerified } from './download.ts';
import { isSyntheticName, type SyntheticName } from './synthetic.ts';
import type * as Comlink from 'comlink';
import { ThreadWorker } from '../isolates.ts';
import type { ModelWorkerApi } from './model-worker.ts';
import type { LogFn } from '../log-fn.ts';

export interface ResolvedModel {
  /** as shown to users: `base.en`, `synthetic:tiny`, or the file path */
  name: string;
  path: string;
  synthetic: boolean;
  /** why the hub is not running the model it was asked for */
  fallbackReason?: string;
}

export class ModelError extends Error {}

const SYNTHETIC_VERSION = 2; // bump when the generator's output changes

const exists = (path: string) => access(path).then(() => true, () => false);

export function looksLikePath(spec: string): boolean {
  return spec.includes('/') || spec.includes('\\') || spec.endsWith('.bin');
}

export async function resolveModel(spec: string | undefined, cacheDir: string, log: LogFn): Promise<ResolvedModel> {
  await mkdir(cacheDir, { recursive: true });
  const wanted = spec ?? DEFAULT_MODEL;
  if (wanted.startsWith('synthetic:')) {
    const shape = wanted.slice('synthetic:'.length);
    if (!isSyntheticName(shape)) throw new ModelError(`unknown synthetic model "${wanted}" (synthetic:micro or synthetic:tiny)`);
    return synthetic(shape, cacheDir, log);
  }
  if (looksLikePath(wanted) || (await exists(wanted))) {
    if (!(await exists(wanted))) throw new ModelError(`WHISPER_MODEL file ${wanted} does not exist`);
    if ((await stat(wanted)).isDirectory()) return imported(wanted, cacheDir, log);
    return { name: wanted, path: wanted, synthetic: false };
  }
  if (!Object.hasOwn(MODEL_SHA1, wanted)) {
    throw new ModelError(`unknown model "${wanted}": use a ggml file path, one of ${Object.keys(MODEL_SHA1).join(', ')}, or synthetic:tiny`);
  }
  const path = join(cacheDir, modelFileName(wanted));
  if (await exists(path)) return { name: wanted, path, synthetic: false };
  try {
    await fetchModel(wanted, path, log);
    return { name: wanted, path, synthetic: false };
  } catch (error) {
    const reason = `model "${wanted}" could not be downloaded (${(error as Error).message})`;
    log('error', `${reason}. FALLING BACK TO synthetic:tiny: transcripts will be a fixed test script, not your audio. Put a ggml file in ${cacheDir} or set WHISPER_MODEL.`);
    return { ...(await synthetic('tiny', cacheDir, log)), fallbackReason: reason };
  }
}

async function fetchModel(name: string, path: string, log: LogFn): Promise<void> {
  const url = `${MODEL_SOURCE}/${modelFileName(name)}`;
  log('info', `downloading model ${name}`, { url });
  let nextReport = 0;
  await downloadVerified(url, path, MODEL_SHA1[name], ({ received, total }) => {
    const pct = total ? Math.floor((received / total) * 100) : undefined;
    if (pct !== undefined && pct >= nextReport) {
      log('info', `downloading model ${name}: ${'#'.repeat(pct / 5).padEnd(20, '.')} ${pct}%`, { received, total });
      nextReport = pct + 10;
    }
  });
  log('info', `model ${name} downloaded and verified`, { path });
}

async function synthetic(shape: SyntheticName, cacheDir: string, log: LogFn): Promise<ResolvedModel> {
  const path = join(cacheDir, `synthetic-${shape}-v${SYNTHETIC_VERSION}.bin`);
  if (!(await exists(path))) {
    log('info', `generating synthetic:${shape} model`, { path });
    await inModelWorker((api) => api.writeSynthetic(path, shape));
  }
  log('warn', `using SYNTHETIC model synthetic:${shape}: real engine cost, but every transcript is a fixed test script`);
  return { name: `synthetic:${shape}`, path, synthetic: true };
}

/** A CTranslate2 (faster-whisper) model directory, converted once into the cache. */
async function imported(dir: string, cacheDir: string, log: LogFn): Promise<ResolvedModel> {
  log('info', 'checking the CTranslate2 model import', { dir });
  const started = Date.now();
  let result: { path: string; converted: boolean };
  try {
    result = await inModelWorker((api) => api.importCt2(dir, cacheDir));
  } catch (error) {
    throw new ModelError(`WHISPER_MODEL ${dir} could not be imported: ${(error as Error).message}`);
  }
  if (result.converted) log('info', `imported the CTranslate2 model in ${dir} into ${result.path}`, { ms: Date.now() - started });
  return { name: dir, path: result.path, synthetic: false };
}

async function inModelWorker<R>(use: (api: Comlink.Remote<ModelWorkerApi>) => Promise<R> | R): Promise<R> {
  const worker = new ThreadWorker<ModelWorkerApi>(new URL('./model-worker.ts', import.meta.url), 'model worker');
  try {
    return await worker.call(async (api) => use(api));
  } finally {
    await worker.close();
  }
}
