// Resumable uploads (tus 1.0) driven by the reference client, tus-js-client,
// unchanged: a whole upload becomes task <id> queued like a POST; a cut link
// resumes at the acknowledged offset; termination; the protocol's refusals.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import * as tus from 'tus-js-client';
import { ALICE, BOB, getJson, startTestHub, waitForStatus } from '../helpers/hub.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';
import type { Task } from '../../client/protocol/types.ts';

const { url } = await startTestHub(t, { HUB_MAX_UPLOAD_MB: '5' });
const long = await readFile(join(FIXTURES, 'long.wav'));
const auth = { Authorization: `Bearer ${ALICE}` };

function tusUpload(file: Buffer, options: Partial<tus.UploadOptions> = {}): { upload: tus.Upload; done: Promise<string> } {
  let upload!: tus.Upload;
  const done = new Promise<string>((resolve, reject) => {
    upload = new tus.Upload(file, {
      endpoint: `${url}/v1/uploads`,
      headers: auth,
      metadata: { filename: 'long.wav', language: 'en' },
      chunkSize: 256 * 1024,
      retryDelays: [0, 50, 100],
      onError: reject,
      onSuccess: () => resolve(upload.url!),
      ...options,
    });
  });
  return { upload, done };
}

t.test('tus-js-client uploads a file; its upload id is the task, queued and transcribed', async (t) => {
  const progress: number[] = [];
  const { upload, done } = tusUpload(long, { onProgress: (sent) => void progress.push(sent) });
  upload.start();
  const location = await done;
  const id = location.split('/').pop()!;
  t.match(location, new RegExp(`/v1/uploads/${id}$`));
  const task = await waitForStatus(url, ALICE, id, ['completed', 'failed'], 120_000);
  t.match(task, { id, status: 'completed', name: 'long.wav', language: 'en', kind: 'file' });
  t.ok(task.segments.length > 0);
  t.equal(progress.at(-1), long.length);
  const head = await fetch(`${url}/v1/uploads/${id}`, { method: 'HEAD', headers: { ...auth, 'Tus-Resumable': '1.0.0' } });
  t.equal(head.headers.get('upload-offset'), String(long.length), 'a finished upload still says it is complete');
  t.equal((await fetch(`${url}/v1/uploads/${id}`, { method: 'HEAD', headers: { Authorization: `Bearer ${BOB}`, 'Tus-Resumable': '1.0.0' } })).status, 404, "another user's upload does not exist");
});

t.test('a link cut mid-upload resumes at the last acknowledged offset, not from the start', async (t) => {
  const first = tusUpload(long);
  let cutAt = 0;
  first.upload.options.onChunkComplete = (_size, accepted) => {
    if (cutAt === 0 && accepted >= 512 * 1024) {
      cutAt = accepted;
      void first.upload.abort(); // the link goes away
    }
  };
  first.upload.start();
  while (cutAt === 0) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 100));
  const location = first.upload.url!;
  const head = await fetch(`${url}${new URL(location).pathname}`, { method: 'HEAD', headers: { ...auth, 'Tus-Resumable': '1.0.0' } });
  t.equal(head.headers.get('upload-offset'), String(cutAt), 'the hub kept what it acknowledged');
  const sentAfter: number[] = [];
  const second = tusUpload(long, { uploadUrl: location, onChunkComplete: (size) => void sentAfter.push(size) });
  second.upload.start();
  await second.done;
  const total = sentAfter.reduce((a, b) => a + b, 0);
  t.equal(total, long.length - cutAt, `the rest only: ${total} bytes after the cut at ${cutAt}`);
  const task = await waitForStatus(url, ALICE, location.split('/').pop()!, ['completed', 'failed'], 120_000);
  t.equal(task.status, 'completed');
});

t.test('termination removes an unfinished upload', async (t) => {
  const { upload } = tusUpload(long, { chunkSize: 128 * 1024 });
  let started = false;
  upload.options.onChunkComplete = () => void (started ||= true);
  upload.start();
  while (!started) await new Promise((r) => setTimeout(r, 20));
  await upload.abort(true);
  const res = await fetch(`${url}${new URL(upload.url!).pathname}`, { method: 'HEAD', headers: { ...auth, 'Tus-Resumable': '1.0.0' } });
  t.equal(res.status, 404);
});

t.test("the protocol's refusals", async (t) => {
  const post = (headers: Record<string, string>) => fetch(`${url}/v1/uploads`, { method: 'POST', headers: { ...auth, 'Tus-Resumable': '1.0.0', ...headers } });
  const options = await fetch(`${url}/v1/uploads`, { method: 'OPTIONS' });
  t.match(Object.fromEntries(options.headers), { 'tus-version': '1.0.0', 'tus-extension': 'creation,termination', 'tus-max-size': String(5 * 1048576) });
  t.equal((await fetch(`${url}/v1/uploads`, { method: 'POST', headers: { ...auth, 'Upload-Length': '10' } })).status, 412, 'no Tus-Resumable');
  t.equal((await post({ 'Upload-Length': '10' }).then((r) => r.status)), 201);
  const noAuth = await fetch(`${url}/v1/uploads`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '10' } });
  t.equal(noAuth.status, 401);
  t.match(await post({}).then(async (r) => ({ status: r.status, body: await r.json() })), { status: 400, body: { error: { code: 'bad_request', message: /Upload-Length/ } } });
  t.match(await post({ 'Upload-Length': String(6 * 1048576) }).then(async (r) => ({ status: r.status, body: await r.json() })), { status: 413, body: { error: { code: 'payload_too_large' } } });
  t.equal((await post({ 'Upload-Length': '10', 'Upload-Metadata': 'language ' + Buffer.from('klingon').toString('base64') })).status, 400, 'metadata is validated like query parameters');
  t.equal((await post({ 'Upload-Length': '10', 'Upload-Metadata': 'a b c' })).status, 400);
  const created = await post({ 'Upload-Length': '4' });
  const path = created.headers.get('location')!;
  const patch = (offset: string, body: string, type = 'application/offset+octet-stream') =>
    fetch(`${url}${path}`, { method: 'PATCH', body, headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': offset, 'Content-Type': type } });
  t.equal((await patch('0', 'ab', 'text/plain')).status, 415);
  t.equal((await patch('2', 'ab')).status, 409, 'a wrong offset');
  const ok = await patch('0', 'ab');
  t.equal(ok.status, 204);
  t.equal(ok.headers.get('upload-offset'), '2');
  t.equal((await patch('2', 'abcdef')).status, 413, 'more than the declared length');
  t.equal((await getJson(`${url}/healthz`, undefined)).status, 200);
});

t.test('a plain upload declaring a huge Content-Length gets 413, not a dropped connection', async (t) => {
  // 999,999,999 is the largest length uWS's parser takes: with 10 digits or
  // more it closes the connection itself, before any handler (docs/decisions.md).
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(`${url}/v1/tasks`, { method: 'POST', headers: { ...auth, 'Content-Length': '999999999' } }, (res) => resolve(res.statusCode ?? 0));
    req.on('error', reject);
    req.write('RIFF');
  });
  t.equal(status, 413);
});

t.test('the finished task is listed like any upload', async (t) => {
  const { body } = await getJson<Task[]>(`${url}/v1/tasks`, ALICE);
  t.ok(body.filter((task) => task.name === 'long.wav').length >= 2);
});

t.test('transcription options: validated with the option named, stored and echoed on the Task', async (t) => {
  const speech = await readFile(join(FIXTURES, 'speech.wav'));
  const good = await fetch(`${url}/v1/tasks?translate=1&prompt=${encodeURIComponent('Dashwood, Norland')}&temperature=0.2&beam=3`, { method: 'POST', headers: auth, body: speech });
  t.equal(good.status, 201);
  const created = (await good.json()) as Task;
  t.same(created.options, { translate: true, prompt: 'Dashwood, Norland', temperature: 0.2, beam: 3 });
  const done = await waitForStatus(url, ALICE, created.id, ['completed', 'failed']);
  t.same(done.options, created.options, 'still there when read back');
  for (const [query, name] of [['beam=0', 'beam'], ['beam=2.5', 'beam'], ['temperature=1.5', 'temperature'], ['temperature=warm', 'temperature'], ['translate=yes', 'translate'], [`prompt=${'x'.repeat(801)}`, 'prompt']] as const) {
    const res = await fetch(`${url}/v1/tasks?${query}`, { method: 'POST', headers: auth, body: speech });
    t.equal(res.status, 400, query.slice(0, 30));
    t.match(await res.json(), { error: { code: 'bad_request', message: new RegExp(name) } }, `${name}: named in the message`);
  }
  const other = await fetch(`${url}/v1/tasks?model=large-v9`, { method: 'POST', headers: auth, body: speech });
  t.equal(other.status, 400);
  t.match(await other.json(), { error: { code: 'unknown_model', message: /large-v9/ } }, 'a model this hub does not run');
  const same = await fetch(`${url}/v1/tasks?model=synthetic:micro`, { method: 'POST', headers: auth, body: speech });
  t.match(await same.json(), { options: { model: 'synthetic:micro' } }, 'the model it runs, by name');
  const plain = (await (await fetch(`${url}/v1/tasks`, { method: 'POST', headers: auth, body: speech })).json()) as Task;
  t.notOk('options' in plain, 'no options given: none on the Task');
});
