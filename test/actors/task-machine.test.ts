import t from 'tap';
import { createActor, waitFor } from 'xstate';
import { createTaskMachine, type TaskServices } from '../../actors/task-machine.ts';
import { Scheduler } from '../../actors/scheduler.ts';
import { EngineError, type EngineResult, type EngineSegment, type FileAudio } from '../../native/engine/types.ts';
import type { PreparedAudio } from '../../native/audio/audio-worker.ts';
import type { TaskEventFrame } from '../../client/protocol/types.ts';
import { makeTask } from '../helpers/tasks.ts';

const SR = 16_000;

/** Stands for the audio worker: "decodes" to a plan of chunks of the given lengths (seconds). */
function planOf(lengths: number[], silent: number[] = []): PreparedAudio {
  let at = 0;
  const chunks = lengths.map((sec, index) => {
    const c = { index, start: at, end: at + sec * SR, silent: silent.includes(index) };
    at = c.end;
    return c;
  });
  return { samples: at, durationSec: at / SR, chunks, decoder: 'test' };
}

/**
 * Stands for the engine pool: each chunk answers "chunk N" (one segment over
 * the chunk) after `delays[N]` ms; `crashes[N]` times it fails the way a dead
 * worker does first.
 */
function fakeEngine(opts: { delays?: Record<number, number>; crashes?: Record<number, number>; fail?: number; emitsSegments?: boolean } = {}) {
  const calls: FileAudio[] = [];
  const crashes = { ...opts.crashes };
  return {
    calls,
    slots: 2,
    async run(job: FileAudio, signal: AbortSignal, onSegments?: (segments: EngineSegment[]) => void): Promise<EngineResult> {
      calls.push(job);
      const index = Math.round(job.start / SR / 10);
      // as the whisper.cpp engine does: the text so far, while the chunk runs
      if (opts.emitsSegments) onSegments?.([{ start: 0, end: 1, text: `chunk ${index} so far` }]);
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, opts.delays?.[index] ?? 1);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(new EngineError('cancelled', 'cancelled'))), { once: true });
      });
      if ((crashes[index] ?? 0) > 0) {
        crashes[index]!--;
        throw new EngineError('engine_crashed', 'worker died');
      }
      if (opts.fail === index) throw new EngineError('engine_failed', 'bad chunk');
      const sec = (job.end - job.start) / SR;
      return { segments: [{ start: 0, end: sec, text: `chunk ${index}` }], language: 'en', engineMs: 1, audioSec: sec };
    },
  };
}

function run(services: Partial<TaskServices> & { engine: TaskServices['engine'] }, plan: PreparedAudio | Error) {
  const full: TaskServices = {
    scheduler: new Scheduler(2),
    decodeSlots: new Scheduler(1),
    prepareAudio: async (_in, _out, signal) => {
      await new Promise((r) => setTimeout(r, 1));
      signal.throwIfAborted();
      if (plan instanceof Error) throw plan;
      return plan;
    },
    ...services,
  };
  const actor = createActor(createTaskMachine(full), { input: { task: makeTask({ language: 'en' }), audioPath: '/in', pcmPath: '/pcm' } });
  const frames: TaskEventFrame[] = [];
  actor.on('frame', ({ frame }) => frames.push(frame));
  actor.start();
  return { actor, frames };
}

t.test('a running chunk\'s text as whisper emits it: partial_segments frames on the timeline, then the chunk\'s segments; the transcript only from finals', async (t) => {
  const engine = fakeEngine({ emitsSegments: true, delays: { 0: 20, 1: 5 } });
  const { actor, frames } = run({ engine }, planOf([10, 10]));
  await waitFor(actor, (s) => s.status === 'done');
  t.same(frames.map((f) => f.seq), frames.map((_, i) => i + 1), 'partials take their seq like any frame');
  const partials = frames.filter((f) => f.type === 'partial_segments');
  t.same(partials.map((f) => [f.chunk, f.segments.map((s) => [s.start, s.text])]), [[0, [[0, 'chunk 0 so far']]], [1, [[10, 'chunk 1 so far']]]]);
  for (const p of partials) {
    const final = frames.findIndex((f) => f.type === 'segments' && f.chunk === p.chunk);
    t.ok(frames.indexOf(p) < final, `chunk ${p.chunk}: the partial before its segments frame`);
  }
  t.same(actor.getSnapshot().context.task.segments.map((s) => s.text), ['chunk 0', 'chunk 1']);
});

t.test('frames: every change once, seq counts up by one, segments in chunk order', async (t) => {
  // chunk 0 is slowest: chunks 1 and 2 finish first but must wait for it
  const engine = fakeEngine({ delays: { 0: 60, 1: 5, 2: 5 } });
  const { actor, frames } = run({ engine }, planOf([10, 10, 10]));
  await waitFor(actor, (s) => s.status === 'done');
  const task = actor.getSnapshot().context.task;
  t.equal(task.status, 'completed');
  t.same(frames.map((f) => f.seq), frames.map((_, i) => i + 1), 'seq is 1, 2, 3, ...');
  t.equal(task.seq, frames.length);
  t.same(frames.filter((f) => f.type === 'status').map((f) => (f as { status: string }).status), ['decoding', 'transcribing', 'completed']);
  t.same(frames.filter((f) => f.type === 'segments').map((f) => (f as { chunk: number }).chunk), [0, 1, 2]);
  t.same(task.segments.map((s) => [s.start, s.end, s.text]), [[0, 10, 'chunk 0'], [10, 20, 'chunk 1'], [20, 30, 'chunk 2']]);
  t.same(task.progress, { done: 3, total: 3, pct: 100 });
  t.equal(task.durationSec, 30);
});

t.test('silent chunks never reach the engine', async (t) => {
  const engine = fakeEngine();
  const { actor, frames } = run({ engine }, planOf([10, 10, 10], [1]));
  await waitFor(actor, (s) => s.status === 'done');
  t.equal(engine.calls.length, 2);
  t.same(frames.filter((f) => f.type === 'segments').map((f) => [(f as { chunk: number }).chunk, (f as { segments: unknown[] }).segments.length]), [[0, 1], [1, 0], [2, 1]]);
});

t.test('all-silent audio completes with an empty transcript', async (t) => {
  const engine = fakeEngine();
  const { actor } = run({ engine }, planOf([5], [0]));
  await waitFor(actor, (s) => s.status === 'done');
  t.match(actor.getSnapshot().context.task, { status: 'completed', segments: [] });
  t.equal(engine.calls.length, 0);
});

t.test('a worker crash is retried; too many crashes fail the task with a code', async (t) => {
  const engine = fakeEngine({ crashes: { 1: 2 } });
  const retried: number[] = [];
  const ok = run({ engine, onChunkRetry: (_id, index) => retried.push(index) }, planOf([10, 10]));
  await waitFor(ok.actor, (s) => s.status === 'done');
  t.equal(ok.actor.getSnapshot().context.task.status, 'completed');
  t.same(retried, [1, 1]);

  const bad = run({ engine: fakeEngine({ crashes: { 0: 5 } }) }, planOf([10, 10]));
  await waitFor(bad.actor, (s) => s.status === 'done');
  t.match(bad.actor.getSnapshot().context.task, { status: 'failed', error: { code: 'engine_failed', message: /chunk 0 failed after 3 attempt/ } });
});

t.test('undecodable audio fails with its code', async (t) => {
  const error = Object.assign(new Error('could not decode the audio'), { code: 'unsupported_audio' });
  const { actor, frames } = run({ engine: fakeEngine() }, error);
  await waitFor(actor, (s) => s.status === 'done');
  t.match(actor.getSnapshot().context.task, { status: 'failed', error: { code: 'unsupported_audio' } });
  t.match(frames.at(-1), { type: 'status', status: 'failed', error: { code: 'unsupported_audio' } });
});

t.test('cancel stops the work at once and frees the engine', async (t) => {
  const engine = fakeEngine({ delays: { 0: 5_000, 1: 5_000 } });
  const scheduler = new Scheduler(2);
  const { actor, frames } = run({ engine, scheduler }, planOf([10, 10, 10]));
  await waitFor(actor, () => engine.calls.length === 2);
  actor.send({ type: 'CANCEL' });
  t.equal(actor.getSnapshot().context.task.status, 'cancelled');
  t.match(frames.at(-1), { type: 'status', status: 'cancelled' });
  await new Promise((r) => setTimeout(r, 20));
  t.equal(scheduler.stats().inUse, 0, 'slots released');
  t.equal(engine.calls.length, 2, 'the third chunk never started');
});

t.test('a failing chunk fails only its task', async (t) => {
  const scheduler = new Scheduler(2);
  const a = run({ engine: fakeEngine({ fail: 1 }), scheduler }, planOf([10, 10]));
  const b = run({ engine: fakeEngine(), scheduler }, planOf([10, 10]));
  await Promise.all([waitFor(a.actor, (s) => s.status === 'done'), waitFor(b.actor, (s) => s.status === 'done')]);
  t.match(a.actor.getSnapshot().context.task, { status: 'failed', error: { code: 'engine_failed' } });
  t.equal(b.actor.getSnapshot().context.task.status, 'completed');
});

/**
 * A four-chunk task run whole, then resumed from a checkpoint of 2 with the
 * stored transcript holding the chunks below `storedUpTo`: the reference
 * transcript, the resumed actor's, its engine calls (chunk starts, s) and frames.
 */
async function resumeAfterTwo(storedUpTo: number) {
  const plan = planOf([10, 10, 10, 10]);
  const whole = run({ engine: fakeEngine() }, plan);
  await waitFor(whole.actor, (s) => s.status === 'done');
  const reference = whole.actor.getSnapshot().context.task;

  const engine = fakeEngine();
  const task = { ...makeTask({ language: 'en', status: 'transcribing', seq: 9 }), segments: reference.segments.filter((s) => s.chunk! < storedUpTo), durationSec: 40 };
  const actor = createActor(createTaskMachine({ scheduler: new Scheduler(2), decodeSlots: new Scheduler(1), engine, prepareAudio: () => Promise.reject(new Error('must not decode')) }), {
    input: { task, audioPath: '/in', pcmPath: '/pcm', checkpoint: { chunks: plan.chunks, emitted: 2 } },
  });
  const frames: TaskEventFrame[] = [];
  actor.on('frame', ({ frame }) => frames.push(frame));
  actor.start();
  await waitFor(actor, (s) => s.status === 'done');
  return { reference: reference.segments, resumed: actor.getSnapshot().context.task, ran: engine.calls.map((c) => c.start / SR), frames };
}

t.test('resumed from a checkpoint: only the chunks not on the transcript run, and the result is the same', async (t) => {
  const { reference, resumed, ran, frames } = await resumeAfterTwo(2);
  t.equal(resumed.status, 'completed');
  t.same(ran, [20, 30], 'only chunks 2 and 3 ran');
  t.same(resumed.segments, reference, 'the same transcript as an uninterrupted run');
  t.equal(frames[0]!.seq, 10, 'seq goes on from the checkpoint');
});

t.test('resumed where the store holds a chunk past its checkpoint (the hub died between the two writes): that chunk runs again and is on the transcript once', async (t) => {
  // chunk 2's segments were stored, the checkpoint that says so was not
  const { reference, resumed, ran } = await resumeAfterTwo(3);
  t.same(ran, [20, 30], 'the checkpoint decides: chunks 2 and 3 run');
  t.same(resumed.segments, reference, 'each chunk once, as in an uninterrupted run');
});

t.test('resumed without its pcm: decodes again, keeps the transcript when the plan agrees', async (t) => {
  const plan = planOf([10, 10, 10]);
  const engine = fakeEngine();
  let decoded = 0;
  const task = { ...makeTask({ language: 'en', status: 'transcribing', seq: 5 }), segments: [{ start: 0, end: 10, text: 'chunk 0', chunk: 0 }] };
  const actor = createActor(
    createTaskMachine({ scheduler: new Scheduler(2), decodeSlots: new Scheduler(1), engine, prepareAudio: async () => (decoded++, plan) }),
    { input: { task, audioPath: '/in', pcmPath: '/pcm', checkpoint: { chunks: plan.chunks, emitted: 1 }, pcmMissing: true } },
  );
  actor.start();
  await waitFor(actor, (s) => s.status === 'done');
  t.equal(decoded, 1);
  t.same(engine.calls.map((c) => c.start / SR), [10, 20]);
  t.same(actor.getSnapshot().context.task.segments.map((s) => s.text), ['chunk 0', 'chunk 1', 'chunk 2']);
});

t.test("the task's options go with every chunk to the engine", async (t) => {
  const engine = fakeEngine();
  const options = { translate: true, prompt: 'Dashwood, Norland', temperature: 0.2, beam: 3 };
  const full: TaskServices = {
    scheduler: new Scheduler(2),
    decodeSlots: new Scheduler(1),
    prepareAudio: async () => planOf([10, 10]),
    engine,
  };
  const actor = createActor(createTaskMachine(full), { input: { task: makeTask({ language: 'en', options }), audioPath: '/in', pcmPath: '/pcm' } });
  actor.start();
  await waitFor(actor, (s) => s.status === 'done', { timeout: 5_000 });
  t.equal(engine.calls.length, 2);
  t.ok(engine.calls.every((job) => JSON.stringify((job as { options?: unknown }).options) === JSON.stringify(options)), 'each job carries them');
});
