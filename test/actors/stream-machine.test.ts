// The stream actor with an engine double: every change is one frame with the
// next seq; a live pass that fails reaches the client as an `error` frame
// (and the session goes on); close flushes and ends `completed`; a client that
// does not come back within the grace period ends the session `interrupted`.
import t from 'tap';
import { createActor, waitFor } from 'xstate';
import { createStreamMachine } from '../../actors/stream-machine.ts';
import { Scheduler } from '../../actors/scheduler.ts';
import type { EngineJob, EngineResult } from '../../native/engine/types.ts';
import type { TaskEventFrame } from '../../client/protocol/types.ts';
import { makeTask } from '../helpers/tasks.ts';

const SR = 16_000;
const voice = (seconds: number) => Float32Array.from({ length: seconds * SR }, (_, i) => 0.3 * Math.sin(i / 3));
const quiet = (seconds: number) => new Float32Array(seconds * SR);

/** Stands for the engine: hears "hello" in any audio; fails the passes listed in `failing` (1-based). */
function engine(failing: number[] = []) {
  let n = 0;
  return {
    slots: 1,
    async run(job: EngineJob): Promise<EngineResult> {
      n++;
      if (failing.includes(n)) throw new Error(`pass ${n} failed (test)`);
      const sec = 'samples' in job ? job.samples.length / SR : 0;
      return { segments: [{ start: 0, end: sec, text: 'hello' }], language: 'en', engineMs: 1, audioSec: sec };
    },
  };
}

function start(failing: number[] = [], graceMs = 1_000) {
  const frames: TaskEventFrame[] = [];
  const actor = createActor(createStreamMachine({ scheduler: new Scheduler(1), engine: engine(failing), graceMs }), {
    input: { task: makeTask({ kind: 'stream', status: 'transcribing', language: 'en' }) },
  });
  actor.on('frame', (e) => frames.push(e.frame));
  actor.start();
  const feed = async (samples: Float32Array) => {
    for (let at = 0; at < samples.length; at += 1600) {
      actor.send({ type: 'AUDIO', samples: samples.subarray(at, at + 1600) });
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  return { actor, frames, feed };
}

t.test('a failed live pass is an error frame; the session goes on', async (t) => {
  const { actor, frames, feed } = start([1]);
  await feed(Float32Array.from([...quiet(0.5), ...voice(2), ...quiet(1)]));
  actor.send({ type: 'CLOSE' });
  await waitFor(actor, (s) => s.status === 'done', { timeout: 5_000 });
  const error = frames.find((f) => f.type === 'error');
  t.match(error, { type: 'error', code: 'engine_failed', message: /pass 1 failed/ }, 'the client is told');
  t.ok(frames.some((f) => f.type === 'final' && f.text === 'hello'), 'later passes still transcribe');
  t.same(frames.map((f) => f.seq), frames.map((_, i) => i + 1), 'one seq per frame, no gaps');
  t.match(frames.at(-1), { type: 'status', status: 'completed' });
});

t.test('a client that does not come back: interrupted, with the reason', async (t) => {
  const { actor, frames, feed } = start([], 50);
  await feed(Float32Array.from([...quiet(0.5), ...voice(1)]));
  actor.send({ type: 'DISCONNECTED' });
  await waitFor(actor, (s) => s.status === 'done', { timeout: 5_000 });
  t.match(frames.at(-1), { type: 'status', status: 'interrupted', error: { code: 'disconnected' } });
});
