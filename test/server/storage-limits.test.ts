// The spool's budget: uploads that would not fit are refused with a coded
// error, before the disk fills, and leave nothing behind.
import t from 'tap';
import { uploads, ALICE, fixture, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import type { Task } from '../../client/protocol.ts';

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
