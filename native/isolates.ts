// How the hub starts its isolates on TypeScript sources (with the tsx loader
// the hub itself runs under) and talks to them through Comlink: forked child
// processes for the engine, supervised worker threads for the rest.
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { portEndpoint } from './endpoints.ts';

/** execArgv for a forked child process running a .ts entry. */
export const TS_EXEC_ARGV = ['--import', import.meta.resolve('tsx')];

export class WorkerDiedError extends Error {
  readonly code = 'internal';
}

/**
 * A worker thread exposing `Api` through Comlink, started on first use and
 * again after it dies. A call in flight when it dies rejects with
 * `WorkerDiedError` (a bare Comlink call would hang forever).
 */
export class ThreadWorker<Api> {
  private running: { worker: Worker; api: Comlink.Remote<Api>; died: Promise<never> } | undefined;
  private closed = false;

  constructor(
    private readonly entry: URL,
    private readonly name: string,
    private readonly workerData?: unknown,
  ) {}

  async call<R>(use: (api: Comlink.Remote<Api>) => Promise<R>): Promise<R> {
    if (this.closed) throw new WorkerDiedError(`the ${this.name} is closed`);
    const { api, died } = this.start();
    return Promise.race([use(api), died]);
  }

  get threadId(): number | undefined {
    return this.running?.worker.threadId;
  }

  async close(): Promise<void> {
    this.closed = true;
    const running = this.running;
    this.running = undefined;
    if (running) await running.worker.terminate();
  }

  private start() {
    if (this.running) return this.running;
    // `--import` in a worker's execArgv does not reach its module loader on
    // Node 20, so a one-line bootstrap registers tsx inside the worker first.
    const tsx = import.meta.resolve('tsx/esm/api');
    const bootstrap = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(this.entry.href)}); })`;
    const worker = new Worker(bootstrap, { eval: true, workerData: this.workerData });
    const died = new Promise<never>((_, reject) => {
      const fail = (why: string) => {
        if (this.running?.worker === worker) this.running = undefined;
        reject(new WorkerDiedError(`the ${this.name} stopped (${why})`));
      };
      worker.once('error', (e) => fail(e.message));
      worker.once('exit', (code) => fail(`exit ${code}`));
    });
    died.catch(() => {}); // observed by whoever races it
    worker.unref();
    this.running = { worker, api: Comlink.wrap<Api>(portEndpoint(worker)), died };
    return this.running;
  }
}
