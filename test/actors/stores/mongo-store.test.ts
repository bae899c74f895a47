// MongoStore over a real socket, with the real driver: against the wire
// protocol double always, against FerretDB 1.24 (SQLite; a MongoDB-protocol
// server no one here wrote) where it is built (.ci/run builds it), and against
// a real MongoDB when MONGODB_URI is set.
import t, { type Test } from 'tap';
import { MongoStore } from '../../../actors/stores/mongo-store.ts';
import { MongoWireDouble } from '../../helpers/mongo-wire-double.ts';
import { ferretDbBinary, startFerretDb } from '../../helpers/ferretdb.ts';
import { storeContract } from './contract.ts';
import { makeTask, record, chunkOf } from '../../helpers/tasks.ts';

let databases = 0;

async function openAgainst(t: Test, uri: string, corrupt: string[] = []): Promise<MongoStore> {
  const store = new MongoStore(uri, (m) => corrupt.push(m), { serverSelectionTimeoutMS: 2_000 });
  await store.open();
  t.teardown(() => store.close());
  return store;
}

async function double(t: Test) {
  const server = new MongoWireDouble();
  const uri = await server.start();
  t.teardown(() => server.stop());
  return { server, uri };
}

t.test('the TaskStore contract, against the wire protocol double', async (t) =>
  storeContract(t, async (t) => openAgainst(t, (await double(t)).uri)),
);

if (ferretDbBinary()) {
  const ferret = await startFerretDb();
  t.teardown(() => ferret.stop());
  t.test('the TaskStore contract, against FerretDB 1.24 (SQLite)', async (t) =>
    storeContract(t, async (t) => openAgainst(t, ferret.uri(`hub_contract_${++databases}`))),
  );
} else {
  t.comment('FerretDB is not built here (scripts/build-ferretdb.sh builds it): the contract ran against the wire double only');
}

if (process.env.MONGODB_URI) {
  t.test('the TaskStore contract, against the real MongoDB at MONGODB_URI', async (t) =>
    storeContract(t, async (t) => {
      const url = new URL(process.env.MONGODB_URI!);
      url.pathname = `/hub_contract_${process.pid}_${++databases}`;
      const store = await openAgainst(t, url.toString());
      t.teardown(async () => {
        const { MongoClient } = await import('mongodb');
        const client = await MongoClient.connect(url.toString());
        await client.db().dropDatabase();
        await client.close();
      });
      return store;
    }),
  );
}

t.test('creates its indexes when it opens', async (t) => {
  const { server, uri } = await double(t);
  await openAgainst(t, uri);
  t.same([...server.indexes.keys()].sort(), ['hub_test.task_chunks', 'hub_test.tasks']);
  t.same(server.indexes.get('hub_test.tasks')!.map((i) => i.name), ['by_user', 'by_status']);
});

t.test('corrupt documents are a clear error, not a crash', async (t) => {
  const { server, uri } = await double(t);
  const corrupt: string[] = [];
  const store = await openAgainst(t, uri, corrupt);
  const [good, bad, badChunk] = [makeTask(), makeTask(), makeTask()];
  for (const task of [good!, bad!, badChunk!]) await store.insert(record(task));
  await store.write({ chunks: [chunkOf(badChunk!.id, 0)], tasks: [] });
  (server.collection('hub_test.tasks').get(bad!.id)!.record as { task: { seq: unknown } }).task.seq = 'nine';
  for (const doc of server.collection('hub_test.task_chunks').values()) doc.segments = [{ text: 42 }];
  await t.rejects(store.get(bad!.id), { code: 'corrupt_record', message: new RegExp(`${bad!.id}.*seq`) });
  await t.rejects(store.get(badChunk!.id), { code: 'corrupt_record', message: /chunk 0/ });
  t.same((await store.list({ userId: 'alice', limit: 10, segments: true })).map((x) => x.id), [good!.id]);
  t.equal(corrupt.length, 2);
  t.same((await store.list({ userId: 'alice', limit: 10 })).map((x) => x.id), [badChunk!.id, good!.id], 'a list without transcripts does not read the bad chunk');
});

t.test('an outage fails fast and heals by itself when the server is back', async (t) => {
  const { server, uri } = await double(t);
  const store = await openAgainst(t, uri);
  const task = makeTask();
  await store.insert(record(task));
  await server.stop();
  const started = Date.now();
  await t.rejects(store.write({ chunks: [], tasks: [record({ ...task, seq: 1 })] }));
  t.ok(Date.now() - started < 10_000, 'within the server selection timeout');
  await server.start();
  await store.write({ chunks: [], tasks: [record({ ...task, seq: 1 })] });
  t.equal((await store.get(task.id))?.task.seq, 1);
});
