// `/v1/ws` end to end over real sockets: subscriptions, seq and `since`,
// coded errors for bad input, isolation, encodings, and the backpressure policy.
import t from 'tap';
import { ALICE, BOB, TestSocket, fixture, startTestHub, upload, waitForStatus, type Frame } from '../helpers/hub.ts';
import type { Task } from '../../client/protocol/types.ts';

const { url, wsUrl } = await startTestHub(t);

const newTask = async (name = 'long.wav') => ((await (await upload(url, ALICE, await fixture(name), '?language=en')).json()) as Task).id;
const isFinal = (f: Frame) => f.type === 'status' && ['completed', 'failed', 'cancelled'].includes(f.status as string);

t.test('subscribe: the whole task, then every frame, seq without gaps, chunks in order', async (t) => {
  const id = await newTask();
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.close());
  ws.send({ type: 'subscribe', id, ref: 'r1' });
  t.match(await ws.next((f) => f.type === 'subscribed'), { type: 'subscribed', id, ref: 'r1' });
  const first = await ws.next((f) => f.type === 'task');
  t.match(first, { type: 'task', id, task: { id, userId: 'alice' } });
  await ws.next(isFinal);
  const events = ws.frames.filter((f) => f.id === id && f.type !== 'task' && f.type !== 'subscribed');
  const seqs = events.map((f) => f.seq as number);
  t.same(seqs, seqs.map((_, i) => (first.seq as number) + i + 1), 'every frame after the snapshot, seq +1 each');
  t.match(events.at(-1), { type: 'status', status: 'completed' });
  const chunks = events.filter((f) => f.type === 'segments').map((f) => f.chunk);
  t.same(chunks, [...chunks].sort((a, b) => (a as number) - (b as number)), 'segments frames in chunk order');
  const progress = events.filter((f) => f.type === 'progress');
  t.match(progress.at(-1), { done: chunks.length, total: chunks.length, pct: 100 });
  const task = (await (await fetch(`${url}/v1/tasks/${id}`, { headers: { Authorization: `Bearer ${ALICE}` } })).json()) as Task;
  t.equal(task.seq, events.at(-1)!.seq, 'the task seq is the last frame seq');
});

t.test('since: a client that saw up to N gets only what came after', async (t) => {
  const id = await newTask();
  const a = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => a.close());
  a.send({ type: 'subscribe', id });
  const snapshot = await a.next((f) => f.type === 'task');
  await a.next((f) => f.type === 'progress' && (f.done as number) >= 1);
  a.close();
  // reconnect as if the first socket had dropped after the snapshot
  const b = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => b.close());
  b.send({ type: 'subscribe', id, since: snapshot.seq });
  await b.next(isFinal);
  t.notOk(b.frames.some((f) => f.type === 'task'), 'no snapshot: the missed frames instead');
  const seqs = b.frames.map((f) => f.seq as number);
  t.same(seqs, seqs.map((_, i) => (snapshot.seq as number) + i + 1), 'exactly the frames after since');
});

t.test('since on a finished task, and a since the hub cannot replay, give the whole task', async (t) => {
  const id = await newTask('speech.wav');
  const done = await waitForStatus(url, ALICE, id, ['completed']);
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.close());
  ws.send({ type: 'subscribe', id, since: 0 });
  t.match(await ws.next((f) => f.type === 'task'), { seq: done.seq, task: { status: 'completed', segments: [{ text: /quick brown fox/ }] } });
  ws.send({ type: 'subscribe', id, since: done.seq, ref: 'up-to-date' });
  await ws.next((f) => f.type === 'subscribed' && f.ref === 'up-to-date');
  ws.send({ type: 'ping', ref: 'after' });
  await ws.next((f) => f.type === 'pong' && f.ref === 'after');
  t.equal(ws.frames.filter((f) => f.type === 'task').length, 1, 'nothing resent to a client that is up to date');
});

t.test('unsubscribe stops the frames', async (t) => {
  const id = await newTask();
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.close());
  ws.send({ type: 'subscribe', id });
  await ws.next((f) => f.type === 'task');
  ws.send({ type: 'unsubscribe', id, ref: 'u' });
  await ws.next((f) => f.type === 'unsubscribed');
  const count = ws.frames.length;
  await waitForStatus(url, ALICE, id, ['completed']);
  t.equal(ws.frames.length, count, 'no frame after unsubscribing');
});

t.test('ping, and coded errors that leave the socket usable', async (t) => {
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.close());
  ws.send({ type: 'ping', ref: 7 });
  t.match(await ws.next((f) => f.type === 'pong'), { type: 'pong', ref: 7 });
  const bad: [string | Uint8Array | object, RegExp][] = [
    ['{not json', /not valid JSON/],
    [new Uint8Array([0xc1, 0xff]), /not valid MessagePack/],
    [{ type: 'dance', ref: 'x' }, /unknown message type "dance"/],
    [{ type: 'subscribe', ref: 'no-id' }, /id/],
    [{ type: 'subscribe', id: 42 }, /id/],
    [{ type: 'subscribe', id: 'x', since: -1 }, /since/],
    ['[1,2,3]', /unknown message type/],
  ];
  for (const [message, why] of bad) {
    const from = ws.frames.length;
    if (typeof message === 'string' || message instanceof Uint8Array) ws.sendRaw(message);
    else ws.send(message);
    const error = await ws.next((f) => f.type === 'error', 5000, from);
    t.match(error, { type: 'error', code: 'bad_request', message: why }, String(why));
  }
  t.match(ws.frames.find((f) => f.type === 'error' && f.ref === 'x'), { ref: 'x' }, 'the ref is echoed');
  ws.send({ type: 'subscribe', id: 'no-such-task', ref: 'nf' });
  t.match(await ws.next((f) => f.ref === 'nf'), { type: 'error', code: 'not_found' });
  ws.send({ type: 'ping', ref: 'still-alive' });
  await ws.next((f) => f.type === 'pong' && f.ref === 'still-alive');
  t.notOk(ws.closed);
});

t.test("another user's task cannot be subscribed to", async (t) => {
  const id = await newTask('speech.wav');
  const bob = await TestSocket.open(wsUrl, '/v1/ws', BOB);
  t.teardown(() => bob.close());
  bob.send({ type: 'subscribe', id, ref: 'steal' });
  t.match(await bob.next((f) => f.ref === 'steal'), { type: 'error', code: 'not_found' });
  await waitForStatus(url, ALICE, id, ['completed']);
  t.notOk(bob.frames.some((f) => f.id === id), 'bob saw nothing of it');
});

t.test('no token, or a wrong one: closed with 4001', async (t) => {
  for (const token of [undefined, 'wrong-token']) {
    const ws = await TestSocket.open(wsUrl, '/v1/ws', token);
    t.equal((await ws.waitClosed()).code, 4001);
    t.equal(ws.frames.length, 0);
  }
});

t.test('?encoding=json and ?token= for generic tools and browsers', async (t) => {
  const id = await newTask('speech.wav');
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE, { json: true, queryToken: true });
  t.teardown(() => ws.close());
  ws.send({ type: 'subscribe', id });
  t.match(await ws.next((f) => f.type === 'task'), { id });
  await ws.next(isFinal);
  t.ok(ws.frames.every((f) => typeof f.type === 'string'));
});

t.test('a subscriber that stops reading is cut off; the others do not notice', async (t) => {
  const done = await newTask('long.wav');
  await waitForStatus(url, ALICE, done, ['completed']);
  const slow = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  const healthy = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => (slow.close(), healthy.close()));
  const live = await newTask('long.wav');
  healthy.send({ type: 'subscribe', id: live });
  await healthy.next((f) => f.type === 'task');
  // The slow client stops reading, and keeps asking for a big snapshot.
  (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
  // ~25 MB of answers: more than the kernel's socket buffers and the 1 MiB the hub allows
  for (let i = 0; i < 40_000; i++) slow.send({ type: 'subscribe', id: done });
  const started = performance.now();
  healthy.send({ type: 'ping', ref: 'during' });
  await healthy.next((f) => f.type === 'pong' && f.ref === 'during');
  t.ok(performance.now() - started < 2000, 'the healthy socket still gets answers');
  await healthy.next(isFinal);
  const seqs = healthy.frames.filter((f) => f.id === live && f.type !== 'task').map((f) => f.seq as number);
  t.same(seqs, seqs.map((_, i) => seqs[0]! + i), 'the healthy socket missed nothing');
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await slow.waitClosed(10_000);
  t.ok([4009, 1006].includes(closed.code), `the slow socket was cut off (${closed.code}: 4009, or 1006 when it did not read the close either)`);
  t.ok(slow.frames.length < 40_000, `it got ${slow.frames.length} of 40000 answers before being cut off`);
});

t.test('watch_tasks: the caller’s new and deleted tasks from any client, nobody else’s', async (t) => {
  const alice = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  const bob = await TestSocket.open(wsUrl, '/v1/ws', BOB);
  t.teardown(() => (alice.close(), bob.close()));
  alice.send({ type: 'watch_tasks', ref: 'feed' });
  t.match(await alice.next((f) => f.type === 'watching'), { type: 'watching', ref: 'feed' });
  bob.send({ type: 'watch_tasks' });
  await bob.next((f) => f.type === 'watching');

  const id = await newTask('speech.wav');
  t.match(await alice.next((f) => f.type === 'created'), { type: 'created', id, seq: 0, task: { id, userId: 'alice', kind: 'file', status: 'queued' } });
  const stream = await TestSocket.open(wsUrl, '/v1/stream', ALICE);
  const { id: streamId } = await stream.next((f) => f.type === 'ready');
  t.match(await alice.next((f) => f.type === 'created' && f.id === streamId), { task: { kind: 'stream' } });
  stream.close();

  await waitForStatus(url, ALICE, id, ['completed']);
  t.equal((await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${ALICE}` } })).status, 204);
  t.match(await alice.next((f) => f.type === 'deleted'), { type: 'deleted', id });

  alice.send({ type: 'unwatch_tasks', ref: 'off' });
  await alice.next((f) => f.type === 'unwatched' && f.ref === 'off');
  const later = await newTask('speech.wav');
  bob.send({ type: 'ping', ref: 'last' });
  await bob.next((f) => f.type === 'pong');
  alice.send({ type: 'ping', ref: 'last' });
  await alice.next((f) => f.type === 'pong');
  t.notOk(alice.frames.some((f) => f.id === later), 'nothing after unwatch_tasks');
  t.notOk(bob.frames.some((f) => f.type === 'created' || f.type === 'deleted'), 'another user’s feed stays silent');
});
