// `/v1/admin` and the operational surface: auth, the actor list following
// reality, inspect and cancel, stats, and /metrics parsed as Prometheus text.
import t from 'tap';
import parsePrometheus from 'parse-prometheus-text-format';
import { ADMIN, ALICE, TestSocket, fixture, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import type { Task } from '../../client/protocol/types.ts';

const { url, wsUrl } = await startTestHub(t);
const submit = async (name: string) => ((await (await upload(url, ALICE, await fixture(name), '?language=en')).json()) as Task).id;
const admin = async (json = false) => {
  const ws = await TestSocket.open(wsUrl, '/v1/admin', ADMIN, { json });
  await ws.next((f) => f.type === 'actors');
  return ws;
};

t.test('admin tokens only: 4001 without a valid token, 4003 for a user, and nothing else', async (t) => {
  for (const [token, code] of [[undefined, 4001], ['nope-nope', 4001], [ALICE, 4003]] as const) {
    const ws = await TestSocket.open(wsUrl, '/v1/admin', token);
    t.equal((await ws.waitClosed()).code, code);
    t.same(ws.frames, [], 'no frame at all');
  }
});

t.test('on open: every live actor, the scheduler, persistence and the engine workers', async (t) => {
  const ws = await admin();
  t.teardown(() => ws.close());
  const { actors } = ws.frames[0] as unknown as { actors: { id: string; kind: string; state: string }[] };
  t.match(actors.find((a) => a.kind === 'persistence'), { id: 'persistence', state: 'idle' });
  t.match(actors.find((a) => a.kind === 'scheduler'), { id: 'scheduler' });
  t.match(actors.find((a) => a.kind === 'worker'), { id: 'worker-0', state: 'idle', pid: Number, impl: 'whisper.cpp', backend: 'cpu' });
});

t.test('the actor list follows a task from start to finish, and its worker', async (t) => {
  const ws = await admin();
  t.teardown(() => ws.close());
  const id = await submit('long.wav');
  await waitForStatus(url, ALICE, id, ['completed']);
  const stopped = await ws.next((f) => f.type === 'actor_stopped' && f.id === id);
  const about = ws.frames.filter((f) => f.type === 'actor' && f.id === id);
  t.ok(about.length >= 2, `${about.length} actor frames for the task`);
  t.match(about[0], { kind: 'task', userId: 'alice' });
  t.match(about.at(-1), { status: 'completed', state: 'completed', progress: { pct: 100 } }, 'its last state, before it stops');
  t.ok(ws.frames.indexOf(about.at(-1)!) < ws.frames.indexOf(stopped));
  t.ok(ws.frames.some((f) => f.type === 'actor' && f.kind === 'worker' && f.state === 'busy' && (f.job as { taskId?: string })?.taskId === id), 'its worker was seen busy on it');
  const persisted = ws.frames.filter((f) => f.type === 'actor' && f.id === 'persistence');
  t.ok(persisted.length > 0, 'the persistence actor was seen writing');
});

t.test('stats, once a second, with the fields operators need', async (t) => {
  const ws = await admin(true);
  t.teardown(() => ws.close());
  const stats = await ws.next((f) => f.type === 'stats', 3000);
  t.match(stats, {
    workers: { size: 1, busy: Number, restarts: Number, list: [{ slot: 0, state: String, uptimeSec: Number }] },
    queue: { capacity: 1, inUse: Number, live: Number, batch: Number, byUser: Object },
    persistence: { backlog: Number, written: Number, store: 'embedded' },
    eventLoop: { p50Ms: Number, p99Ms: Number, maxMs: Number },
    memory: { rssMb: Number, heapUsedMb: Number },
    sockets: { admin: 1, ws: Number, stream: Number },
    tasks: { live: Number, streams: Number },
  });
  t.ok((stats.eventLoop as { p99Ms: number }).p99Ms < 200, 'the loop is not blocked');
  const next = await ws.next((f) => f.type === 'stats' && f !== stats, 3000, ws.frames.indexOf(stats) + 1);
  t.ok(Date.parse(next.at as string) - Date.parse(stats.at as string) >= 900, 'about a second apart');
});

t.test('inspect gives the full snapshot; cancel cancels; unknown ids are coded errors', async (t) => {
  const ws = await admin();
  t.teardown(() => ws.close());
  const id = await submit('long.wav');
  await waitForStatus(url, ALICE, id, ['transcribing']);
  ws.send({ type: 'inspect', id, ref: 1 });
  const snap = await ws.next((f) => f.type === 'snapshot' && f.ref === 1);
  t.match(snap, { id, snapshot: { status: 'active', value: 'transcribing', context: { task: { id, status: 'transcribing' }, chunks: Array } } });
  ws.send({ type: 'inspect', id: 'persistence', ref: 2 });
  t.match(await ws.next((f) => f.ref === 2), { type: 'snapshot', snapshot: { context: { written: Number } } });
  ws.send({ type: 'cancel', id, ref: 3 });
  t.match(await ws.next((f) => f.ref === 3), { type: 'cancelled', id });
  t.equal((await waitForStatus(url, ALICE, id, ['cancelled'])).status, 'cancelled');
  ws.send({ type: 'inspect', id: 'no-such-actor', ref: 4 });
  t.match(await ws.next((f) => f.ref === 4), { type: 'error', code: 'not_found' });
  ws.send({ type: 'cancel', id: 'no-such-task', ref: 5 });
  t.match(await ws.next((f) => f.ref === 5), { type: 'error', code: 'not_found' });
  ws.send({ type: 'shutdown', ref: 6 });
  t.match(await ws.next((f) => f.ref === 6), { type: 'error', code: 'bad_request' });
  ws.send({ type: 'ping', ref: 7 });
  t.match(await ws.next((f) => f.ref === 7), { type: 'pong' });
});

t.test('/metrics parses as Prometheus text and has what operators graph', async (t) => {
  await waitForStatus(url, ALICE, await submit('speech.wav'), ['completed']);
  const families = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
  const byName = new Map(families.map((f) => [f.name, f]));
  for (const [name, type] of [
    ['hub_tasks', 'GAUGE'],
    ['hub_tasks_finished_total', 'COUNTER'],
    ['hub_chunk_duration_seconds', 'HISTOGRAM'],
    ['hub_engine_real_time_factor', 'HISTOGRAM'],
    ['hub_queue_depth', 'GAUGE'],
    ['hub_stream_lag_seconds', 'HISTOGRAM'],
    ['hub_persistence_backlog', 'GAUGE'],
    ['hub_persistence_write_seconds', 'HISTOGRAM'],
    ['hub_frames_published_total', 'COUNTER'],
    ['hub_sockets_cut_off_total', 'COUNTER'],
    ['hub_sockets', 'GAUGE'],
    ['hub_event_loop_lag_seconds', 'GAUGE'],
    ['hub_engine_busy_workers', 'GAUGE'],
  ] as const) {
    t.equal(byName.get(name)?.type, type, name);
  }
  const sockets = byName.get('hub_sockets')!.metrics;
  t.same(sockets.map((m) => m.labels?.route).sort(), ['admin', 'stream', 'ws']);
});

