// Cluster mode end to end on a real NATS server (JetStream): a hub
// (HUB_ROLE=hub, no engines of its own) and an engine node (HUB_ROLE=engine,
// the micro synthetic model: mechanics, not text) in this process, the shared
// record on the MongoDB wire double. An upload is transcribed by the node
// through the bus; both roles answer the probes.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startEngineRole } from '../../server/engine-role.ts';
import { ALICE, TestSocket, fixture, getJson, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import { MongoWireDouble } from '../helpers/mongo-wire-double.ts';
import { hasNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import type { Task } from '../../client/protocol/types.ts';

if (!hasNatsServer()) {
  t.pass('skipped: no nats-server on this machine (apt-get install nats-server; .ci/run does)');
  process.exit(0);
}

const nats = await startNatsServer();
const mongo = new MongoWireDouble();
const mongoUri = await mongo.start();
const engineDir = await mkdtemp(join(tmpdir(), 'engine-node-'));
const node = await startEngineRole(
  loadConfig({ HUB_ROLE: 'engine', HUB_NATS_URL: nats.url, MONGODB_URI: mongoUri, HUB_NODE_ID: 'engine-a', HUB_PORT: '0', HUB_DATA_DIR: engineDir, WHISPER_MODEL: 'synthetic:micro', HUB_WORKERS: '1', HUB_LOG_LEVEL: 'silent' }, []),
);
t.teardown(async () => {
  await node.close();
  await nats.stop();
  await mongo.stop();
  await rm(engineDir, { recursive: true, force: true });
});
await node.engine.ready();
const { url } = await startTestHub(t, { HUB_ROLE: 'hub', HUB_NATS_URL: nats.url, MONGODB_URI: mongoUri, HUB_NODE_ID: 'hub-a' });

t.test('an upload to a hub without engines is transcribed by the engine node on the bus', async (t) => {
  const created = await upload(url, ALICE, await fixture('long.wav'), '?language=en');
  t.equal(created.status, 201);
  const { id } = (await created.json()) as Task;
  const task = await waitForStatus(url, ALICE, id, ['completed', 'failed'], 120_000);
  t.equal(task.status, 'completed', task.error?.message ?? 'completed');
  t.ok(task.progress.total > 1, `every chunk (${task.progress.total}) ran on the node`);
  const segments = await getJson<Task>(`${url}/v1/tasks/${id}?segments=1`, ALICE);
  t.ok((segments.body.segments ?? []).length > 0, 'with its segments');
});

t.test('every role answers the probes; the hub says which engine nodes it counts', async (t) => {
  const ready = await getJson<{ ready: boolean; engine: { state: string; nodes: { node: string; slots: number }[] } }>(`${url}/readyz`, undefined);
  t.equal(ready.status, 200);
  t.match(ready.body.engine, { state: 'ready', nodes: [{ node: 'engine-a', slots: 1 }] });
  t.match(await getJson(`${node.url}/healthz`, undefined), { status: 200, body: { ok: true, role: 'engine', node: 'engine-a' } });
  t.match(await getJson(`${node.url}/readyz`, undefined), { status: 200, body: { ready: true, engine: { state: 'ready' }, bus: { connected: true } } });
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  t.match(metrics, /hub_engine_node_slots\{[^}]*node="engine-a"[^}]*\} 1/);
});

t.test('frames across hubs: a task running on one hub is followed from another', async (t) => {
  const other = await startTestHub(t, { HUB_ROLE: 'hub', HUB_NATS_URL: nats.url, MONGODB_URI: mongoUri, HUB_NODE_ID: 'hub-b' });
  const feed = await TestSocket.open(other.wsUrl, '/v1/ws', ALICE);
  t.teardown(() => feed.close());
  feed.send({ type: 'watch_tasks', ref: 1 });
  await feed.next((f) => f.type === 'watching');
  const { id } = (await (await upload(url, ALICE, await fixture('long.wav'), '?language=en')).json()) as Task;
  const ws = await TestSocket.open(other.wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.close());
  ws.send({ type: 'subscribe', id, ref: 'b' });
  const first = await ws.next((f) => f.type === 'task' && f.id === id);
  t.ok(first, 'hub-b answers with the task from the shared record');
  const done = await ws.next((f) => f.type === 'status' && f.id === id && f.status === 'completed', 120_000);
  t.ok(done, "hub-a's frames reached a socket on hub-b, to the end");
  const seqs = ws.frames.filter((f) => f.id === id && typeof f.seq === 'number').map((f) => f.seq as number);
  t.same(seqs.slice(1), [...seqs.slice(1)].sort((a, b) => a - b), 'in seq order');
  t.ok(ws.frames.some((f) => f.type === 'segments' && f.id === id), 'segments among them');
  t.ok(feed.frames.some((f) => f.type === 'created' && f.id === id), "the user's feed on hub-b heard of the task created on hub-a");
});
