// The spool names a task's files, removes them (a file already gone is fine),
// keeps a short plain extension from an upload's name, and refuses what would
// break its budget. The orphan sweep is covered in durability.test.ts.
import t from 'tap';
import { mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, uploadExtension } from '../../server/spool.ts';

const dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test("a task's files are named by its id and removed together", async (t) => {
  const spool = new Spool(dir, 10 * 1048576);
  const id = 'b8a1a1f0-0000-4000-8000-000000000001';
  const files = { audioPath: spool.uploadPath(id, '.wav'), pcmPath: spool.pcmPath(id) };
  t.same([files.audioPath, files.pcmPath, spool.partPath(id), spool.sidecarPath(id)], [`${id}.wav.upload`, `${id}.pcm`, `${id}.part`, `${id}.tus.json`].map((n) => join(dir, n)));
  await writeFile(files.audioPath, 'a');
  await writeFile(files.pcmPath, 'b');
  await spool.remove(files);
  t.same(await readdir(dir), []);
  await t.resolves(spool.remove(files), 'twice: nothing to remove is fine');
  await t.resolves(spool.remove({ audioPath: '', pcmPath: '' }), 'a live session has no files');
});

t.test('an upload keeps a short plain extension from its name, else none', async (t) => {
  t.equal(uploadExtension('Talk.MP3'), '.mp3');
  t.equal(uploadExtension('notes.tar.gz'), '.gz');
  t.equal(uploadExtension('x.verylongext'), '');
  t.equal(uploadExtension('../../etc/passwd'), '');
  t.equal(uploadExtension('a.w v'), '');
  t.equal(uploadExtension(undefined), '');
});

t.test('the budget: what would not fit is insufficient_storage; bytes streaming in count', async (t) => {
  const spool = new Spool(dir, 1000);
  await spool.start();
  t.teardown(() => spool.stop());
  t.doesNotThrow(() => spool.check(900));
  const upload = spool.receiving();
  upload.add(600);
  t.throws(() => spool.check(500), { code: 'insufficient_storage' });
  t.throws(() => upload.add(500), { code: 'insufficient_storage' }, 'the upload itself is cut when it grows past the budget');
  upload.done();
  t.equal(spool.usedBytes, 600, 'what arrived counts until the next measurement');
});
