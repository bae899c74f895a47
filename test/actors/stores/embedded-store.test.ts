import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EmbeddedStore } from '../../../actors/stores/embedded-store.ts';
import { storeContract } from './contract.ts';
import { chunkOf, makeTask, record } from '../../helpers/tasks.ts';

async function openStore(t: Test, corrupt: string[] = []) {
  const dir = await mkdtemp(join(tmpdir(), 'store-test-'));
  const path = join(dir, 'hub.sqlite');
  const store = new EmbeddedStore(path, (m) => corrupt.push(m));
  await store.open();
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  return Object.assign(store, { path });
}

t.test('the TaskStore contract', async (t) => storeContract(t, openStore));

t.test('a corrupted stored document is a clear error, not a crash', async (t) => {
  const corrupt: string[] = [];
  const store = await openStore(t, corrupt);
  const good = makeTask();
  const bad = makeTask();
  const badChunk = makeTask();
  for (const task of [good, bad, badChunk]) await store.insert(record(task));
  await store.write({ chunks: [chunkOf(badChunk.id, 0)], tasks: [] });
  const raw = new Database(store.path);
  raw.prepare('UPDATE tasks SET doc = ? WHERE id = ?').run('{"task": {"id": 1}}', bad.id);
  raw.prepare('UPDATE task_chunks SET segments = ? WHERE task_id = ?').run('[{"start":"zero"}]', badChunk.id);
  raw.close();
  await t.rejects(store.get(bad.id), { code: 'corrupt_record', message: new RegExp(bad.id) });
  await t.rejects(store.get(badChunk.id), { code: 'corrupt_record', message: /chunk 0/ });
  t.same((await store.list({ userId: 'alice', limit: 10, segments: true })).map((x) => x.id), [good.id], 'the rest of the list is served');
  t.equal(corrupt.length, 2);
  t.same((await store.list({ userId: 'alice', limit: 10 })).map((x) => x.id), [badChunk.id, good.id], 'a list without transcripts does not read the bad chunk');
  t.ok((await store.get(good.id))?.task);
});
