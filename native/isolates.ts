// How the hub starts its isolates on TypeScript sources (with the tsx loader
// the hub itself runs under) and talks to them through Comlink: child
// processes for anything that loads @napi-rs/whisper (the engine, and the
// decoder: a worker thread that has loaded it segfaults the whole process when
// it exits, measured), worker threads for the rest.
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { ipcEndpoint, portEndpoint } from './endpoints.ts';

const TS_EXEC_ARGV = ['--import', import.meta.resolve('tsx')];

export class WorkerDiedError extends Error {
  override readonly name = 'WorkerDiedError';
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

/**
 * One child process exposing `Api` through Comlink over IPC, for its lifetime.
 * Calls in flight when it exits reject with `WorkerDiedError`; whoever owns it
 * decides whether to start another.
 */
export class ChildWorker<Api> {
  readonly child: ChildProcess;
  readonly api: Comlink.Remote<Api>;
  /** rejects when the process exits, for whatever reason */
  readonly exited: Promise<never>;
  readonly startedAt = Date.now();
  private readonly stderr: string[] = [];

  /** `nice`: a lower CPU priority (0-19), so heavy workers never take a core from the hub's loop */
  constructor(entry: URL, name: string, options: { env?: Record<string, string>; nice?: number } = {}) {
    this.child = fork(fileURLToPath(entry), [], {
      execArgv: TS_EXEC_ARGV,
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    if (options.nice && this.child.pid) {
      try {
        setPriority(this.child.pid, options.nice);
      } catch {
        // not permitted here: the worker runs at normal priority
      }
    }
    this.child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderr.push(text);
      if (this.stderr.length > 20) this.stderr.shift();
    });
    this.child.on('error', () => {}); // a send on a closed channel; the exit is what counts
    this.exited = new Promise<never>((_, reject) => {
      this.child.once('exit', (code, signal) => reject(new WorkerDiedError(`the ${name} (pid ${this.child.pid}) exited (${signal ?? code})`)));
    });
    this.exited.catch(() => {});
    this.api = Comlink.wrap<Api>(ipcEndpoint(this.child));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines it wrote to stderr, for crash reports. */
  get stderrTail(): string {
    return this.stderr.join('').slice(-500);
  }

  call<R>(use: (api: Comlink.Remote<Api>) => Promise<R>): Promise<R> {
    return Promise.race([use(this.api), this.exited]);
  }

  kill(): void {
    if (this.alive) this.child.kill('SIGKILL');
  }

  /** Kills it and waits until it is gone. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.kill();
    await gone;
  }
}
