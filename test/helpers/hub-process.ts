// Runs the hub as its own process (`server/main.ts`, as `npm start` does), for
// tests that kill it: reads its address from its start-up log line (a hub's,
// or an engine node's with HUB_ROLE=engine).
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../server/main.ts', import.meta.url));

export interface HubProcess {
  url: string;
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnHub(env: Record<string, string>): Promise<HubProcess> {
  // At info level: the address is read from the start-up log line.
  const proc = spawn(process.execPath, ['--import', 'tsx', MAIN], { env: { ...process.env, ...env, HUB_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (typeof entry.msg === 'string' && /^(hub listening on |engine node )/.test(entry.msg) && typeof entry.url === 'string') resolve(entry.url);
      } catch {
        // not a log line
      }
    });
    void exited.then(({ code }) => reject(new Error(`the hub exited (${code}) before listening: ${stderr}`)));
  });
  return { url, proc, logs, exited };
}
