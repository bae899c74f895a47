// The registry's lifecycle of live actors, with live sessions (the simplest
// actors to drive): a task is recorded before its actor exists, its frames go
// to every port and to the frame log, finals are stored once as chunk
// records, a finished actor leaves memory for the recent list, admission
// counts unfinished tasks, and delete removes a task's files and tells its
// user's feed. Persistence and the spool are stood in for by recorders.
import t from 'tap';
import { waitFor } from 'xstate';
import { RESUME_SEQ_STEP, TaskRegistry, type FramePort } from '../../actors/task-registry.ts';
import { Scheduler } from '../../actors/scheduler.ts';
import type { Persistence } from '../../actors/persistence.ts';
import type { ChunkRecord, TaskRecord } from '../../actors/stores/task-store.ts';
import type { FeedFrame, TaskEventFrame } from '../../client/protocol/types.ts';
import type { EngineJob } from '../../native/engine/types.ts';

const SR = 16_000;
const speech = Float32Array.from({ length: 2 * SR }, (_, i) => 0.3 * Math.sin(i / 3));
const silence = new Float32Array(SR);

function registry(maxActivePerUser = 5) {
  const inserted: TaskRecord[] = [];
  const saved: TaskRecord[] = [];
  const chunks: ChunkRecord[] = [];
  const removed: { audioPath: string; pcmPath: string }[] = [];
  const stored = new Map<string, TaskRecord>();
  /** Stands for persistence and its store: records what it is asked to write. */
  const persistence = {
    store: {
      insert: async (record: TaskRecord) => void (inserted.push(record), stored.set(record.task.id, record)),
      get: async (id: string) => stored.get(id),
      delete: async (id: string) => stored.delete(id),
    },
    saveTask: (record: TaskRecord) => void saved.push(record),
    saveChunk: (chunk: ChunkRecord) => void chunks.push(chunk),
    forget: () => {},
  } as unknown as Persistence;
  const engine = { slots: 1, run: async (job: EngineJob) => ({ segments: [{ start: 0, end: 1, text: 'hello' }], language: 'en', engineMs: 1, audioSec: 'samples' in job ? job.samples.length / SR : 0 }) };
  const scheduler = new Scheduler(1);
  const reg = new TaskRegistry(
    { prepareAudio: async () => Promise.reject(new Error('no files here')), decodeSlots: new Scheduler(1), scheduler, engine, stream: { scheduler, engine, graceMs: 100 } },
    persistence,
    { files: { pcmPath: (id) => `/spool/${id}.pcm`, remove: async (r) => void removed.push(r) }, model: () => 'tiny.en', maxActivePerUser, historyLength: 100, recentLength: 2 },
  );
  const published: TaskEventFrame[] = [];
  const feed: FeedFrame[] = [];
  const port: FramePort = { publish: (_id, frame) => void published.push(frame), feed: (_user, frame) => void feed.push(frame) };
  reg.attach(port);
  return { reg, inserted, saved, chunks, removed, published, feed, stored };
}

t.test('a session: recorded first, frames to the ports and the log, finals stored once, then recent', async (t) => {
  const { reg, inserted, chunks, published, feed, saved } = registry();
  const actor = await reg.createStream({ userId: 'alice', language: 'en' });
  const id = actor.getSnapshot().context.task.id;
  t.equal(inserted[0]?.task.id, id, 'the store had the record before the actor was handed out');
  t.match(feed, [{ type: 'created', id }]);
  t.equal(inserted[0]?.task.model, 'tiny.en');
  actor.start();
  t.ok(reg.isLive(id));
  for (const part of [silence, speech, silence]) actor.send({ type: 'AUDIO', samples: part });
  actor.send({ type: 'CLOSE' });
  await waitFor(actor, (s) => s.status === 'done', { timeout: 5_000 });
  t.notOk(reg.isLive(id), 'a finished actor leaves the live set');
  t.equal(reg.get(id)?.status, 'completed', 'and is read from the recent list');
  t.ok(published.some((f) => f.type === 'final'), 'frames reached the port');
  t.same(chunks.map((c) => c.segments.map((s) => s.text)), [['hello']], 'the final was stored once as a chunk record');
  t.equal(saved.at(-1)?.task.status, 'completed', 'the last snapshot went to persistence');
  t.equal(reg.framesSince(id, 0), undefined, 'the frame log forgets a finished task');
});

t.test('frames after since, from the log, while the task is live', async (t) => {
  const { reg } = registry();
  const actor = await reg.createStream({ userId: 'alice' });
  const id = actor.getSnapshot().context.task.id;
  actor.start();
  for (let utterance = 0; utterance < 2; utterance++) {
    for (const part of [silence, speech, silence]) actor.send({ type: 'AUDIO', samples: part });
    actor.send({ type: 'FINALIZE' });
    await waitFor(actor, (s) => s.context.task.seq > utterance, { timeout: 5_000 });
  }
  const all = reg.framesSince(id, 0)!;
  t.same(all.map((f) => f.seq), all.map((_, i) => i + 1), 'every frame, in seq order');
  t.same(reg.framesSince(id, 1)!.map((f) => f.seq), all.slice(1).map((f) => f.seq));
  t.ok(reg.cancel(id), 'cancel ends a live session');
  await waitFor(actor, (s) => s.status === 'done', { timeout: 5_000 });
  t.notOk(reg.cancel(id), 'nothing left to cancel');
});

t.test('admission counts unfinished tasks per user', async (t) => {
  const { reg } = registry(2);
  await reg.createStream({ userId: 'alice' });
  await reg.createStream({ userId: 'alice' });
  await t.rejects(reg.createStream({ userId: 'alice' }), { code: 'overloaded' });
  t.doesNotThrow(() => reg.admit('bob'), 'another user is not affected');
  reg.stopAll();
});

t.test('delete: the store record, the files, the feed', async (t) => {
  const { reg, removed, feed, stored } = registry();
  const actor = await reg.createStream({ userId: 'alice' });
  const id = actor.getSnapshot().context.task.id;
  actor.start();
  actor.send({ type: 'CLOSE' });
  await waitFor(actor, (s) => s.status === 'done', { timeout: 5_000 });
  t.ok(await reg.delete(id));
  t.notOk(stored.has(id));
  t.match(removed.at(-1), { audioPath: '', pcmPath: '' }, "a live session's (empty) file names were handed to the spool");
  t.match(feed.at(-1), { type: 'deleted', id });
  t.notOk(await reg.delete(id), 'twice: nothing to delete');
});

t.test('a resumed task (a restart, or a take-over by another hub) goes on past every seq its previous run could have published unstored', async (t) => {
  const { reg, published } = registry();
  const task = { id: 'left-over', userId: 'alice', kind: 'file' as const, status: 'transcribing' as const, createdAt: '', updatedAt: '', progress: { done: 1, total: 3, pct: 33 }, segments: [], seq: 41, model: 'tiny.en' };
  await reg.resume({ task, audioPath: '/spool/left-over.upload', pcmPath: '/spool/left-over.pcm' });
  t.ok(reg.isLive('left-over'));
  t.ok((reg.get('left-over')?.seq ?? 0) >= 41 + RESUME_SEQ_STEP, 'its seq jumped');
  await new Promise((r) => setTimeout(r, 50));
  t.ok(published.length > 0 && published.every((f) => f.seq > 41 + RESUME_SEQ_STEP), `its frames come after the jump (${published.map((f) => f.seq).join(', ')})`);
  reg.stopAll();
});

t.test('a session another hub took over stops here, writing nothing more', async (t) => {
  const { reg, saved } = registry();
  const actor = await reg.createStream({ userId: 'alice', language: 'en' });
  actor.start();
  const id = actor.getSnapshot().context.task.id;
  const writes = saved.length;
  reg.abandon(id);
  t.notOk(reg.isLive(id), 'no longer run here');
  t.equal(actor.getSnapshot().status, 'stopped', 'its actor stopped (its socket is told to resume elsewhere)');
  t.equal(saved.length, writes, 'no write after');
});
