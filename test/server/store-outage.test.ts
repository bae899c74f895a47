// The database goes away in the middle of a transcription (MongoStore, over
// the wire, against the protocol double): transcription, pushes and reads go
// on, readiness says why it is not ready, uploads are refused with a coded
// error, and once the database is back everything is written.
import t from 'tap';
import { ALICE, TestSocket, fixture, getJson, startTestHub, upload } from '../helpers/hub.ts';
import { MongoWireDouble } from '../helpers/mongo-wire-double.ts';
import type { Task } from '../../client/protocol/types.ts';

const mongo = new MongoWireDouble();
const uri = await mongo.start();
t.teardown(() => mongo.stop());
const { url, wsUrl, hub } = await startTestHub(t, { MONGODB_URI: uri }, { persistence: { retryBaseMs: 50, retryMaxMs: 500 } });

t.test('the database goes down mid-transcription and comes back', async (t) => {
  const { id } = (await (await upload(url, ALICE, await fixture('long.wav'), '?language=en')).json()) as Task;
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.close());
  ws.send({ type: 'subscribe', id });
  await ws.next((f) => f.type === 'segments');
  await mongo.stop();

  const completed = await ws.next((f) => f.type === 'status' && f.status === 'completed', 60_000);
  t.ok(completed, 'frames kept coming: the task completed while the database was down');
  const live = await getJson<Task>(`${url}/v1/tasks/${id}`, ALICE);
  t.match(live, { status: 200, body: { status: 'completed' } }, 'reads are answered from memory');
  const ready = await getJson<{ ready: boolean; reasons: string[] }>(`${url}/readyz`, undefined);
  t.match(ready, { status: 503, body: { ready: false, reasons: [/store unreachable/] } });
  t.ok(hub.context.persistence.stats().backlog > 0, `the backlog waits in memory (${hub.context.persistence.stats().backlog} records)`);
  const refused = await upload(url, ALICE, await fixture('speech.wav'));
  t.match({ status: refused.status, body: await refused.json() }, { status: 503, body: { error: { code: 'store_unavailable' } } });

  await mongo.start();
  t.ok(await hub.context.persistence.drain(30_000), 'everything was written once the database came back');
  const stored = mongo.collection('hub_test.tasks').get(id)! as { status: string; seq: number };
  t.equal(stored.status, 'completed');
  t.equal(stored.seq, (live.body as Task).seq);
  const chunks = [...mongo.collection('hub_test.task_chunks').values()].filter((c) => c.taskId === id);
  t.equal(chunks.length, (live.body as Task).progress.total, 'every chunk record');
  t.match(await getJson(`${url}/readyz`, undefined), { status: 200 });
});
