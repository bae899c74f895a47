// Nothing acknowledged is lost: the hub is killed with SIGKILL in the middle of
// several transcriptions, restarted on the same data dir, and finishes them
// with the transcripts an uninterrupted run gives, without redoing the chunks
// it had finished. SIGTERM shuts down cleanly (exit 0) and resumes the same way.
import t, { type Test } from 'tap';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnHub } from '../helpers/hub-process.ts';
import { ALICE, getJson, waitForStatus, upload } from '../helpers/hub.ts';
import { resumeSession, sessionUntilFinal } from '../helpers/moved-session.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';
import { makeSpeech } from '../bench/speech.ts';
import type { Task } from '../../client/protocol/types.ts';

const talk = await readFile(makeSpeech(3));
const env = (dir: string) => ({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:micro', HUB_WORKERS: '1', HUB_TOKENS: `${ALICE}=alice` });

async function chunksTranscribed(url: string): Promise<number> {
  return Number((await (await fetch(`${url}/metrics`)).text()).match(/^hub_chunks_transcribed_total (\d+)/m)?.[1] ?? NaN);
}

/** A process's state and parent from /proc/<pid>/stat (undefined once it is gone). */
async function procStat(pid: number | string): Promise<{ state: string; ppid: number } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: state!, ppid: Number(ppid) };
}

/** The processes whose parent is `pid`. */
async function childPids(pid: number): Promise<number[]> {
  const entries = (await readdir('/proc')).filter((e) => /^\d+$/.test(e));
  const stats = await Promise.all(entries.map(procStat));
  return entries.filter((_, i) => stats[i]?.ppid === pid).map(Number);
}

/** Which of `pids` still run (zombies count as ended) after waiting up to `ms` for them to end. */
async function stillRunning(pids: number[], ms: number): Promise<number[]> {
  const running = async () => (await Promise.all(pids.map(async (pid) => ((await procStat(pid))?.state ?? 'Z') !== 'Z' && pid))).filter((p): p is number => p !== false);
  const deadline = Date.now() + ms;
  while ((await running()).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return running();
}

async function referenceTranscript(t: Test): Promise<Task> {
  const dir = await mkdtemp(join(tmpdir(), 'durable-ref-'));
  const hub = await spawnHub(env(dir));
  t.teardown(async () => {
    hub.proc.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const { id } = (await (await upload(hub.url, ALICE, talk, '?language=en')).json()) as Task;
  return waitForStatus(hub.url, ALICE, id, ['completed']);
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  t.test(`${signal} in the middle of three transcriptions, then a restart`, async (t) => {
    const reference = await referenceTranscript(t);
    const dir = await mkdtemp(join(tmpdir(), 'durable-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const first = await spawnHub(env(dir));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(((await (await upload(first.url, ALICE, talk, '?language=en')).json()) as Task).id);
    // let the first task get some chunks on its transcript (and into the store)
    for (;;) {
      const task = (await (await fetch(`${first.url}/v1/tasks/${ids[0]}`, { headers: { Authorization: `Bearer ${ALICE}` } })).json()) as Task;
      if (task.progress.done >= 3) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100));
    const before = await chunksTranscribed(first.url);
    const workers = await childPids(first.proc.pid!);
    t.ok(workers.length >= 2, `the hub runs ${workers.length} worker processes (engine, decoder)`);
    first.proc.kill(signal);
    const exit = await first.exited;
    if (signal === 'SIGTERM') t.same(exit, { code: 0, signal: null }, 'a clean exit');
    t.same(await stillRunning(workers, 5000), [], 'no worker process outlives the hub');

    const second = await spawnHub(env(dir));
    t.teardown(() => second.proc.kill('SIGKILL'));
    const done = await Promise.all(ids.map((id) => waitForStatus(second.url, ALICE, id, ['completed', 'failed'])));
    for (const task of done) {
      t.equal(task.status, 'completed');
      t.same(task.segments, reference.segments, `task ${task.id.slice(0, 8)}: the transcript of an uninterrupted run`);
      t.same(task.progress, reference.progress);
    }
    const redone = await chunksTranscribed(second.url);
    const total = 3 * reference.progress.total;
    t.ok(redone < total, `after the restart the engine ran ${redone} of ${total} chunks (${before} were done before the ${signal})`);
    t.ok(second.logs.some((l) => l.msg === 'task resumed'), 'the log says tasks were resumed');
  });
}

t.test('a live session cut by SIGKILL is resumed after the restart: its finals kept, the rest transcribed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'hub-stream-durability-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const long = await readAudioFile(join(FIXTURES, 'long.wav'), 's16le'); // 18 sentences, 1.5 s pauses
  const streamEnv = { ...env(dir), HUB_VAD: 'energy', HUB_STREAM_IDLE_SEC: '5' };
  const first = await spawnHub(streamEnv);
  const before = await sessionUntilFinal(first.url.replace(/^http/, 'ws'), ALICE, long.subarray(0, 32_000 * 12));
  first.proc.kill('SIGKILL');
  await first.exited;
  await before.ws.waitClosed();

  const second = await spawnHub(streamEnv);
  t.teardown(async () => {
    second.proc.kill('SIGTERM');
    await second.exited;
  });
  t.match((await getJson<Task>(`${second.url}/v1/tasks/${before.id}`, ALICE)).body, { status: 'interrupted', error: { code: 'interrupted' } }, 'the restart marked it interrupted');
  const { ready, caughtUp } = await resumeSession(second.url.replace(/^http/, 'ws'), ALICE, before.id, before.seen, long);
  t.equal(ready.id, before.id, 'the same session, resumed');
  t.ok(caughtUp.frameSeq > before.seen, 'the client got the whole session, past every seq it saw');
  const task = (await getJson<Task>(`${second.url}/v1/tasks/${before.id}?segments=1`, ALICE)).body;
  t.match(task, { status: 'completed', kind: 'stream' });
  t.same(task.segments.slice(0, before.finals.length).map((s) => s.text), before.finals.map((f) => f.text), 'the finals from before the kill kept, in order');
  t.ok(task.segments.length >= 15, `${task.segments.length} finals over both runs (18 sentences)`);
});
