// Jobs over the bus (cluster mode) on a real NATS server with JetStream: a
// hub's BusEngine publishes, EngineNodes pull and run. The engines behind the
// nodes are test doubles (ScriptedEngine: stands for a node's EngineService —
// it answers with the job's sample count as text, after a delay, and hears
// aborts): these tests are about the bus's mechanics, not about text.
import t from 'tap';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { BusEngine } from '../../../native/engine/bus/bus-engine.ts';
import { EngineNode, type LocalEngine } from '../../../native/engine/bus/engine-node.ts';
import { encodeMessage, fromS16, toS16, workSubject } from '../../../native/engine/bus/bus-protocol.ts';
import { encode } from '../../../client/protocol/codec.ts';
import type { EngineJob, EngineResult, EngineSegment } from '../../../native/engine/types.ts';
import { hasNatsServer, startNatsServer, type NatsServer } from '../../helpers/nats-server.ts';

if (!hasNatsServer()) {
  t.pass('skipped: no nats-server on this machine (apt-get install nats-server; .ci/run does)');
  process.exit(0);
}

const quiet = () => {};

class ScriptedEngine implements LocalEngine {
  ran: { samples: number; at: number }[] = [];
  aborted = 0;
  constructor(
    readonly slots = 1,
    private readonly delayMs = 100,
  ) {}
  status() {
    return { state: 'ready' as const, impl: 'whisper.cpp' as const, backend: 'cpu' as const, models: ['test'] };
  }
  async run(job: EngineJob, signal: AbortSignal, onSegments?: (s: EngineSegment[]) => void): Promise<EngineResult> {
    const samples = 'samples' in job ? job.samples.length : 0;
    this.ran.push({ samples, at: Date.now() });
    const segment = { start: 0, end: 1, text: `${samples} samples` };
    onSegments?.([{ ...segment, text: 'so far' }]);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, this.delayMs);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        this.aborted++;
        reject(Object.assign(new Error('aborted'), { code: 'cancelled' }));
      });
    });
    return { segments: [segment], language: 'en', engineMs: this.delayMs, audioSec: samples / 16000 };
  }
}

let server: NatsServer;
const connections: NatsConnection[] = [];
const open = async () => {
  const nc = await server.connect();
  connections.push(nc);
  return nc;
};
t.before(async () => {
  server = await startNatsServer();
});
t.afterEach(async () => {
  // a fresh queue per test: the stream goes with its jobs
  const nc = await server.connect();
  const { jetstreamManager } = await import('@nats-io/jetstream');
  await (await jetstreamManager(nc)).streams.delete('HUB_WORK').catch(() => {});
  await nc.close();
});
t.teardown(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
  await server.stop();
});

const samples = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i / 10) * 0.5);

t.test('audio crosses as 16-bit PCM, within one step of the float samples', async (t) => {
  const x = samples(1000);
  const back = fromS16(toS16(x));
  t.equal(back.length, x.length);
  t.ok(back.every((v, i) => Math.abs(v - x[i]!) <= 1 / 32768), 'every sample within 1/32768');
  t.equal(toS16(samples(30 * 16000)).length, 960_000, 'a 30 s chunk is 960 kB: under the default 1 MB payload');
});

t.test('a job runs on an engine node and its result comes back, with the segments said meanwhile', async (t) => {
  const local = new ScriptedEngine(1);
  const node = await EngineNode.start({ nc: await open(), engine: local, nodeId: 'n1', log: quiet });
  const slots: number[] = [];
  const bus = await BusEngine.open({ nc: await open(), log: quiet, onSlots: (n) => slots.push(n) });
  t.teardown(async () => {
    bus.close();
    await node.close();
  });
  while (bus.slots === 0) await new Promise((r) => setTimeout(r, 50));
  t.equal(bus.slots, 1, "the node's slot is counted");
  t.same(slots, [1], 'the scheduler is told');
  const heard: string[] = [];
  const result = await bus.run({ samples: samples(16000), language: 'en' }, new AbortController().signal, (s) => heard.push(s[0]!.text));
  t.equal(result.segments[0]!.text, '16000 samples', 'the audio arrived whole');
  t.same(heard, ['so far'], 'segments of the running job reached the hub');
  t.equal(local.ran.length, 1);
});

t.test('a cancel stops the job on the node that runs it, and takes a waiting job off the queue', async (t) => {
  const local = new ScriptedEngine(1, 2000);
  const node = await EngineNode.start({ nc: await open(), engine: local, nodeId: 'n1', log: quiet });
  const bus = await BusEngine.open({ nc: await open(), log: quiet });
  t.teardown(async () => {
    bus.close();
    await node.close();
  });
  const running = new AbortController();
  const first = bus.run({ samples: samples(100) }, running.signal);
  const queued = new AbortController();
  const second = bus.run({ samples: samples(200) }, queued.signal);
  while (local.ran.length === 0) await new Promise((r) => setTimeout(r, 20));
  queued.abort();
  running.abort();
  await t.rejects(first, { code: 'cancelled' });
  await t.rejects(second, { code: 'cancelled' });
  while (local.aborted === 0) await new Promise((r) => setTimeout(r, 20));
  t.equal(local.aborted, 1, 'the running job was aborted on its node');
  await new Promise((r) => setTimeout(r, 1500));
  t.same(local.ran.map((r) => r.samples), [100], 'the cancelled job that waited never ran');
});

t.test('a node that dies mid-job: another node runs it, and the hub gets one result', async (t) => {
  const ackWaitMs = 1500;
  const dying = new ScriptedEngine(1, 60_000);
  const doomedConnection = await open();
  const doomed = await EngineNode.start({ nc: doomedConnection, engine: dying, nodeId: 'doomed', log: quiet, ackWaitMs });
  const bus = await BusEngine.open({ nc: await open(), log: quiet, ackWaitMs });
  const job = bus.run({ samples: samples(300) }, new AbortController().signal);
  while (dying.ran.length === 0) await new Promise((r) => setTimeout(r, 20));
  // the node's machine is gone: no ack, no result, no goodbye
  await doomedConnection.close();
  const healthy = new ScriptedEngine(1, 50);
  const survivor = await EngineNode.start({ nc: await open(), engine: healthy, nodeId: 'survivor', log: quiet, ackWaitMs });
  t.teardown(async () => {
    bus.close();
    await survivor.close();
    await doomed.close();
  });
  const result = await job;
  t.equal(result.segments[0]!.text, '300 samples', 'the job was run again elsewhere');
  t.equal(healthy.ran.length, 1);
});

t.test('bad messages on the bus are dropped; the node goes on serving', async (t) => {
  const local = new ScriptedEngine(1);
  const node = await EngineNode.start({ nc: await open(), engine: local, nodeId: 'n1', log: quiet });
  const bus = await BusEngine.open({ nc: await open(), log: quiet });
  t.teardown(async () => {
    bus.close();
    await node.close();
  });
  const js = jetstream(await open());
  await js.publish(workSubject('batch'), new Uint8Array([0xc1, 0xff, 0x00]));
  await js.publish(workSubject('batch'), encode({ id: 'x', audio: 'not bytes', stream: false }));
  const nc = await open();
  nc.publish('hub.engines', encode({ node: 42 }));
  nc.publish('hub.engines', encodeMessage({ node: 'liar', slots: -5, busy: 0, models: [], impl: 'x', backend: 'cpu', state: 'ready' } as never));
  const result = await bus.run({ samples: samples(50) }, new AbortController().signal);
  t.equal(result.segments[0]!.text, '50 samples');
  t.equal(local.ran.length, 1, 'only the good job ran');
  t.notOk(bus.liveNodes().some((n) => n.node === 'liar' || n.slots < 0), 'malformed announcements counted nothing');
});

t.test('slots: every node counts; a node that stops announcing drops out', async (t) => {
  const a = await EngineNode.start({ nc: await open(), engine: new ScriptedEngine(2), nodeId: 'a', log: quiet });
  const bConnection = await open();
  const b = await EngineNode.start({ nc: bConnection, engine: new ScriptedEngine(3), nodeId: 'b', log: quiet });
  const bus = await BusEngine.open({ nc: await open(), log: quiet });
  t.teardown(async () => {
    bus.close();
    await a.close();
    await b.close();
  });
  // (nodes of earlier tests said goodbye; one that died without it drops out within 3 s)
  for (const deadline = Date.now() + 5000; bus.slots !== 5 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  t.equal(bus.slots, 5, '2 + 3');
  await bConnection.close();
  const gone = Date.now();
  while (bus.slots > 2) await new Promise((r) => setTimeout(r, 100));
  t.equal(bus.slots, 2, "b's slots are gone");
  t.ok(Date.now() - gone < 6000, 'within a few announcement periods');
});
