// bench:cluster — what the bus adds to a job. The same jobs (live-sized: 2 s
// of audio; chunk-sized: 30 s) run on the same engine (one worker, the micro
// synthetic model: the engine's own time is small and the same on both paths)
// two ways in one run: straight on this process's engine workers, as the
// single-process hub does, and through the bus (BusEngine → NATS JetStream →
// an EngineNode → the same kind of engine → the result back). The added time
// per job is wall time minus the engine's own time, p50/p99 on each path,
// and their difference. Then the last hop of a chunk in cluster mode: its
// frame published by the hub that runs the task and received by another hub
// (BusFrames on both sides), p50/p99; a chunk's whole added time is the job's
// share plus this hop. Then throughput of 30 s jobs with one and with two
// engine nodes — on one machine (2 cores) that measures overhead, not scale.
// Goal (issue 15): ≤ 5 ms p99 added per chunk.  Options: --jobs N (default 200)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineService } from '../../native/engine/engine-service.ts';
import { BusEngine } from '../../native/engine/bus/bus-engine.ts';
import { EngineNode } from '../../native/engine/bus/engine-node.ts';
import { BusFrames } from '../../server/ws/bus-frames.ts';
import type { TaskEventFrame } from '../../client/protocol/types.ts';
import type { EngineJob, EngineResult } from '../../native/engine/types.ts';
import { hasNatsServer, startNatsServer } from '../helpers/nats-server.ts';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '200' } } });
const JOBS = Number(values.jobs);
if (!hasNatsServer()) throw new Error('bench:cluster needs nats-server (apt-get install nats-server)');
const quiet = () => {};
const dir = await mkdtemp(join(tmpdir(), 'bench-cluster-'));
const newEngine = () => new EngineService({ specs: ['synthetic:micro'], dataDir: dir, workers: 1, slotsPerWorker: 1, threadsPerJob: 1, engine: 'auto', log: quiet });
const audio = (sec: number) => Float32Array.from({ length: sec * 16000 }, (_, i) => Math.sin(i / 7) * 0.3);
const never = new AbortController().signal;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

type Runner = { run(job: EngineJob, signal: AbortSignal): Promise<EngineResult> };
async function added(runner: Runner, samples: Float32Array, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = -5; i < n; i++) {
    const started = performance.now();
    const result = await runner.run({ samples, fitContext: true, language: 'en' }, never);
    if (i >= 0) out.push(performance.now() - started - result.engineMs);
  }
  return out;
}

const nats = await startNatsServer();
const local = newEngine();
await local.ready();
const nodeEngines = [newEngine(), newEngine()];
await Promise.all(nodeEngines.map((e) => e.ready()));
const connections = await Promise.all([nats.connect(), nats.connect(), nats.connect()]);
const bus = await BusEngine.open({ nc: connections[0]!, log: quiet });
const nodes = [await EngineNode.start({ nc: connections[1]!, engine: nodeEngines[0]!, nodeId: 'bench-a', log: quiet })];
while (bus.slots < 1) await new Promise((r) => setTimeout(r, 50));

console.log(`bench:cluster  ${JOBS} jobs per size, one after another, micro synthetic model, one engine worker per path; added = wall time minus the engine's own`);
for (const sec of [2, 30]) {
  const samples = audio(sec);
  const direct = await added(local, samples, JOBS);
  const viaBus = await added(bus, samples, JOBS);
  const ms = (x: number) => x.toFixed(2).padStart(7);
  console.log(
    `${String(sec).padStart(2)} s jobs  single process: added p50 ${ms(pct(direct, 50))} p99 ${ms(pct(direct, 99))} ms   over the bus: added p50 ${ms(pct(viaBus, 50))} p99 ${ms(pct(viaBus, 99))} ms   ` +
      `the bus's share: p50 ${ms(pct(viaBus, 50) - pct(direct, 50))} p99 ${ms(pct(viaBus, 99) - pct(direct, 99))} ms`,
  );
}

/** A chunk's `segments` frame (ten segments of a 30 s chunk) from one hub to another: ms from publish to arrival. */
async function frameHop(n: number): Promise<number[]> {
  const [a, b] = [await nats.connect(), await nats.connect()];
  let arrived: (() => void) | undefined;
  const sender = new BusFrames(a, 'bench-hub-a', { publish() {}, feed() {} }, quiet);
  const receiver = new BusFrames(b, 'bench-hub-b', { publish: () => arrived?.(), feed() {} }, quiet);
  await b.flush();
  const segments = Array.from({ length: 10 }, (_, i) => ({ start: i * 3, end: i * 3 + 2.8, text: 'a sentence of about ten words, as a chunk carries them', chunk: 0 }));
  const out: number[] = [];
  for (let i = -5; i < n; i++) {
    const started = performance.now();
    await new Promise<void>((resolve) => {
      arrived = resolve;
      sender.publish('bench-task', { type: 'segments', id: 'bench-task', seq: i + 6, chunk: 0, segments } as TaskEventFrame);
    });
    if (i >= 0) out.push(performance.now() - started);
  }
  sender.close();
  receiver.close();
  await Promise.all([a.close(), b.close()]);
  return out;
}
const hop = await frameHop(JOBS);
console.log(`a chunk's frame from one hub to another over NATS: p50 ${pct(hop, 50).toFixed(2)} p99 ${pct(hop, 99).toFixed(2)} ms (add it to the job's share for a chunk's whole added time; goal: <= 5 ms p99 together)`);

async function throughput(runners: number): Promise<number> {
  const samples = audio(30);
  const started = performance.now();
  let done = 0;
  await Promise.all(Array.from({ length: runners * 2 }, async () => {
    while (done < JOBS / 2) {
      done++;
      await bus.run({ samples, language: 'en' }, never);
    }
  }));
  return (done / (performance.now() - started)) * 1000;
}
const one = await throughput(1);
nodes.push(await EngineNode.start({ nc: connections[2]!, engine: nodeEngines[1]!, nodeId: 'bench-b', log: quiet }));
while (bus.slots < 2) await new Promise((r) => setTimeout(r, 50));
const two = await throughput(2);
console.log(`throughput of 30 s jobs: one engine node ${one.toFixed(1)} jobs/s, two ${two.toFixed(1)} jobs/s (same 2 cores: overhead, not scale)`);

bus.close();
for (const node of nodes) await node.close();
await Promise.all([local.close(), ...nodeEngines.map((e) => e.close())]);
for (const nc of connections) await nc.close();
await nats.stop();
await rm(dir, { recursive: true, force: true });
process.exit(0);
