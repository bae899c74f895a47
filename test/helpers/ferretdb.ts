// A real MongoDB-protocol server that no one here wrote, for the store and
// cluster tests: FerretDB 1.24 with its SQLite backend (built by
// scripts/build-ferretdb.sh, which .ci/run runs), on a free
// port with its own data directory, stopped with the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats-server.ts';

/** The ferretdb binary: FERRETDB_BIN, Go's bin folder (where the build script puts it), or the PATH; undefined when there is none. */
export function ferretDbBinary(): string | undefined {
  const candidates = [process.env.FERRETDB_BIN, join(process.env.GOBIN ?? join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin'), 'ferretdb'), 'ferretdb'];
  return candidates.find((bin) => bin && (bin.includes('/') ? existsSync(bin) : spawnSync(bin, ['--version']).status === 0));
}

export interface FerretDb {
  /** a MongoDB URI naming a database of its own */
  uri(database: string): string;
  stop(): Promise<void>;
}

export async function startFerretDb(): Promise<FerretDb> {
  const bin = ferretDbBinary();
  if (!bin) throw new Error('no ferretdb binary (scripts/build-ferretdb.sh builds it)');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ferretdb-test-'));
  const args = ['--handler=sqlite', `--sqlite-url=file:${dir}/`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${dir}`, '--telemetry=disable', '--log-level=error'];
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-2000)));
  for (let i = 0; !(await accepts(port)); i++) {
    if (child.exitCode !== null || i > 100) throw new Error(`ferretdb did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    uri: (database) => `mongodb://127.0.0.1:${port}/${database}`,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => resolve(true) === undefined && socket.end());
    socket.once('error', () => resolve(false));
  });
}
