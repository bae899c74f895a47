// bench:admin — what watching costs: hub throughput (50 uploads transcribed on
// the micro model, whose short chunks make state changes frequent) with 0, 1
// and 10 admin sockets connected, interleaved over several rounds in one run.
// The hub runs as its own process; admin clients read every frame here.
// Goal: no measurable slowdown with one admin socket (≤ 2%).
// Options: --tasks N --rounds N
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { spawnHub } from '../helpers/hub-process.ts';
import { FIXTURES, makeFixtures } from '../fixtures/make-fixtures.ts';

const { values } = parseArgs({ options: { tasks: { type: 'string', default: '50' }, rounds: { type: 'string', default: '3' } } });
const TASKS = Number(values.tasks);
makeFixtures();
const audio = await readFile(join(FIXTURES, 'speech.wav'));
const dir = await mkdtemp(join(tmpdir(), 'bench-admin-'));
const hub = await spawnHub({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:micro', HUB_TOKENS: 'bench-user-1=u,bench-root-1=root:admin' });
while (!(await fetch(`${hub.url}/readyz`)).ok) await new Promise((r) => setTimeout(r, 100));
const user = { Authorization: 'Bearer bench-user-1' };

async function watchers(n: number): Promise<{ frames: () => number; close: () => void }> {
  let frames = 0;
  const sockets = await Promise.all(
    Array.from({ length: n }, () => {
      const ws = new WebSocket(`${hub.url.replace('http', 'ws')}/v1/admin`, { headers: { Authorization: 'Bearer bench-root-1' } });
      ws.on('message', () => frames++);
      return new Promise<WebSocket>((resolve) => ws.once('open', () => resolve(ws)));
    }),
  );
  return { frames: () => frames, close: () => sockets.forEach((ws) => ws.close()) };
}

async function run(admins: number): Promise<{ seconds: number; frames: number }> {
  const watching = await watchers(admins);
  const started = performance.now();
  const ids = await Promise.all(
    Array.from({ length: TASKS }, async () => ((await (await fetch(`${hub.url}/v1/tasks?language=en`, { method: 'POST', body: audio, headers: user })).json()) as { id: string }).id),
  );
  for (const id of ids) {
    for (;;) {
      const t = (await (await fetch(`${hub.url}/v1/tasks/${id}`, { headers: user })).json()) as { status: string };
      if (t.status === 'completed' || t.status === 'failed') break;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  const seconds = (performance.now() - started) / 1000;
  watching.close();
  return { seconds, frames: watching.frames() };
}

console.log(`bench:admin  ${TASKS} uploads (6.3 s of speech each) on synthetic:micro, hub in its own process, ${values.rounds} interleaved rounds`);
await run(0); // warm-up, not counted
const results: Record<number, number[]> = { 0: [], 1: [], 10: [] };
const frames: Record<number, number[]> = { 0: [], 1: [], 10: [] };
for (let round = 0; round < Number(values.rounds); round++) {
  for (const admins of [0, 1, 10]) {
    const r = await run(admins);
    results[admins]!.push(r.seconds);
    frames[admins]!.push(r.frames);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results[0]!);
for (const admins of [0, 1, 10]) {
  const m = median(results[admins]!);
  console.log(
    `${String(admins).padStart(2)} admin socket(s): median ${m.toFixed(2)} s (${(TASKS / m).toFixed(1)} tasks/s; runs ${results[admins]!.map((s) => s.toFixed(2)).join(', ')})` +
      `   ${admins ? `slowdown ${(((m - base) / base) * 100).toFixed(1)}%, ${median(frames[admins]!)} frames received per run` : 'baseline'}`,
  );
}
hub.proc.kill('SIGTERM');
await hub.exited;
await rm(dir, { recursive: true, force: true });
