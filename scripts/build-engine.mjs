#!/usr/bin/env node
// Builds the hub's whisper.cpp addon (native/engine/addon) with cmake-js,
// from the whisper.cpp tree of the pinned npm package nodejs-whisper. Run by
// `npm install` (CPU) and by `npm run build:engine [-- --cuda]`; WHISPER_CUDA=1
// asks for CUDA too. It never fails an install: when the build does not work
// the hub runs on @napi-rs/whisper, and both this script and the hub say so.
// What happened is written to native/engine/addon/build/status.json.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpus } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonDir = join(root, 'native', 'engine', 'addon');
const cuda = process.argv.includes('--cuda') || process.env.WHISPER_CUDA === '1';
const outDir = join(addonDir, 'build');
const statusPath = join(outDir, 'status.json');
const strict = process.argv.includes('--strict'); // fail loudly (CI of the addon itself, gpu-check)

function finish(status) {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(statusPath, JSON.stringify({ ...status, at: new Date().toISOString() }, null, 2));
  if (status.ok) {
    console.log(`whisper.cpp addon built (${status.backend}) in ${status.seconds} s`);
    return;
  }
  const line = '='.repeat(78);
  console.warn(`${line}\nThe whisper.cpp addon could not be built: ${status.error}\nThe hub will run on @napi-rs/whisper (CPU only, no abort, no words). Retry with: npm run build:engine\n${line}`);
  if (strict) process.exit(1);
}

if (process.env.WHISPER_HUB_SKIP_ENGINE_BUILD === '1') {
  finish({ ok: false, skipped: true, error: 'WHISPER_HUB_SKIP_ENGINE_BUILD=1' });
  process.exit(0);
}

let whisperDir;
try {
  const require = createRequire(join(root, 'package.json'));
  whisperDir = join(dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp');
} catch {
  finish({ ok: false, error: 'the npm package nodejs-whisper (which carries the whisper.cpp source) is not installed' });
  process.exit(0);
}
if (!existsSync(join(whisperDir, 'include', 'whisper.h'))) {
  finish({ ok: false, error: `no whisper.cpp tree at ${whisperDir}` });
  process.exit(0);
}

const started = Date.now();
const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const args = [
  cmakeJs, 'compile', '--directory', addonDir, '--out', join(outDir, cuda ? 'cuda' : 'cpu'), '--config', 'Release',
  '--parallel', String(Math.max(1, cpus().length)), '--target', 'whisper_hub',
  `--CDWHISPER_CPP_DIR=${whisperDir}`, `--CDWHISPER_HUB_CUDA=${cuda ? 'ON' : 'OFF'}`,
  ...(process.env.WHISPER_CUDA_ARCHS ? [`--CDWHISPER_HUB_CUDA_ARCHS=${process.env.WHISPER_CUDA_ARCHS}`] : []),
];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
const seconds = Math.round((Date.now() - started) / 100) / 10;
const binary = join(outDir, cuda ? 'cuda' : 'cpu', 'Release', 'whisper_hub.node');
if (result.status === 0 && existsSync(binary)) finish({ ok: true, backend: cuda ? 'cuda' : 'cpu', binary, seconds });
else finish({ ok: false, backend: cuda ? 'cuda' : 'cpu', error: `cmake-js exited with ${result.status ?? result.signal} after ${seconds} s (see the output above)`, seconds });
