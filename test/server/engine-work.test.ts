// The engine under stress, end to end: a worker killed mid-chunk, fairness
// between users, a cancelled chunk that frees its worker.
import t from 'tap';
import { ALICE, BOB, fixture, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import type { Task } from '../../client/protocol/types.ts';

const { url, hub } = await startTestHub(t);
const pool = () => hub.context.engine.workerPool!;
const submit = async (token: string, name: string) => ((await (await upload(url, token, await fixture(name), '?language=en')).json()) as Task).id;

async function busyPid(): Promise<number> {
  for (;;) {
    const busy = pool().workers().find((w) => w.state === 'busy');
    if (busy?.pid) return busy.pid;
    await new Promise((r) => setTimeout(r, 2));
  }
}

t.test('a worker killed mid-chunk: the chunk is retried, the task completes whole, the hub carries on', async (t) => {
  const reference = await waitForStatus(url, ALICE, await submit(ALICE, 'long.wav'), ['completed']);
  const id = await submit(ALICE, 'long.wav');
  const pid = await busyPid();
  process.kill(pid, 'SIGKILL');
  const done = await waitForStatus(url, ALICE, id, ['completed', 'failed']);
  t.equal(done.status, 'completed');
  t.same(done.segments, reference.segments, 'the same transcript as an undisturbed run');
  t.not(pool().workers()[0]!.pid, pid, 'a fresh worker took over');
  t.match(await (await fetch(`${url}/metrics`)).text(), /hub_chunk_retries_total [1-9]/);
});

t.test("a short file is not stuck behind another user's long recording", async (t) => {
  const long = await submit(ALICE, 'long.wav');
  await waitForStatus(url, ALICE, long, ['transcribing']);
  const short = await submit(BOB, 'speech.wav');
  await waitForStatus(url, BOB, short, ['completed']);
  const longNow = (await (await fetch(`${url}/v1/tasks/${long}`, { headers: { Authorization: `Bearer ${ALICE}` } })).json()) as Task;
  t.equal(longNow.status, 'transcribing', 'the short one finished while the long one was still going');
  await waitForStatus(url, ALICE, long, ['completed']);
});

t.test('cancelling a task frees its worker for the next one at once', async (t) => {
  const long = await submit(ALICE, 'long.wav');
  const pid = await busyPid();
  await fetch(`${url}/v1/tasks/${long}`, { method: 'DELETE', headers: { Authorization: `Bearer ${ALICE}` } });
  const next = await submit(BOB, 'speech.wav');
  t.equal((await waitForStatus(url, BOB, next, ['completed', 'failed'])).status, 'completed');
  // The whisper.cpp addon stops the run inside whisper: the same process goes on.
  // @napi-rs/whisper cannot be interrupted: its process is replaced.
  if (pool().workers()[0]!.engine?.impl === 'whisper.cpp') t.equal(pool().workers()[0]!.pid, pid, 'the run was aborted inside the same worker');
  else t.not(pool().workers()[0]!.pid, pid, 'the cancelled chunk’s worker was replaced');
  t.equal((await waitForStatus(url, ALICE, long, ['cancelled'])).status, 'cancelled');
});
