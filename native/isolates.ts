// How the hub starts its isolates (worker threads and child processes) on
// TypeScript sources, with the same tsx loader the hub itself runs under.
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

/** execArgv for a forked child process running a .ts entry. */
export const TS_EXEC_ARGV = ['--import', import.meta.resolve('tsx')];

export const nativePath = (relative: string) => new URL(relative, import.meta.url).pathname;

/**
 * A worker thread running a .ts module. `--import` in a worker's execArgv does
 * not reach its module loader on Node 20, so a one-line bootstrap registers tsx
 * inside the worker first.
 */
export function startTsWorker(relativeToNative: string): Worker {
  const entry = pathToFileURL(nativePath(relativeToNative)).href;
  const api = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(bootstrap, { eval: true });
}
