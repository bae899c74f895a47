// A real NATS server with JetStream for the cluster tests (Debian's
// nats-server), on a free port with its own store, stopped with the test.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export const hasNatsServer = () => spawnSync('nats-server', ['--version']).status === 0;

export interface NatsServer {
  url: string;
  connect(): Promise<NatsConnection>;
  /** stopped and started again on the same port and store (what JetStream stored survives) */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsServer(): Promise<NatsServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nats-test-'));
  const url = `nats://127.0.0.1:${port}`;
  const run = async (): Promise<ChildProcess> => {
    const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        const nc = await connect({ servers: url, reconnect: false });
        await nc.close();
        return child;
      } catch (error) {
        if (i > 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const halt = async (child: ChildProcess) => {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  };
  let child = await run();
  return {
    url,
    connect: () => connect({ servers: url }),
    restart: async () => {
      await halt(child);
      child = await run();
    },
    stop: async () => {
      await halt(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP port nobody listens on now (for the servers the tests start). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
