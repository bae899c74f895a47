import t from 'tap';
import { Scheduler, type SlotRequest } from '../../actors/scheduler.ts';

const never = new AbortController().signal;

/** Queues requests on a full scheduler, then records the order slots are granted in. */
async function grantOrder(requests: SlotRequest[]): Promise<string[]> {
  const s = new Scheduler(1, () => {}, 0); // no hold after live work: the order alone
  const blocker = await s.acquire({ userId: 'x', taskId: 'x', priority: 'batch' }, never);
  const order: string[] = [];
  const granted = requests.map((r, i) =>
    s.acquire(r, never).then((lease) => {
      order.push(`${r.userId}/${r.taskId}#${i}`);
      lease.release();
    }),
  );
  blocker.release();
  await Promise.all(granted);
  return order;
}

t.test('live requests go before batch ones', async (t) => {
  const order = await grantOrder([
    { userId: 'a', taskId: 'batch1', priority: 'batch' },
    { userId: 'a', taskId: 'batch2', priority: 'batch' },
    { userId: 'b', taskId: 'live', priority: 'live' },
  ]);
  t.equal(order[0], 'b/live#2');
});

t.test('users take turns: a long queue of one user does not starve another', async (t) => {
  const requests: SlotRequest[] = [
    ...Array.from({ length: 5 }, () => ({ userId: 'heavy', taskId: 'long', priority: 'batch' as const })),
    { userId: 'light', taskId: 'short', priority: 'batch' },
  ];
  const order = await grantOrder(requests);
  t.ok(order.indexOf('light/short#5') <= 1, `the short task is served first or second: ${order.join(', ')}`);
});

t.test("one user's tasks take turns too", async (t) => {
  const requests: SlotRequest[] = [
    ...Array.from({ length: 4 }, () => ({ userId: 'u', taskId: 'three-hours', priority: 'batch' as const })),
    { userId: 'u', taskId: 'one-minute', priority: 'batch' },
  ];
  const order = await grantOrder(requests);
  t.ok(order.indexOf('u/one-minute#4') <= 1, order.join(', '));
});

t.test('never grants more than its capacity', async (t) => {
  const s = new Scheduler(2);
  const leases = await Promise.all([s.acquire({ userId: 'a', taskId: '1', priority: 'batch' }, never), s.acquire({ userId: 'a', taskId: '2', priority: 'batch' }, never)]);
  let third = false;
  const pending = s.acquire({ userId: 'b', taskId: '3', priority: 'batch' }, never).then((l) => ((third = true), l));
  await new Promise((r) => setTimeout(r, 20));
  t.notOk(third, 'the third waits');
  t.match(s.stats(), { capacity: 2, inUse: 2, queued: { batch: 1, live: 0 }, queuedByUser: { b: 1 } });
  leases[0]!.release();
  leases[0]!.release(); // a second release is harmless
  (await pending).release();
  t.ok(third);
  leases[1]!.release();
  t.equal(s.stats().inUse, 0);
});

t.test('an aborted request leaves the queue; close fails the waiting ones', async (t) => {
  const s = new Scheduler(1);
  const held = await s.acquire({ userId: 'a', taskId: '1', priority: 'batch' }, never);
  const abort = new AbortController();
  const aborted = s.acquire({ userId: 'b', taskId: '2', priority: 'batch' }, abort.signal);
  abort.abort(new Error('cancelled'));
  await t.rejects(aborted, { message: 'cancelled' });
  t.equal(s.stats().queued.batch, 0);
  const waiting = s.acquire({ userId: 'c', taskId: '3', priority: 'batch' }, never);
  s.close();
  await t.rejects(waiting, { code: 'shutting_down' });
  await t.rejects(s.acquire({ userId: 'd', taskId: '4', priority: 'batch' }, never), { code: 'shutting_down' });
  held.release();
});

t.test('right after live work one slot is kept from batch work, then batch gets it back', async (t) => {
  const s = new Scheduler(1, () => {}, 50);
  const first = await s.acquire({ userId: 'a', taskId: 'file', priority: 'batch' }, never);
  first.release();
  const live = await s.acquire({ userId: 'b', taskId: 'stream', priority: 'live' }, never);
  let batch = false;
  const pending = s.acquire({ userId: 'a', taskId: 'file', priority: 'batch' }, never).then((l) => ((batch = true), l));
  live.release();
  await new Promise((r) => setTimeout(r, 10));
  t.notOk(batch, 'the slot is held for the next live pass though it is free');
  const again = await s.acquire({ userId: 'b', taskId: 'stream', priority: 'live' }, never);
  t.pass('the next live pass gets it at once');
  again.release();
  (await pending).release();
  t.ok(batch, 'batch gets the slot once live work has paused for the hold');
});

t.test('a session quiet for longer than the hold keeps nothing from batch work', async (t) => {
  const s = new Scheduler(1, () => {}, 50);
  (await s.acquire({ userId: 'b', taskId: 'stream', priority: 'live' }, never)).release();
  await new Promise((r) => setTimeout(r, 60));
  let granted = false;
  const batch = s.acquire({ userId: 'a', taskId: 'file', priority: 'batch' }, never).then((l) => ((granted = true), l));
  await Promise.resolve();
  t.ok(granted, 'batch gets the only slot at once');
  (await batch).release();
});

t.test('live work finding every slot taken by batch work preempts one batch lease', async (t) => {
  const s = new Scheduler(1);
  const batch = await s.acquire({ userId: 'a', taskId: 'file', priority: 'batch' }, never);
  t.notOk(batch.preempted.aborted);
  const live = s.acquire({ userId: 'b', taskId: 'stream', priority: 'live' }, never);
  t.ok(batch.preempted.aborted, 'the batch holder is told to stop');
  t.match(batch.preempted.reason, { code: 'preempted' });
  batch.release();
  (await live).release();
});
