// The HTTP API end to end, over real sockets, against a real hub running the
// micro synthetic model.
import t from 'tap';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { uploads, ALICE, BOB, fixture, getJson, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import { SYNTHETIC_SENTENCES } from '../../native/models/synthetic.ts';
import type { Task } from '../../client/protocol/types.ts';

const { url, dataDir } = await startTestHub(t, { HUB_MAX_UPLOAD_MB: '5' });
const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
const first = SYNTHETIC_SENTENCES[0].trim();

t.test('every common container transcribes end to end', async (t) => {
  for (const name of ['speech.wav', 'speech.mp3', 'speech.flac', 'speech.ogg', 'speech.opus', 'speech.webm', 'speech.m4a', 'speech.mp4']) {
    const res = await upload(url, ALICE, await fixture(name), `?name=${name}&language=en`);
    t.equal(res.status, 201, `${name} accepted`);
    const created = (await res.json()) as Task;
    t.match(created, { userId: 'alice', kind: 'file', status: 'queued', name, language: 'en', seq: 0, model: 'synthetic:micro', segments: [] });
    t.equal(res.headers.get('location'), `/v1/tasks/${created.id}`);
    const done = await waitForStatus(url, ALICE, created.id, ['completed', 'failed']);
    t.equal(done.status, 'completed', `${name} completed`);
    t.ok(done.durationSec! > 6.2 && done.durationSec! < 6.5, `${name}: ${done.durationSec} s`);
    t.same(done.segments.map((s) => s.text), [first], `${name}: the synthetic script`);
    t.same(done.progress, { done: 1, total: 1, pct: 100 });
  }
});

t.test('a long recording: several chunks, stitched in order, never overlapping', async (t) => {
  const res = await upload(url, ALICE, await fixture('long.wav'), '?language=en');
  const { id } = (await res.json()) as Task;
  const done = await waitForStatus(url, ALICE, id, ['completed', 'failed']);
  t.equal(done.status, 'completed');
  t.ok(done.progress.total >= 4, `${done.progress.total} chunks`);
  t.same([...new Set(done.segments.map((s) => s.chunk))], [...Array(done.progress.total).keys()], 'every chunk, in order');
  for (let i = 1; i < done.segments.length; i++) t.ok(done.segments[i]!.start >= done.segments[i - 1]!.end, `segment ${i} does not overlap`);
  t.ok(done.segments.at(-1)!.end <= done.durationSec!);

  const txt = await fetch(`${url}/v1/tasks/${id}/transcript?format=txt`, { headers: auth(ALICE) });
  t.equal(txt.headers.get('content-type'), 'text/plain; charset=utf-8');
  t.match(await txt.text(), new RegExp(`^${first}`));
  const srt = await (await fetch(`${url}/v1/tasks/${id}/transcript?format=srt`, { headers: auth(ALICE) })).text();
  t.match(srt, /^1\n00:00:00,000 --> 00:00:10,000\nThe quick brown fox/);
  const vtt = await (await fetch(`${url}/v1/tasks/${id}/transcript?format=vtt&token=${ALICE}`)).text();
  t.match(vtt, /^WEBVTT\n\n00:00:00\.000 --> /, 'browsers can pass ?token=');
  const json = await getJson<{ segments: unknown[] }>(`${url}/v1/tasks/${id}/transcript`, ALICE);
  t.equal(json.body.segments.length, done.segments.length);
  t.equal((await getJson(`${url}/v1/tasks/${id}/transcript?format=doc`, ALICE)).status, 400);
});

t.test('silence gives an empty transcript, not invented text', async (t) => {
  const { id } = (await (await upload(url, ALICE, await fixture('silence.wav'))).json()) as Task;
  const done = await waitForStatus(url, ALICE, id, ['completed', 'failed']);
  t.match(done, { status: 'completed', segments: [], progress: { done: 1, total: 1 } });
});

t.test('undecodable audio: the task fails with unsupported_audio', async (t) => {
  const res = await upload(url, ALICE, await fixture('garbage.bin'), '?name=notes.txt');
  t.equal(res.status, 201);
  const { id } = (await res.json()) as Task;
  const failed = await waitForStatus(url, ALICE, id, ['completed', 'failed']);
  t.match(failed, { status: 'failed', error: { code: 'unsupported_audio', message: /decode/ } });
});

t.test('auth and isolation', async (t) => {
  t.equal((await upload(url, undefined, 'x')).status, 401);
  t.equal((await upload(url, 'wrong-token', 'x')).status, 401);
  const noAuth = await getJson<{ error: { code: string; message: string } }>(`${url}/v1/tasks`, undefined);
  t.match(noAuth, { status: 401, body: { error: { code: 'unauthorized', message: /token/ } } });
  const { id } = (await (await upload(url, ALICE, await fixture('speech.wav'))).json()) as Task;
  t.match(await getJson(`${url}/v1/tasks/${id}`, BOB), { status: 404, body: { error: { code: 'not_found' } } });
  t.equal((await getJson(`${url}/v1/tasks/${id}/transcript`, BOB)).status, 404);
  t.equal((await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: auth(BOB) })).status, 404);
  t.notOk((await getJson<Task[]>(`${url}/v1/tasks`, BOB)).body.some((x) => x.id === id), "bob's list has no alice task");
  await waitForStatus(url, ALICE, id, ['completed']);
});

t.test('bad uploads change nothing', async (t) => {
  const before = (await getJson<Task[]>(`${url}/v1/tasks?limit=200`, ALICE)).body.length;
  const spoolBefore = (await uploads(dataDir)).length;
  const empty = await upload(url, ALICE, new Uint8Array(0));
  t.match({ status: empty.status, body: await empty.json() }, { status: 400, body: { error: { code: 'bad_request', message: /empty/ } } });
  const big = await upload(url, ALICE, new Uint8Array(6 * 1024 * 1024));
  t.match({ status: big.status, body: await big.json() }, { status: 413, body: { error: { code: 'payload_too_large' } } });
  const lang = await upload(url, ALICE, 'x', '?language=klingon');
  t.match({ status: lang.status, body: await lang.json() }, { status: 400, body: { error: { code: 'bad_request', message: /language/ } } });
  t.equal((await getJson<Task[]>(`${url}/v1/tasks?limit=200`, ALICE)).body.length, before, 'no task was created');
  t.equal((await uploads(dataDir)).length, spoolBefore, 'no file left in the spool');
});

t.test('an upload streamed in chunks without a length, over the limit, is cut off', async (t) => {
  const body = new ReadableStream({
    start(controller) {
      for (let i = 0; i < 60; i++) controller.enqueue(new Uint8Array(100 * 1024));
      controller.close();
    },
  });
  const res = await fetch(`${url}/v1/tasks`, { method: 'POST', body, headers: auth(ALICE), duplex: 'half' } as RequestInit).catch((e: Error) => e);
  if (res instanceof Error) t.pass(`connection closed while sending: ${res.message}`);
  else t.equal(res.status, 413);
});

t.test('list: newest first, filter by status, page with before', async (t) => {
  const all = (await getJson<Task[]>(`${url}/v1/tasks?limit=200`, ALICE)).body;
  t.ok(all.length >= 10);
  const times = all.map((x) => x.createdAt);
  t.same(times, [...times].sort().reverse(), 'newest first');
  const failed = (await getJson<Task[]>(`${url}/v1/tasks?status=failed`, ALICE)).body;
  t.ok(failed.length >= 1 && failed.every((x) => x.status === 'failed'));
  const page1 = await getJson<Task[]>(`${url}/v1/tasks?limit=3`, ALICE);
  const next = page1.headers.get('x-next-before')!;
  t.equal(next, page1.body.at(-1)!.createdAt);
  const page2 = (await getJson<Task[]>(`${url}/v1/tasks?limit=3&before=${encodeURIComponent(next)}`, ALICE)).body;
  t.same([...page1.body, ...page2].map((x) => x.id), all.slice(0, 6).map((x) => x.id));
  for (const bad of ['limit=0', 'limit=abc', 'status=done', 'before=yesterday', 'segments=yes']) {
    t.equal((await getJson(`${url}/v1/tasks?${bad}`, ALICE)).status, 400, bad);
  }
  // transcripts only when asked
  t.ok(all.every((x) => !('segments' in x)), 'list items carry no segments');
  const completed = all.find((x) => x.status === 'completed')!;
  const full = (await getJson<Task[]>(`${url}/v1/tasks?limit=200&segments=1`, ALICE)).body.find((x) => x.id === completed.id)!;
  t.same(full.segments, (await getJson<Task>(`${url}/v1/tasks/${completed.id}`, ALICE)).body.segments, '?segments=1: the whole transcript');
  t.ok(full.segments.length > 0);
});

t.test('delete: cancels a running task, deletes a finished one with its audio', async (t) => {
  const { id } = (await (await upload(url, ALICE, await fixture('long.wav'))).json()) as Task;
  await waitForStatus(url, ALICE, id, ['transcribing']);
  const cancel = await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: auth(ALICE) });
  t.equal(cancel.status, 200);
  t.match(await cancel.json(), { id, status: 'cancelled' });
  t.match((await getJson<Task>(`${url}/v1/tasks/${id}`, ALICE)).body, { status: 'cancelled' });
  const spool = await uploads(dataDir);
  const del = await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: auth(ALICE) });
  t.equal(del.status, 204);
  t.equal((await getJson(`${url}/v1/tasks/${id}`, ALICE)).status, 404);
  t.equal((await uploads(dataDir)).length, spool.length - 1, 'its audio is gone');
});

t.test('GET /v1/me: who the token belongs to, and the upload limit, without an error for a bad token', async (t) => {
  const limit = 5 * 1048576;
  t.match(await getJson(`${url}/v1/me`, ALICE), { status: 200, body: { authenticated: true, userId: 'alice', admin: false, open: false, maxUploadBytes: limit } });
  t.match(await getJson(`${url}/v1/me`, 'wrong-token'), { status: 200, body: { authenticated: false, maxUploadBytes: limit } });
  t.match(await getJson(`${url}/v1/me`, undefined), { status: 200, body: { authenticated: false } });
});

t.test('the web client is served compressed as the browser accepts, with revalidation', async (t) => {
  const raw = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) =>
      httpGet(`${url}${path}`, { headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      }).on('error', reject),
    );
  const plain = await raw('/', {});
  t.equal(plain.headers['content-encoding'], undefined);
  t.match(plain.headers['content-type'], /text\/html/);
  const inline = /<script type="module">([^]*?)<\/script>/.exec(plain.body.toString());
  t.ok(inline && inline[1]!.length > 10_000, 'the app is inlined: one round trip');
  t.notMatch(inline![1], /\bfrom\s*"node:/, 'no static import of a Node module (the SDK loads those lazily, in Node only)');
  t.ok(plain.body.length < 120_000, `the page is ${plain.body.length} bytes: no server-side library (zod) slipped into the bundle`);
  const br = await raw('/', { 'accept-encoding': 'gzip, deflate, br' });
  t.equal(br.headers['content-encoding'], 'br');
  t.same(brotliDecompressSync(br.body), plain.body, 'the same page');
  t.ok(br.body.length < plain.body.length / 2, `${plain.body.length} bytes as ${br.body.length} with brotli`);
  const gz = await raw('/', { 'accept-encoding': 'gzip' });
  t.equal(gz.headers['content-encoding'], 'gzip');
  t.same(gunzipSync(gz.body), plain.body);
  t.equal(gz.headers.vary, 'Accept-Encoding');
  t.not(gz.headers.etag, plain.headers.etag, 'each representation has its own tag');
  t.equal((await raw('/', { 'accept-encoding': 'br', 'if-none-match': br.headers.etag! })).status, 304);
  t.equal((await raw('/', { 'if-none-match': br.headers.etag! })).status, 200, 'a tag of another encoding does not match');
});

t.test('health, readiness, metrics, the web page, unknown routes, CORS', async (t) => {
  t.match(await getJson(`${url}/healthz`, undefined), { status: 200, body: { ok: true } });
  const ready = await getJson<Record<string, unknown>>(`${url}/readyz`, undefined);
  t.match(ready, { status: 200, body: { ready: true, engine: { state: 'ready', model: 'synthetic:micro', synthetic: true }, store: { ok: true, kind: 'embedded' } } });
  t.match((ready.body.warnings as string[])[0], /SYNTHETIC/);
  t.match(ready.body.engine, { impl: 'whisper.cpp', version: '1.9.1', backend: 'cpu' }, 'the hub runs its own whisper.cpp addon (built at npm install)');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  t.match(metrics, /hub_frames_published_total \d+/);
  t.match(metrics, /hub_tasks_finished_total\{status="completed"\} \d+/);
  t.match(metrics, /hub_engine_workers\{impl="whisper.cpp",backend="cpu"\} 1/);
  const page = await fetch(`${url}/`);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-type'), /text\/html/);
  t.match(await getJson(`${url}/v2/nothing`, ALICE), { status: 404, body: { error: { code: 'not_found' } } });
  t.equal((await fetch(`${url}/v1/tasks`, { method: 'PUT', headers: auth(ALICE) })).status, 404);
  const preflight = await fetch(`${url}/v1/tasks`, { method: 'OPTIONS' });
  t.equal(preflight.status, 204);
  t.equal(preflight.headers.get('access-control-allow-origin'), '*');
});
