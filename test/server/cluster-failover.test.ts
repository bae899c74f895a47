// Fail-over between processes: two hubs (HUB_ROLE=hub) and two engine nodes
// (HUB_ROLE=engine, the micro synthetic model: mechanics, not text), each a
// process of its own as `npm start` runs it, on a real nats-server and
// FerretDB 1.24 (the MongoDB wire double where FerretDB is not built). A hub
// killed with SIGKILL mid-task: the other takes its lease when it expires and
// the task completes with the chunks of an undisturbed run, none twice. An
// engine node killed mid-chunk: the bus hands the chunk to the other node,
// and it is done once.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { ALICE, BOB, ADMIN, fixture, getJson, repeatWav, upload, waitForStatus } from '../helpers/hub.ts';
import { spawnHub, type HubProcess } from '../helpers/hub-process.ts';
import { MongoWireDouble } from '../helpers/mongo-wire-double.ts';
import { ferretDbBinary, startFerretDb } from '../helpers/ferretdb.ts';
import { hasNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import type { Task } from '../../client/protocol/types.ts';

if (!hasNatsServer()) {
  t.pass('skipped: no nats-server on this machine (apt-get install nats-server; .ci/run does)');
  process.exit(0);
}

const nats = await startNatsServer();
const mongo = ferretDbBinary() ? await startFerretDb() : new MongoWireDouble();
const mongoUri = mongo instanceof MongoWireDouble ? await mongo.start() : mongo.uri('hub_failover');
const root = await mkdtemp(join(tmpdir(), 'hub-failover-')); // each node's own data folder inside (uploads cross through NATS)
const processes: HubProcess[] = [];
t.teardown(async () => {
  for (const p of processes) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
  await Promise.all(processes.map((p) => p.exited));
  await nats.stop();
  await mongo.stop();
  await rm(root, { recursive: true, force: true });
});

const common = {
  HUB_NATS_URL: nats.url,
  MONGODB_URI: mongoUri,
  HUB_PORT: '0',
  WHISPER_MODEL: 'synthetic:micro',
  HUB_TOKENS: `${ALICE}=alice,${BOB}=bob,${ADMIN}=root:admin`,
  HUB_LEASE_TTL_SEC: '1',
};
const start = async (env: Record<string, string>) => {
  const p = await spawnHub({ ...common, ...env });
  processes.push(p);
  return p;
};
const engines = [
  await start({ HUB_ROLE: 'engine', HUB_NODE_ID: 'engine-1', HUB_WORKERS: '1', HUB_DATA_DIR: join(root, 'engine-1') }),
  await start({ HUB_ROLE: 'engine', HUB_NODE_ID: 'engine-2', HUB_WORKERS: '1', HUB_DATA_DIR: join(root, 'engine-2') }),
];
const hubA = await start({ HUB_ROLE: 'hub', HUB_NODE_ID: 'hub-a', HUB_DATA_DIR: join(root, 'hub-a'), HUB_VAD: 'energy' });
const hubB = await start({ HUB_ROLE: 'hub', HUB_NODE_ID: 'hub-b', HUB_DATA_DIR: join(root, 'hub-b'), HUB_VAD: 'energy' });
t.comment(`the shared record: ${mongo instanceof MongoWireDouble ? 'the MongoDB wire double (no FerretDB built here)' : 'FerretDB 1.24'}; engine nodes at ${engines.map((e) => e.url).join(', ')}`);

/** The chunks a task's transcript is made of, in order (each once), and how many segments appear twice. */
async function chunksOf(url: string, id: string): Promise<{ order: number[]; repeated: number }> {
  const segments = (await getJson<Task>(`${url}/v1/tasks/${id}?segments=1`, ALICE)).body.segments;
  const order = segments.map((s) => s.chunk ?? -1).filter((c, i, all) => i === 0 || c !== all[i - 1]);
  const keys = segments.map((s) => `${s.chunk}:${s.start}`);
  return { order, repeated: keys.length - new Set(keys).size };
}

t.test('SIGKILL a hub mid-task: the other takes the lease and the transcript has every chunk of an undisturbed run, once', async (t) => {
  const audio = repeatWav(await fixture('long.wav'), 4); // several chunks, seconds of work
  // The undisturbed run, on hub-b.
  const reference = (await (await upload(hubB.url, ALICE, audio, '?language=en')).json()) as Task;
  const undisturbed = await waitForStatus(hubB.url, ALICE, reference.id, ['completed', 'failed'], 120_000);
  t.equal(undisturbed.status, 'completed');

  const { id } = (await (await upload(hubA.url, ALICE, audio, '?language=en')).json()) as Task;
  let seen: Task;
  do {
    await new Promise((r) => setTimeout(r, 100));
    seen = (await getJson<Task>(`${hubA.url}/v1/tasks/${id}`, ALICE)).body;
  } while (seen.progress.done < 2 && seen.status !== 'completed');
  t.not(seen.status, 'completed', `hub-a is mid-task (${seen.progress.done} of ${seen.progress.total} chunks)`);
  hubA.proc.kill('SIGKILL');
  t.match(await hubA.exited, { signal: 'SIGKILL' });

  const task = await waitForStatus(hubB.url, ALICE, id, ['completed', 'failed'], 120_000);
  t.equal(task.status, 'completed', task.error?.message ?? 'hub-b finished it');
  // (the synthetic model's words vary from run to run: what must match is which chunks made the transcript, each once, in order)
  const [moved, calm] = [await chunksOf(hubB.url, id), await chunksOf(hubB.url, reference.id)];
  t.same(moved.order, calm.order, 'the same chunks on the transcript as in the undisturbed run, in order: none lost');
  t.equal(moved.repeated, 0, 'no segment twice: nothing transcribed onto it again after the take-over');
  const client = await MongoClient.connect(mongoUri);
  t.teardown(() => client.close());
  t.match(await client.db().collection('tasks').findOne({ _id: id as never }), { lease: { owner: 'hub-b', epoch: 2 } }, 'hub-b holds it under the next epoch');
});

t.test('SIGKILL an engine node mid-chunk: the chunk goes to the other node and is done once', async (t) => {
  const audio = repeatWav(await fixture('long.wav'), 4);
  const { id } = (await (await upload(hubB.url, ALICE, audio, '?language=en')).json()) as Task;
  const running = async (node: HubProcess) => (await getJson<{ jobsRunning: number }>(`${node.url}/readyz`, undefined)).body.jobsRunning;
  let busy: HubProcess | undefined;
  while (!busy) {
    await new Promise((r) => setTimeout(r, 20));
    for (const node of engines) if ((await running(node)) > 0) busy = node;
  }
  busy.proc.kill('SIGKILL');
  t.match(await busy.exited, { signal: 'SIGKILL' }, 'an engine node died with a chunk in hand');
  const task = await waitForStatus(hubB.url, ALICE, id, ['completed', 'failed'], 120_000);
  t.equal(task.status, 'completed', task.error?.message ?? 'completed on the node left');
  const { order, repeated } = await chunksOf(hubB.url, id);
  t.same(order, [...order].sort((a, b) => a - b), 'chunks in order');
  t.equal(new Set(order).size, order.length, 'each chunk once on the transcript');
  t.equal(repeated, 0, 'no segment twice');
  t.equal(task.progress.done, task.progress.total, 'every chunk done');
});
