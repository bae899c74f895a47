// Task leases in cluster mode (stores/mongo-leases.ts): two hubs' stores over
// one MongoDB-protocol server, with the real driver — FerretDB 1.24 (SQLite)
// where it is built (.ci/run builds it), and the wire protocol double. One
// owner per unfinished task; an expired lease is taken with a new epoch; the
// old owner's writes are fenced out; finished tasks are never claimed.
import t, { type Test } from 'tap';
import { MongoStore } from '../../../actors/stores/mongo-store.ts';
import { MongoClient } from 'mongodb';
import { MongoWireDouble } from '../../helpers/mongo-wire-double.ts';
import { ferretDbBinary, startFerretDb } from '../../helpers/ferretdb.ts';
import { makeTask, record, chunkOf } from '../../helpers/tasks.ts';

const TTL_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Where the stores of a test meet: a fresh database on the server under test. */
type Server = (t: Test) => Promise<string>;
let databases = 0;

async function hubs(t: Test, server: Server) {
  const uri = await server(t);
  const open = async (owner?: string) => {
    const store = new MongoStore(uri, () => {}, { serverSelectionTimeoutMS: 2_000, ...(owner ? { lease: { owner, ttlMs: TTL_MS } } : {}) });
    await store.open();
    t.teardown(() => store.close());
    return store;
  };
  /** The lease as stored, read with a client of its own. */
  const leaseOf = async (id: string) => {
    const client = await MongoClient.connect(uri);
    try {
      return (await client.db().collection('tasks').findOne({ _id: id as never }))?.lease as unknown;
    } finally {
      await client.close();
    }
  };
  return { open, leaseOf };
}

function leaseSuite(t: Test, server: Server) {
  t.test('a task belongs to the hub that created it until its lease expires; then another takes it with a new epoch', async (t) => {
    const { open, leaseOf } = await hubs(t, server);
    const a = await open('hub-a');
    const b = await open('hub-b');
    const task = makeTask();
    await a.insert(record(task));
    t.same(a.leases!.held(), [task.id], 'the creator holds it');
    t.same(await b.leases!.claim(), [], 'held and not expired: nobody else takes it');
    await sleep(TTL_MS / 2);
    t.same(await a.leases!.renew(), [], 'renewed: nothing lost');
    await sleep(TTL_MS / 2 + 50);
    t.same(await b.leases!.claim(), [], 'renewed in time: still not expired');

    await sleep(TTL_MS + 50); // hub-a stops renewing (it died, or lost the store)
    t.same(await b.leases!.claim(), [task.id], 'expired: taken');
    t.match(await leaseOf(task.id), { owner: 'hub-b', epoch: 2 }, 'with the next epoch');
    t.same(await a.leases!.renew(), [task.id], 'the old owner learns it lost the task');
    t.same(a.leases!.held(), []);
    t.same(await b.leases!.claim(), [], 'taken once: a second claim finds nothing');
  });

  t.test('fencing: a hub that lost the lease can no longer write the task or its chunks', async (t) => {
    const { open } = await hubs(t, server);
    const a = await open('hub-a');
    const b = await open('hub-b');
    const task = makeTask();
    await a.insert(record(task));
    await sleep(TTL_MS + 50);
    t.same(await b.leases!.claim(), [task.id]);

    // hub-a has not renewed yet, so it still believes it holds the task: its writes must match nothing.
    await a.write({ tasks: [record({ ...task, status: 'transcribing', seq: 5, name: 'from the old owner' })], chunks: [chunkOf(task.id, 0, ['old owner'])] });
    let stored = await b.get(task.id);
    t.equal(stored?.task.seq, 0, 'the old owner\'s task write was refused');
    t.same(stored?.task.segments, [], 'and its chunk');

    await b.write({ tasks: [record({ ...task, status: 'transcribing', seq: 1 })], chunks: [chunkOf(task.id, 0, ['new owner'])] });
    stored = await b.get(task.id);
    t.equal(stored?.task.status, 'transcribing', 'the new owner writes');
    t.same(stored?.task.segments.map((s) => s.text), ['new owner']);
  });

  t.test('finished tasks are never claimed; tasks from before cluster mode are; a restart under the same node id takes its own back at once', async (t) => {
    const { open } = await hubs(t, server);
    const a = await open('hub-a');
    const done = makeTask();
    await a.insert(record(done));
    await a.write({ tasks: [record({ ...done, status: 'completed', seq: 1 })], chunks: [] });
    t.same(a.leases!.held(), [], 'a finished task is no longer renewed');
    const running = makeTask();
    await a.insert(record(running));

    const single = await open(); // a store without leases: a single-process hub wrote this one
    const old = makeTask();
    await single.insert(record(old));

    await sleep(TTL_MS + 50);
    const b = await open('hub-b');
    t.same((await b.leases!.claim()).sort(), [running.id, old.id].sort(), 'the unfinished ones: expired, and never leased');

    const c = await open('hub-c');
    const mine = makeTask();
    await c.insert(record(mine));
    const restarted = await open('hub-c'); // same HUB_NODE_ID, new process: the lease has not expired
    t.same(await restarted.leases!.claim(), [], 'a plain claim waits for expiry');
    t.same(await restarted.leases!.claim(true), [mine.id], 'at start-up it takes back what its previous run held');
  });

  t.test('a hub that shuts down releases its leases: another takes its tasks at once, not after expiry', async (t) => {
    const { open, leaseOf } = await hubs(t, server);
    const a = await open('hub-a');
    const b = await open('hub-b');
    const task = makeTask();
    await a.insert(record(task));
    await a.leases!.release();
    t.same(a.leases!.held(), []);
    t.same(await b.leases!.claim(), [task.id], 'taken without waiting for the lease to expire');
    t.match(await leaseOf(task.id), { owner: 'hub-b', epoch: 2 });
  });

  t.test('without leases (one hub) every write goes through as before', async (t) => {
    const { open } = await hubs(t, server);
    const store = await open();
    t.equal(store.leases, undefined);
    const task = makeTask();
    await store.insert(record(task));
    await store.write({ tasks: [record({ ...task, status: 'transcribing', seq: 1 })], chunks: [chunkOf(task.id, 0)] });
    const stored = await store.get(task.id);
    t.equal(stored?.task.status, 'transcribing');
    t.equal(stored?.task.segments.length, 1);
  });
}

t.test('against the wire protocol double', async (t) =>
  leaseSuite(t, async (t) => {
    const double = new MongoWireDouble();
    const uri = await double.start();
    t.teardown(() => double.stop());
    return uri;
  }),
);

if (ferretDbBinary()) {
  const ferret = await startFerretDb();
  t.teardown(() => ferret.stop());
  t.test('against FerretDB 1.24 (SQLite)', async (t) => leaseSuite(t, async () => ferret.uri(`leases_${++databases}`)));
} else {
  t.comment('FerretDB is not built here (scripts/build-ferretdb.sh builds it): the leases ran against the wire double only');
}
