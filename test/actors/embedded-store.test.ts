import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import { makeTask, stored } from '../helpers/tasks.ts';

async function openStore(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'store-test-'));
  const corrupt: string[] = [];
  const store = new EmbeddedStore(join(dir, 'hub.sqlite'), (m) => corrupt.push(m));
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { store, corrupt, path: join(dir, 'hub.sqlite') };
}

t.test('insert, get, and writes that only ever move forward', async (t) => {
  const { store } = await openStore(t);
  const task = makeTask();
  await store.insert(stored(task));
  t.same((await store.get(task.id))?.task, task);
  await store.update([stored({ ...task, status: 'transcribing', seq: 3 })]);
  await store.update([stored({ ...task, status: 'decoding', seq: 2 })]); // late, older
  await store.update([stored({ ...task, status: 'queued', seq: 3 })]); // duplicate seq
  t.match((await store.get(task.id))?.task, { status: 'transcribing', seq: 3 });
  await store.update([stored(makeTask({ id: 'never-inserted', seq: 5 }))]);
  t.equal(await store.get('never-inserted'), undefined, 'an update never creates a task');
  await t.rejects(store.insert(stored(task)), 'the same id cannot be inserted twice');
});

t.test('list: own tasks only, newest first, by status, paged', async (t) => {
  const { store } = await openStore(t);
  const mine = [makeTask(), makeTask({ status: 'completed' }), makeTask(), makeTask({ status: 'completed' })];
  for (const task of [...mine, makeTask({ userId: 'bob' })]) await store.insert(stored(task));
  const all = await store.list({ userId: 'alice', limit: 50 });
  t.same(all.map((x) => x.id), mine.map((x) => x.id).reverse());
  t.same((await store.list({ userId: 'alice', limit: 50, status: 'completed' })).map((x) => x.id), [mine[3]!.id, mine[1]!.id]);
  const page1 = await store.list({ userId: 'alice', limit: 2 });
  const page2 = await store.list({ userId: 'alice', limit: 2, before: page1.at(-1)!.createdAt });
  t.same([...page1, ...page2].map((x) => x.id), all.map((x) => x.id));
});

t.test('unfinished tasks and delete', async (t) => {
  const { store } = await openStore(t);
  const running = makeTask({ status: 'transcribing' });
  const done = makeTask({ status: 'completed' });
  await store.insert(stored(running));
  await store.insert(stored(done));
  t.same((await store.unfinished()).map((d) => d.task.id), [running.id]);
  t.equal(await store.delete(running.id), true);
  t.equal(await store.delete(running.id), false);
  t.equal(await store.get(running.id), undefined);
});

t.test('a corrupted stored document is a clear error, not a crash', async (t) => {
  const { store, corrupt, path } = await openStore(t);
  const good = makeTask();
  const bad = makeTask();
  await store.insert(stored(good));
  await store.insert(stored(bad));
  const raw = new Database(path);
  raw.prepare('UPDATE tasks SET doc = ? WHERE id = ?').run('{"task": {"id": 1}}', bad.id);
  raw.close();
  await t.rejects(store.get(bad.id), { code: 'corrupt_record', message: new RegExp(bad.id) });
  t.same((await store.list({ userId: 'alice', limit: 10 })).map((x) => x.id), [good.id], 'the rest of the list is served');
  t.equal(corrupt.length, 1);
  t.ok((await store.get(good.id))?.task);
});
