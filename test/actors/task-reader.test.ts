// The reader: memory first (live actors own the truth), then the store; lists
// carry transcripts only when asked, and live tasks show as they are now.
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TaskReader } from '../../actors/task-reader.ts';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import type { Task } from '../../client/protocol/types.ts';
import { chunkOf, makeTask, record } from '../helpers/tasks.ts';

t.test('memory first, then the store; transcripts only when asked', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reader-'));
  const store = new EmbeddedStore(join(dir, 'hub.sqlite'));
  await store.open();
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const done = makeTask({ status: 'completed' });
  const running = makeTask({ status: 'queued' });
  await store.insert(record(done));
  await store.write({ tasks: [], chunks: [chunkOf(done.id, 0, ['stored words'])] });
  await store.insert(record(running));
  // in memory the running task has moved on since it was stored
  const live: Task = { ...running, status: 'transcribing', seq: 4, segments: [{ start: 0, end: 1, text: 'live words' }] };
  const reader = new TaskReader({ get: (id) => (id === running.id ? live : undefined) }, store);

  t.equal((await reader.find(running.id))?.status, 'transcribing', 'a live task from memory');
  t.same((await reader.find(done.id))?.segments.map((s) => s.text), ['stored words'], 'a finished one from the store');
  t.equal(await reader.find('nope'), undefined);
  const list = await reader.list({ userId: 'alice', limit: 10 });
  t.same(list.map((x) => [x.id, x.status]), [[running.id, 'transcribing'], [done.id, 'completed']], 'newest first, live as it is now');
  t.ok(list.every((x) => x.segments === undefined), 'no transcripts unless asked');
  const full = await reader.list({ userId: 'alice', limit: 10, segments: true });
  t.same(full.map((x) => x.segments?.map((s) => s.text)), [['live words'], ['stored words']]);
  t.same(await reader.list({ userId: 'alice', limit: 10, status: 'queued' }), [], 'a stored status that is out of date does not list a task whose live status differs');
});
