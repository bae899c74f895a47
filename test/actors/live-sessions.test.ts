// Live sessions without a socket: LiveSessions admits and finds them,
// LiveSession owns each one's link to its client — early audio, take-over on
// resume, pacing, the idle timer, the `closed` goodbye. Clients are fake ports
// (test/helpers/fake-port.ts); the stream actor is the real machine over an
// engine double.
import t from 'tap';
import { createActor, waitFor } from 'xstate';
import { LiveSessions, type LiveSessionsDeps } from '../../actors/live-sessions.ts';
import { createStreamMachine, type StreamActor } from '../../actors/stream-machine.ts';
import { Scheduler } from '../../actors/scheduler.ts';
import { streamParamsSchema } from '../../client/protocol/messages.ts';
import type { EngineJob } from '../../native/engine/types.ts';
import { makeTask } from '../helpers/tasks.ts';
import { fakePort } from '../helpers/fake-port.ts';

const s16 = (seconds: number, amplitude = 0.3) => {
  const samples = new Int16Array(Math.round(seconds * 16_000));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(amplitude * 32767 * Math.sin(i / 3));
  return new Uint8Array(samples.buffer);
};

/** Stands for the registry's createStream: a real stream actor over an engine that hears "hello". */
function sessions(over: Partial<LiveSessionsDeps> = {}) {
  const actors: StreamActor[] = [];
  let release: () => void = () => {};
  const recorded = new Promise<void>((r) => (release = r));
  const engine = { slots: 1, run: async (job: EngineJob) => ({ segments: [{ start: 0, end: 1, text: 'hello' }], language: 'en', engineMs: 1, audioSec: 'samples' in job ? job.samples.length / 16_000 : 0 }) };
  const machine = createStreamMachine({ scheduler: new Scheduler(1), engine, graceMs: 200 });
  const deps: LiveSessionsDeps = {
    createStream: async ({ userId }) => {
      if (over.createStream) return over.createStream({ userId });
      const task = makeTask({ kind: 'stream', status: 'transcribing', userId, language: 'en' });
      const actor = createActor(machine, { input: { task }, id: task.id });
      actors.push(actor);
      release();
      return actor;
    },
    framesSince: () => undefined,
    utilization: () => 0,
    ffmpeg: undefined,
    idleMs: 10_000,
    limits: { maxStreams: 3, maxStreamsPerUser: 2 },
    shuttingDown: () => false,
    log: () => {},
    ...over,
  };
  return { live: new LiveSessions(deps), actors, recorded };
}

const params = (q: Record<string, string> = {}) => streamParamsSchema.parse(q);
const tick = () => new Promise((r) => setTimeout(r, 5));

t.test('a new session: ready once recorded, audio sent before that is not lost', async (t) => {
  const { live, actors } = sessions();
  const conn = fakePort('alice');
  const session = live.open(conn, params())!;
  session.onAudio(conn, s16(0.5));
  t.same(conn.sent, [], 'nothing before the session is recorded');
  await tick();
  t.match(conn.sent[0], { type: 'ready', id: session.id });
  t.ok(conn.topics.has(`task/${session.id}`), 'the connection follows the task');
  t.equal(actors[0]!.getSnapshot().context.samples, 8000, 'the early half second reached the actor');
});

t.test('resume: the new connection takes over, the old one is closed normally', async (t) => {
  const { live, actors } = sessions();
  const first = fakePort('alice');
  const session = live.open(first, params())!;
  await tick();
  const id = session.id!;
  const second = fakePort('alice');
  t.equal(live.open(second, params({ resume: id })), session, 'the same session');
  t.same(first.ended, { code: 1000, reason: 'the session was resumed on another connection' });
  t.match(second.sent[0], { type: 'ready', id, durationSec: 0 });
  t.match(second.sent[1], { type: 'task', id });
  session.onAudio(first, s16(0.2));
  session.onAudio(second, s16(0.2));
  t.equal(actors[0]!.getSnapshot().context.samples, 3200, 'audio from the old connection is ignored');
  session.onClose(first);
  t.equal(actors[0]!.getSnapshot().value, 'connected', 'the old connection closing does not disconnect the session');
});

t.test("a resume of someone else's session, or of none: not_found (4004)", async (t) => {
  const { live } = sessions();
  const owner = fakePort('alice');
  const session = live.open(owner, params())!;
  await tick();
  const thief = fakePort('bob');
  t.equal(live.open(thief, params({ resume: session.id! })), undefined);
  t.match(thief.sent, [{ type: 'error', code: 'not_found' }]);
  t.equal(thief.ended?.code, 4004);
  t.equal(owner.ended, undefined, 'the owner is untouched');
});

t.test('admission: per-user and hub limits count connected sessions (and those being recorded)', async (t) => {
  const { live } = sessions();
  const a1 = fakePort('alice');
  live.open(a1, params());
  live.open(fakePort('alice'), params());
  const a3 = fakePort('alice');
  t.equal(live.open(a3, params()), undefined, 'a third for alice, even before the first two are recorded');
  t.match(a3.ended, { code: 4029, reason: /already have 2 live sessions/ });
  live.open(fakePort('bob'), params());
  const b2 = fakePort('bob');
  t.equal(live.open(b2, params()), undefined);
  t.match(b2.ended, { code: 4029, reason: /limit of 3 live sessions/ });
  await tick();
  a1.drop();
  const session = live.open(fakePort('carol'), params());
  t.ok(session, 'a dropped connection frees its slot');
});

t.test('engines too busy, hub shutting down, Opus without ffmpeg: refused with the reason', async (t) => {
  const busy = fakePort();
  t.equal(sessions({ utilization: () => 0.9 }).live.open(busy, params()), undefined);
  t.match(busy.ended, { code: 4029, reason: /cannot keep up/ });
  const late = fakePort();
  sessions({ shuttingDown: () => true }).live.open(late, params());
  t.match(late.ended, { code: 1001 });
  const opus = fakePort();
  sessions().live.open(opus, params({ format: 'webm' }));
  t.match(opus.sent, [{ type: 'error', code: 'unsupported_audio', message: /ffmpeg/ }]);
  t.equal(opus.ended?.code, 4002);
});

t.test('a session the store cannot record: overloaded, and its slot is freed', async (t) => {
  const { live } = sessions({ createStream: async () => Promise.reject(new Error('store down')), limits: { maxStreams: 1, maxStreamsPerUser: 1 } });
  const conn = fakePort();
  live.open(conn, params());
  await tick();
  t.match(conn.ended, { code: 4029, reason: /could not be recorded/ });
  t.ok(live.open(fakePort(), params()), 'the next one is admitted');
});

t.test('audio far ahead of real time: 4029; frames over 1 MB: 4013', async (t) => {
  const { live } = sessions();
  const fast = fakePort();
  const session = live.open(fast, params())!;
  await tick();
  for (let i = 0; i < 40 && !fast.ended; i++) session.onAudio(fast, s16(1, 0));
  t.match(fast.ended, { code: 4029, reason: /faster than real time/ });
  const big = fakePort('bob');
  const other = live.open(big, params())!;
  await tick();
  other.onAudio(big, new Uint8Array(1024 * 1024 + 2));
  t.equal(big.ended?.code, 4013);
});

t.test('idle: no audio or keepalive for idleMs closes with 4008; keepalives hold it open', async (t) => {
  const { live } = sessions({ idleMs: 60 });
  const conn = fakePort();
  const session = live.open(conn, params())!;
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setTimeout(r, 30));
    session.onControl(conn, { type: 'keepalive' });
  }
  t.equal(conn.ended, undefined);
  await new Promise((r) => setTimeout(r, 100));
  t.match(conn.ended, { code: 4008 });
});

t.test('close: the last finals, then `closed` and 1000; the session can no longer be resumed', async (t) => {
  const { live, actors } = sessions();
  const conn = fakePort();
  const session = live.open(conn, params())!;
  await tick();
  session.onAudio(conn, s16(1.5));
  session.onControl(conn, { type: 'close' });
  await waitFor(actors[0]!, (s) => s.status === 'done', { timeout: 5_000 });
  t.match(conn.sent.at(-1), { type: 'closed', id: session.id });
  t.same(conn.ended, { code: 1000, reason: 'closed' });
  const again = fakePort();
  t.equal(live.open(again, params({ resume: session.id! })), undefined);
  t.equal(again.ended?.code, 4004);
});

t.test('a client gone before its session was recorded: the session is disconnected at once', async (t) => {
  const { live, actors } = sessions();
  const conn = fakePort();
  const session = live.open(conn, params())!;
  conn.drop();
  session.onClose(conn);
  await tick();
  await waitFor(actors[0]!, (s) => s.status === 'done', { timeout: 5_000 });
  t.equal(actors[0]!.getSnapshot().context.task.status, 'interrupted');
});
