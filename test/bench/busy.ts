// bench:busy — the deadlock the project was born from, re-enacted: every
// engine worker busy and the store answering each write 500 ms late. Measures
// GET /v1/tasks/{id} and /v1/ws ping round trips (p50/p99/max, timeouts over
// 1 s), idle and busy, from a separate client process. Goal: p99 < 5 ms, no
// timeouts.  Options: --requests N --delay MS
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { FIXTURES, makeFixtures } from '../fixtures/make-fixtures.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '1000' }, delay: { type: 'string', default: '500' } } });
const N = Number(values.requests);
const TIMEOUT_MS = 1000;
makeFixtures();
const dir = await mkdtemp(join(tmpdir(), 'bench-busy-'));
const TOKEN = 'bench-token-1';
const hubProcess = spawn(process.execPath, ['--import', 'tsx', new URL('./slow-store-hub.ts', import.meta.url).pathname], {
  env: { ...process.env, HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:tiny', HUB_TOKENS: `${TOKEN}=bench`, HUB_LOG_LEVEL: 'warn', STORE_DELAY_MS: values.delay },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url: string = await new Promise((resolve) =>
  createInterface({ input: hubProcess.stdout! }).on('line', (line) => {
    if (line.startsWith('HUB_URL ')) resolve(line.slice('HUB_URL '.length));
  }),
);
const auth = { Authorization: `Bearer ${TOKEN}` };

async function submit(name: string): Promise<string> {
  const res = await fetch(`${url}/v1/tasks?language=en`, { method: 'POST', body: await readFile(join(FIXTURES, name)), headers: auth });
  return ((await res.json()) as { id: string }).id;
}

async function task(id: string) {
  return (await (await fetch(`${url}/v1/tasks/${id}`, { headers: auth })).json()) as { status: string };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

function summary(label: string, samples: number[], timeouts: number): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${label.padEnd(26)} p50 ${percentile(s, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(s, 99).toFixed(2).padStart(7)} ms   max ${s.at(-1)!.toFixed(2).padStart(8)} ms   timeouts ${timeouts}`;
}

const WARMUP = 100; // not counted: connection set-up and JIT

// node:http with a keep-alive agent: less client-side overhead than fetch, so
// the figures are the hub's more than the client's.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}${path}`, { agent, headers: auth, timeout: TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function measureGets(id: string): Promise<[number[], number]> {
  const samples: number[] = [];
  let timeouts = 0;
  for (let i = -WARMUP; i < N; i++) {
    const t0 = performance.now();
    try {
      await get(`/v1/tasks/${id}`);
      if (i >= 0) samples.push(performance.now() - t0);
    } catch {
      if (i >= 0) timeouts++;
    }
  }
  return [samples, timeouts];
}

async function measurePings(): Promise<[number[], number]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`, { headers: auth });
  await new Promise((r) => ws.once('open', r));
  const samples: number[] = [];
  let timeouts = 0;
  for (let i = -WARMUP; i < N; i++) {
    const t0 = performance.now();
    const got = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
      ws.once('message', () => (clearTimeout(timer), resolve(true)));
      ws.send(JSON.stringify({ type: 'ping', ref: i }));
    });
    if (i < 0) continue;
    if (got) samples.push(performance.now() - t0);
    else timeouts++;
  }
  ws.close();
  return [samples, timeouts];
}

async function metric(name: string): Promise<string> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.match(new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)`, 'm'))?.[2] ?? '?';
}

console.log(`bench:busy  store +${values.delay} ms per write, synthetic:tiny, ${N} requests each, client in its own process`);
const idleTask = await submit('speech.wav');
while ((await task(idleTask)).status !== 'completed') await new Promise((r) => setTimeout(r, 100));
const idleGets = await measureGets(idleTask);
const idlePings = await measurePings();

const busyTasks = await Promise.all(['long.wav', 'long.wav', 'long.wav', 'long.wav'].map(submit));
while ((await task(busyTasks[0]!)).status !== 'transcribing') await new Promise((r) => setTimeout(r, 50));
const busyWorkers = await metric('hub_engine_busy_workers');
const busyGets = await measureGets(busyTasks[0]!);
const busyPings = await measurePings();
const stillBusy = await metric('hub_engine_busy_workers');

const backlog = await metric('hub_persistence_backlog');
const statuses = await Promise.all(busyTasks.map(async (id) => (await task(id)).status));

console.log(summary('GET task, idle', ...idleGets));
console.log(summary('GET task, busy + slow db', ...busyGets));
console.log(summary('ws ping, idle', ...idlePings));
console.log(summary('ws ping, busy + slow db', ...busyPings));
console.log(`engine workers busy during the run: ${busyWorkers} at start, ${stillBusy} at end; persistence backlog at end: ${backlog}; tasks: ${statuses.join(', ')}`);

hubProcess.kill('SIGTERM');
await new Promise((r) => hubProcess.once('exit', r));
await rm(dir, { recursive: true, force: true });
