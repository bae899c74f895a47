// The SDK against a real hub: uploads with progress, live frames, reconnects
// that lose nothing, live sessions that survive a dropped connection, and
// errors that carry the protocol's codes.
import t from 'tap';
import { join } from 'node:path';
import { openAsBlob } from 'node:fs';
import WebSocket from 'ws';
import { ALICE, fixture, startTestHub } from '../helpers/hub.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';
import { createHubClient, HubApiError, type Task, type TaskEventFrame } from '../../client/sdk/index.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import type { WebSocketConstructor } from '../../client/sdk/connection.ts';

const { url } = await startTestHub(t);

/** The `ws` WebSocket, remembering its instances so a test can cut them (stands for a network drop). */
function droppableWebSocket() {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(address: string) {
      super(address);
      sockets.push(this);
    }
  }
  return { WebSocket: Tracked as unknown as WebSocketConstructor, drop: () => sockets.filter((s) => s.readyState === WebSocket.OPEN).forEach((s) => s.terminate()), sockets };
}

t.test('upload with byte progress, then every frame until it is done, and the transcript', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  t.teardown(() => hub.close());
  const body = await fixture('long.wav');
  const progress: number[] = [];
  const task = await hub.upload(new Uint8Array(body), { name: 'long.wav', language: 'en', onProgress: (sent) => progress.push(sent) });
  t.match(task, { status: 'queued', name: 'long.wav' });
  t.ok(progress.length > 3, `${progress.length} progress events`);
  t.same(progress, [...progress].sort((a, b) => a - b), 'increasing');
  t.equal(progress.at(-1), body.length);
  const frames: TaskEventFrame[] = [];
  for await (const frame of hub.frames(task.id)) frames.push(frame);
  t.match(frames.at(-1), { type: 'status', status: 'completed' });
  const done = await hub.task(task.id);
  t.ok(done.segments.length > 3);
  t.match(await hub.transcript(task.id, 'srt'), /^1\n00:00:00,000 --> /);
  const { tasks } = await hub.tasks({ limit: 1 });
  t.equal(tasks[0]!.id, task.id);
});

t.test('the connection drops in the middle of a task: nothing is lost', async (t) => {
  const net = droppableWebSocket();
  const hub = createHubClient({ url, token: ALICE, WebSocket: net.WebSocket });
  t.teardown(() => hub.close());
  const task = await hub.upload(new Uint8Array(await fixture('long.wav')), { language: 'en' });
  let latest: Task | undefined;
  const seqs: number[] = [];
  let dropped = false;
  await new Promise<void>((resolve, reject) => {
    hub.watch(task.id, {
      onTask: (t) => {
        latest = t;
        if (t.status === 'completed') resolve();
      },
      onFrame: (f) => {
        seqs.push(f.seq);
        if (!dropped && f.type === 'segments') {
          dropped = true;
          net.drop();
        }
      },
      onError: reject,
    });
  });
  t.ok(dropped, 'the connection was cut mid-task');
  t.ok(net.sockets.length >= 2, 'the SDK reconnected');
  t.same(seqs, seqs.map((_, i) => seqs[0]! + i), 'every frame, once, in order');
  const { updatedAt: _kept, ...kept } = latest!;
  const { updatedAt: _real, ...real } = await hub.task(task.id);
  t.same(kept, real, 'the task the SDK kept equals the hub’s (but for updatedAt, which frames do not carry)');
});

t.test('a file uploads from disk as it is read (fs.openAsBlob), with progress; too large is payload_too_large', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  const file = await openAsBlob(join(FIXTURES, 'long.wav'));
  let last = 0;
  const task = await hub.upload(file, { name: 'long.wav', onProgress: (sent, total) => ((last = sent), t.equal(total, file.size)) });
  t.equal(last, file.size, 'every byte counted');
  t.match(task, { name: 'long.wav', status: 'queued' });
  t.teardown(() => void hub.cancel(task.id).catch(() => {}));

  const small = await startTestHub(t, { HUB_MAX_UPLOAD_MB: '1' });
  const limited = createHubClient({ url: small.url, token: ALICE });
  let sent = 0;
  const refused = await limited.upload(file, { onProgress: (n) => (sent = n) }).catch((e: unknown) => e);
  t.match(refused, { code: 'payload_too_large', status: 413, message: /larger than 1 MB/ }, 'refused with the hub’s code, not a broken pipe');
  t.equal(sent, 0, 'before sending a byte: the limit comes from /v1/me');
  const accepted = await limited.upload(new Uint8Array(await fixture('speech.wav')));
  t.equal(accepted.status, 'queued', 'under the limit it goes through');
});

t.test('errors carry the protocol codes', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  t.teardown(() => hub.close());
  const empty = await hub.upload(new Uint8Array(0)).catch((e: unknown) => e);
  t.ok(empty instanceof HubApiError);
  t.match(empty, { code: 'bad_request', status: 400 });
  t.match(await hub.task('nope').catch((e: unknown) => e), { code: 'not_found', status: 404 });
  const stranger = createHubClient({ url, token: 'wrong-token' });
  t.match(await stranger.tasks().catch((e: unknown) => e), { code: 'unauthorized', status: 401 });
  const live = await stranger.live().catch((e: unknown) => e);
  t.match(live, { code: 'unauthorized', closeCode: 4001 });
});

t.test('a live session survives a dropped connection: it resumes and re-sends what the hub missed', async (t) => {
  const net = droppableWebSocket();
  const hub = createHubClient({ url, token: ALICE, WebSocket: net.WebSocket });
  const audio = await readAudioFile(join(FIXTURES, 'long.wav'), 's16le');
  const finals: string[] = [];
  let reconnects = 0;
  const live = await hub.live({ language: 'en' }, { onFinal: (f) => f.text && finals.push(f.text), onReconnecting: (r) => r && reconnects++ });
  const frame = 3200; // 100 ms
  for (let at = 0; at < audio.length; at += frame) {
    live.send(audio.subarray(at, at + frame));
    if (at === frame * 150) net.drop(); // 15 s in
    await new Promise((r) => setTimeout(r, 8)); // about 12x real time
  }
  const seconds = await live.close();
  t.equal(reconnects, 1);
  t.ok(Math.abs(seconds - audio.length / 32_000) < 0.25, `the hub got ${seconds.toFixed(2)} s of ${(audio.length / 32_000).toFixed(2)} s`);
  t.ok(finals.length >= 15, `${finals.length} finals over the whole recording`);
});

t.test('stream(file path): decoded, paced at the asked speed, closed when it runs out', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  const finals: string[] = [];
  const started = performance.now();
  const live = await hub.stream(join(FIXTURES, 'speech.wav'), { speed: 4, language: 'en' }, { onFinal: (f) => f.text && finals.push(f.text) });
  t.match(live.id, /^[0-9a-f-]{36}$/);
  const seconds = await live.finished;
  const took = (performance.now() - started) / 1000;
  t.ok(Math.abs(seconds - 6.4) < 0.5, `the hub got ${seconds.toFixed(2)} s`);
  t.ok(took >= seconds / 4 - 0.2, `paced: ${took.toFixed(2)} s for ${seconds.toFixed(2)} s of audio at 4x`);
  t.match(finals.join(' '), /The quick brown fox/);
  t.equal((await hub.task(live.id)).status, 'completed', 'the session is recorded as a finished task');
});

t.test('stream(async iterable): PCM in odd-sized pieces, as a pipe delivers it', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  const pcm = await readAudioFile(join(FIXTURES, 'speech.wav'), 's16le');
  async function* pipe() {
    for (let at = 0; at < pcm.length; at += 7777) yield pcm.subarray(at, at + 7777);
  }
  const finals: string[] = [];
  const live = await hub.stream(pipe(), { speed: 0 }, { onFinal: (f) => f.text && finals.push(f.text) });
  const seconds = await live.finished;
  t.ok(Math.abs(seconds - pcm.length / 32_000) < 0.05, `every byte arrived: ${seconds.toFixed(2)} s`);
  t.ok(finals.length >= 1);
});

t.test('stream().stop() ends early, and the words so far still become finals', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  const finals: string[] = [];
  let firstFinal!: () => void;
  const heard = new Promise<void>((resolve) => (firstFinal = resolve));
  const live = await hub.stream(join(FIXTURES, 'long.wav'), { speed: 8 }, { onFinal: (f) => f.text && (finals.push(f.text), firstFinal()) });
  await heard;
  const seconds = await live.stop();
  t.ok(seconds > 1 && seconds < 60, `stopped after ${seconds.toFixed(1)} s of a 101.7 s recording`);
  t.equal(await live.stop(), seconds, 'stop() twice is harmless');
  t.equal(await live.finished, seconds);
  t.ok(finals.length >= 1);
});

t.test('stream() of an unreadable file fails before any session opens', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  const before = (await hub.tasks({ limit: 1 })).tasks[0]?.id;
  const error = await hub.stream(join(FIXTURES, 'garbage.bin')).catch((e: unknown) => e);
  t.ok(error instanceof HubApiError);
  t.match(error, { code: 'unsupported_audio', message: /garbage\.bin/ });
  t.equal((await hub.tasks({ limit: 1 })).tasks[0]?.id, before, 'no task was created');
});

t.test('watchTasks: tasks created and deleted by other clients, and again after a dropped connection', async (t) => {
  const net = droppableWebSocket();
  const hub = createHubClient({ url, token: ALICE, WebSocket: net.WebSocket });
  t.teardown(() => hub.close());
  const events: string[] = [];
  let watching!: () => void;
  let on = new Promise<void>((resolve) => (watching = resolve));
  let created!: (id: string) => void;
  let next = new Promise<string>((resolve) => (created = resolve));
  hub.watchTasks({
    onWatching: () => (events.push('watching'), watching()),
    onCreated: (f) => (events.push(`created ${f.task.name}`), created(f.id)),
    onDeleted: (f) => events.push(`deleted ${f.id}`),
  });
  await on;
  const other = createHubClient({ url, token: ALICE }); // another tab, the CLI ...
  const first = await other.upload(new Uint8Array(await fixture('speech.wav')), { name: 'from-elsewhere.wav' });
  t.equal(await next, first.id);

  on = new Promise<void>((resolve) => (watching = resolve));
  net.drop();
  await on; // reconnected: the feed is back on
  next = new Promise<string>((resolve) => (created = resolve));
  const second = await other.upload(new Uint8Array(await fixture('speech.wav')), { name: 'after-the-drop.wav' });
  t.equal(await next, second.id);
  for (const id of [first.id, second.id]) {
    for await (const _ of hub.frames(id)); // until finished
    await other.cancel(id); // a finished task: deleted
  }
  while (events.filter((e) => e.startsWith('deleted')).length < 2) await new Promise((r) => setTimeout(r, 20));
  t.same(events, ['watching', 'created from-elsewhere.wav', 'watching', 'created after-the-drop.wav', `deleted ${first.id}`, `deleted ${second.id}`]);
});

t.test('transcribe(): upload and wait for the finished task; a failed task rejects with its code', async (t) => {
  const hub = createHubClient({ url, token: ALICE });
  t.teardown(() => hub.close());
  const seen: string[] = [];
  const done = await hub.transcribe(new Uint8Array(await fixture('speech.wav')), { name: 'speech.wav', language: 'en', onTask: (task) => seen.push(task.status) });
  t.match(done, { status: 'completed', name: 'speech.wav', segments: [{ text: /quick brown fox/ }] });
  t.equal(seen.at(-1), 'completed');
  const failed = await hub.transcribe(new Uint8Array(await fixture('garbage.bin'))).catch((e: unknown) => e);
  t.ok(failed instanceof HubApiError);
  t.match(failed, { code: 'unsupported_audio' });
});

t.test('a large file goes up resumably: a piece cut mid-way resumes from what the hub acknowledged', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtemp, readFile: read } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { uploadResumable } = await import('../../client/sdk/resumable.ts');
  const { transfer, errorFrom } = await import('../../client/sdk/http.ts');
  const dir = await mkdtemp(join(tmpdir(), 'sdk-resumable-'));
  const big = join(dir, 'big.wav');
  execFileSync('sox', [join(FIXTURES, 'long.wav'), join(FIXTURES, 'long.wav'), join(FIXTURES, 'long.wav'), big]); // ~9.8 MB
  const bytes = new Uint8Array(await read(big));

  // The SDK picks the resumable path on its own above 8 MB.
  const hub = createHubClient({ url, token: ALICE });
  const task = await hub.upload(await openAsBlob(big), { name: 'big.wav' });
  t.match(task, { name: 'big.wav', status: /queued|decoding|transcribing/ });
  const head = await fetch(`${url}/v1/uploads/${task.id}`, { method: 'HEAD', headers: { Authorization: `Bearer ${ALICE}`, 'Tus-Resumable': '1.0.0' } });
  t.equal(head.headers.get('upload-length'), String(bytes.length), 'it went through /v1/uploads');

  // A link that breaks half-way through the second piece.
  const sentPerCall: number[] = [];
  let calls = 0;
  const flaky: typeof transfer = async (method, target, headers, body, onProgress, signal) => {
    calls++;
    if (calls === 2) {
      const half = body.slice(0, Math.floor((body instanceof Uint8Array ? body.byteLength : body.size) / 2));
      await transfer(method, target, { ...headers }, half, onProgress, signal).catch(() => {});
      sentPerCall.push(half instanceof Uint8Array ? half.byteLength : half.size);
      throw new HubApiError('network', 'the link broke');
    }
    sentPerCall.push(body instanceof Uint8Array ? body.byteLength : body.size);
    return transfer(method, target, headers, body, onProgress, signal);
  };
  const id = await uploadResumable(bytes, { base: url, headers: { Authorization: `Bearer ${ALICE}` }, transfer: flaky, errorFrom, name: 'cut.wav' });
  t.equal(sentPerCall.reduce((a, b) => a + b, 0), bytes.length, `every byte sent once: ${sentPerCall.join(' + ')}`);
  const cut = await hub.task(id);
  t.match(cut, { id, name: 'cut.wav' });
});
