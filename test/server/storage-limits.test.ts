// The spool's budget: uploads that would not fit are refused with a coded
// error, before the disk fills, and leave nothing behind.
import t from 'tap';
import { uploads, ALICE, fixture, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import type { Task } from '../../client/protocol/types.ts';

const { url, dataDir } = await startTestHub(t, { HUB_SPOOL_MAX_MB: '2' });

t.test('an upload beyond the spool budget is refused with 507 insufficient_storage', async (t) => {
  const small = await upload(url, ALICE, await fixture('speech.wav'));
  t.equal(small.status, 201, 'a small upload fits');
  await waitForStatus(url, ALICE, ((await small.json()) as Task).id, ['completed']);
  const spool = await uploads(dataDir);
  const big = await upload(url, ALICE, await fixture('long.wav'));
  t.match({ status: big.status, body: await big.json() }, { status: 507, body: { error: { code: 'insufficient_storage' } } });
  t.same(await uploads(dataDir), spool, 'nothing left behind');
  const chunked = new ReadableStream({
    async start(controller) {
      for (let i = 0; i < 40; i++) controller.enqueue(new Uint8Array(100 * 1024));
      controller.close();
    },
  });
  const res = await fetch(`${url}/v1/tasks`, { method: 'POST', body: chunked, headers: { Authorization: `Bearer ${ALICE}` }, duplex: 'half' } as RequestInit).catch((e: Error) => e);
  if (res instanceof Error) t.pass(`cut off while sending: ${res.message}`);
  else t.equal(res.status, 507, 'a body without a length is cut off when it outgrows the budget');
  t.same(await uploads(dataDir), spool);
});

t.test('at boot, uploads that never became a task and pcm of finished tasks are swept; the rest is kept', async (t) => {
  const { mkdtemp, writeFile, utimes, readdir } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = await mkdtemp(join(tmpdir(), 'hub-orphans-'));
  // A first run leaves a finished task (its upload must stay: retention owns it).
  const first = await startTestHub(t, { HUB_DATA_DIR: dir });
  const done = (await (await upload(first.url, ALICE, await fixture('speech.wav'), '?name=a.wav')).json()) as Task;
  await waitForStatus(first.url, ALICE, done.id, ['completed']);
  await first.hub.close();
  const spool = join(dir, 'spool');
  const orphanUpload = '0b9a6f3e-0000-4000-8000-000000000001.wav.upload';
  const stalePcm = `${done.id}.pcm`;
  const past = new Date(Date.now() - 60_000);
  for (const name of [orphanUpload, stalePcm]) {
    await writeFile(join(spool, name), 'x');
    await utimes(join(spool, name), past, past);
  }
  const second = await startTestHub(t, { HUB_DATA_DIR: dir });
  const deadline = Date.now() + 10_000;
  // The sweep runs in the background, file by file: wait for all of it, not for its first removal.
  const swept = (names: string[]) => !names.includes(orphanUpload) && !names.includes(stalePcm);
  while (!swept(await readdir(spool)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const left = await readdir(spool);
  t.notOk(left.includes(orphanUpload), 'the orphan upload is gone');
  t.notOk(left.includes(stalePcm), "a finished task's pcm is gone");
  t.ok(left.some((name) => name.startsWith(done.id) && name.endsWith('.upload')), "the finished task's upload stays");
  t.equal((await fetch(`${second.url}/v1/tasks/${done.id}`, { headers: { Authorization: `Bearer ${ALICE}` } })).status, 200);
});
