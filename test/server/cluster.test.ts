// Cluster mode end to end on a real NATS server (JetStream): a hub
// (HUB_ROLE=hub, no engines of its own) and an engine node (HUB_ROLE=engine,
// the micro synthetic model: mechanics, not text) in this process, the shared
// record on FerretDB 1.24 (SQLite) where it is built (.ci/run builds it), else
// on the MongoDB wire double. An upload is transcribed by the node
// through the bus; both roles answer the probes; frames cross hubs; a task has
// one owner (its lease), and another hub finishes it when that owner dies.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startEngineRole } from '../../server/engine-role.ts';
import { ADMIN, ALICE, TestSocket, fixture, getJson, repeatWav, startTestHub, upload, uploads, waitForStatus } from '../helpers/hub.ts';
import { MongoClient } from 'mongodb';
import { Objm } from '@nats-io/obj';
import { UPLOADS_BUCKET } from '../../server/shared-uploads.ts';
import { MongoWireDouble } from '../helpers/mongo-wire-double.ts';
import { ferretDbBinary, startFerretDb } from '../helpers/ferretdb.ts';
import { hasNatsServer, startNatsServer } from '../helpers/nats-server.ts';
import type { Task } from '../../client/protocol/types.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import { resumeSession, sessionUntilFinal } from '../helpers/moved-session.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

if (!hasNatsServer()) {
  t.pass('skipped: no nats-server on this machine (apt-get install nats-server; .ci/run does)');
  process.exit(0);
}

const nats = await startNatsServer();
const mongo = ferretDbBinary() ? await startFerretDb() : new MongoWireDouble();
const mongoUri = mongo instanceof MongoWireDouble ? await mongo.start() : mongo.uri('hub_cluster');
t.comment(`the shared record: ${mongo instanceof MongoWireDouble ? 'the MongoDB wire double (no FerretDB built here)' : 'FerretDB 1.24'}`);
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

t.test('the admin socket on any hub shows every node, and inspects and cancels an actor another hub runs', async (t) => {
  const other = await startTestHub(t, { HUB_ROLE: 'hub', HUB_NATS_URL: nats.url, MONGODB_URI: mongoUri, HUB_NODE_ID: 'hub-e' });
  const admin = await TestSocket.open(other.wsUrl, '/v1/admin', ADMIN);
  t.teardown(() => admin.close());
  const { id } = (await (await upload(url, ALICE, repeatWav(await fixture('long.wav'), 3), '?language=en')).json()) as Task;
  type View = { node: string; role: string; actors: { id: string; kind: string }[]; stats: Record<string, unknown> };
  const seen = await admin.next((f) => {
    const nodes = (f.nodes ?? []) as View[];
    return f.type === 'nodes' && nodes.some((n) => n.node === 'hub-a' && n.actors.some((a) => a.id === id)) && nodes.some((n) => n.node === 'engine-a' && n.actors.some((a) => a.kind === 'worker'));
  }, 15_000);
  const views = seen.nodes as View[];
  t.match(views.find((n) => n.node === 'hub-a'), { role: 'hub', actors: [{ kind: 'task' }], stats: { eventLoop: {}, persistence: {} } }, "hub-a's actors and stats, seen on hub-e");
  t.match(views.find((n) => n.node === 'engine-a'), { role: 'engine', stats: { engine: { state: 'ready' } } }, "the engine node's workers and state");
  t.notOk(views.some((n) => n.node === 'hub-e'), 'its own actors come in the usual frames, not twice');

  admin.send({ type: 'inspect', id, ref: 7 });
  t.match(await admin.next((f) => f.ref === 7), { type: 'snapshot', id, node: 'hub-a', snapshot: { context: { task: { id } } } }, "inspect is answered by the hub that runs the task");
  admin.send({ type: 'cancel', id, ref: 8 });
  t.match(await admin.next((f) => f.ref === 8), { type: 'cancelled', id, node: 'hub-a' });
  t.equal((await waitForStatus(url, ALICE, id, ['cancelled', 'completed', 'failed'], 30_000)).status, 'cancelled', 'and cancel stops it there');
  admin.send({ type: 'inspect', id: 'no-such-actor', ref: 9 });
  t.match(await admin.next((f) => f.ref === 9), { type: 'error', code: 'not_found' });
});

t.test('one owner per task: a hub started later leaves a running task alone; when its hub dies, the other takes it over and finishes it', async (t) => {
  // Each hub has a disk of its own (the upload reaches the heir through the NATS object store) and holds leases of 1 s.
  const env = { HUB_ROLE: 'hub', HUB_NATS_URL: nats.url, MONGODB_URI: mongoUri, HUB_LEASE_TTL_SEC: '1' };
  const owner = await startTestHub(t, { ...env, HUB_NODE_ID: 'hub-c' });
  const { id } = (await (await upload(owner.url, ALICE, repeatWav(await fixture('long.wav'), 4), '?language=en')).json()) as Task;

  // Then a second hub starts and lives past a lease's life: it must not take the task while hub-c renews.
  let running: Task;
  do {
    await new Promise((r) => setTimeout(r, 200));
    running = owner.hub.context.registry.get(id)!;
  } while (running.progress.done < 1 && running.status !== 'completed');
  t.not(running.status, 'completed', 'still running when its hub dies (the fixture has several chunks)');
  const heir = await startTestHub(t, { ...env, HUB_NODE_ID: 'hub-d' }); // its start-up finds the task unfinished
  await new Promise((r) => setTimeout(r, 1_200));
  t.notOk(heir.hub.context.registry.isLive(id), 'hub-d left the running task alone');
  t.same(await uploads(heir.dataDir), [], "the upload is not on hub-d's disk");

  // A client follows the task from hub-d's socket across the take-over, as the SDK would (frames with a seq it has seen are dropped).
  const follower = await TestSocket.open(heir.wsUrl, '/v1/ws', ALICE);
  t.teardown(() => follower.close());
  follower.send({ type: 'subscribe', id, ref: 'f' });
  await follower.next((f) => f.type === 'task' && f.id === id);
  await owner.hub.close({ chunkGraceMs: 0 }); // hub-c stops renewing: its lease expires within 1 s
  const seenBefore = Math.max(...follower.frames.filter((f) => f.id === id && typeof f.seq === 'number').map((f) => f.seq as number));
  const task = await waitForStatus(heir.url, ALICE, id, ['completed', 'failed'], 120_000);
  const end = await follower.next((f) => f.type === 'status' && f.id === id && f.status === 'completed', 30_000);
  t.ok((end.seq as number) > seenBefore, `the new owner's frames go on past every seq the old one published (${seenBefore} → ${String(end.seq)}): a client that drops frames it has seen still gets them`);
  t.equal(task.status, 'completed', task.error?.message ?? 'finished by hub-d');
  t.ok(heir.hub.context.registry.get(id), 'hub-d ran it');
  const full = await getJson<Task>(`${heir.url}/v1/tasks/${id}?segments=1`, ALICE);
  const chunks = full.body.segments.map((s) => s.chunk ?? -1);
  t.same(chunks, [...chunks].sort((a, b) => a - b), 'every chunk once, in order: none transcribed twice onto the transcript');
  t.equal(full.body.progress.done, full.body.progress.total, 'every chunk done');
  const client = await MongoClient.connect(mongoUri);
  t.teardown(() => client.close());
  t.match(await client.db().collection('tasks').findOne({ _id: id as never }), { lease: { owner: 'hub-d', epoch: 2 } }, 'under the next epoch');
  t.same((await uploads(heir.dataDir)).filter((name) => name.startsWith(id)).length, 1, 'hub-d read the upload from the shared copy');

  const nc = await nats.connect();
  t.teardown(() => nc.close());
  const bucket = await new Objm(nc).open(UPLOADS_BUCKET);
  t.ok(await bucket.info(id), 'the shared copy is kept while the task is');
  t.equal((await fetch(`${heir.url}/v1/tasks/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ALICE}` } })).status, 204);
  t.equal(await bucket.get(id), null, 'and removed with it');
  t.same((await uploads(heir.dataDir)).filter((name) => name.startsWith(id)), [], "and hub-d's copy");
});

t.test('a live session whose hub goes away is resumed on another hub: finals kept, the rest transcribed there', async (t) => {
  const env = { HUB_ROLE: 'hub', HUB_NATS_URL: nats.url, MONGODB_URI: mongoUri, HUB_LEASE_TTL_SEC: '1', HUB_STREAM_IDLE_SEC: '5' };
  const first = await startTestHub(t, { ...env, HUB_NODE_ID: 'hub-f' });
  const second = await startTestHub(t, { ...env, HUB_NODE_ID: 'hub-g' });
  const long = await readAudioFile(join(FIXTURES, 'long.wav'), 's16le'); // 18 sentences, 1.5 s pauses
  const before = await sessionUntilFinal(first.wsUrl, ALICE, long.subarray(0, 32_000 * 12));
  await first.hub.close({ chunkGraceMs: 0 }); // hub-f goes away; its client is dropped
  await before.ws.waitClosed();

  const { ready, caughtUp } = await resumeSession(second.wsUrl, ALICE, before.id, before.seen, long);
  t.equal(ready.id, before.id, 'hub-g resumed the same session');
  t.ok((ready.durationSec as number) > 0 && (ready.durationSec as number) <= 12, `audio goes on from the end of its last stored final (${String(ready.durationSec)} s)`);
  t.ok(caughtUp.frameSeq > before.seen, 'the client got the whole session, past every seq it saw');
  const texts = (segments: { text: string }[]) => segments.slice(0, before.finals.length).map((s) => s.text);
  t.same(texts(caughtUp.segments), before.finals.map((f) => f.text), 'with the finals made on hub-f');
  const task = (await getJson<Task>(`${second.url}/v1/tasks/${before.id}?segments=1`, ALICE)).body;
  t.match(task, { status: 'completed', kind: 'stream' });
  t.same(texts(task.segments), before.finals.map((f) => f.text), 'the finals of hub-f kept, in order');
  t.ok(task.segments.length >= 15, `${task.segments.length} finals over both hubs (18 sentences)`);
  const client = await MongoClient.connect(mongoUri);
  t.teardown(() => client.close());
  t.match(await client.db().collection('tasks').findOne({ _id: before.id as never }), { lease: { owner: 'hub-g' } }, 'hub-g holds the session now');
});

t.test('nats-server restarted mid-task: no job is lost, the task completes', async (t) => {
  const { id } = (await (await upload(url, ALICE, repeatWav(await fixture('long.wav'), 3), '?language=en')).json()) as Task;
  let seen: Task;
  do {
    await new Promise((r) => setTimeout(r, 100));
    seen = (await getJson<Task>(`${url}/v1/tasks/${id}`, ALICE)).body;
  } while (seen.progress.done < 1 && seen.status !== 'completed');
  t.not(seen.status, 'completed', `mid-task (${seen.progress.done} of ${seen.progress.total} chunks)`);
  await nats.restart();
  const task = await waitForStatus(url, ALICE, id, ['completed', 'failed'], 120_000);
  t.equal(task.status, 'completed', task.error?.message ?? 'completed after the restart');
  t.equal(task.progress.done, task.progress.total, 'every chunk done');
});
