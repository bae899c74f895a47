import t from 'tap';
import { mkdtemp, rm, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedStore } from '../../actors/stores/embedded-store.ts';
import { AudioRetention } from '../../actors/retention.ts';
import { makeTask } from '../helpers/tasks.ts';
import { Spool } from '../../server/spool.ts';

t.test('removes the audio of finished tasks past retention, keeps everything else', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'retention-test-'));
  const store = new EmbeddedStore(join(dir, 'hub.sqlite'));
  await store.open();
  t.teardown(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
  const now = new Date('2026-06-10T00:00:00Z');
  const tasks = {
    old: makeTask({ status: 'completed', updatedAt: '2026-06-01T00:00:00.000Z' }),
    oldFailed: makeTask({ status: 'failed', updatedAt: '2026-06-01T00:00:00.000Z' }),
    recent: makeTask({ status: 'completed', updatedAt: '2026-06-09T12:00:00.000Z' }),
    running: makeTask({ status: 'transcribing', updatedAt: '2026-06-01T00:00:00.000Z' }),
  };
  for (const task of Object.values(tasks)) {
    await writeFile(join(dir, `${task.id}.upload`), 'audio');
    await store.insert({ task, audioPath: join(dir, `${task.id}.upload`), pcmPath: join(dir, `${task.id}.pcm`) });
  }
  const retention = new AudioRetention(store, new Spool(dir, 1 << 30), 72);
  t.equal(await retention.sweep(now), 2);
  const exists = (id: string) => access(join(dir, `${id}.upload`)).then(() => true, () => false);
  t.notOk(await exists(tasks.old.id));
  t.notOk(await exists(tasks.oldFailed.id));
  t.ok(await exists(tasks.recent.id));
  t.ok(await exists(tasks.running.id));
  t.equal((await store.get(tasks.old.id))?.audioRemovedAt, now.toISOString(), 'the record stays, marked');
  t.equal(await retention.sweep(now), 0, 'nothing twice');
});
