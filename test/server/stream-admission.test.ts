// Who may open a live session: per-user limits (one user's idle sessions
// cannot lock everybody else out), disconnected sessions that hold no slot,
// and a hub without ffmpeg that refuses Opus streams cleanly instead of dying.
import t from 'tap';
import { ALICE, BOB, TestSocket, fixture, getJson, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';

const { url, wsUrl } = await startTestHub(t, { HUB_MAX_STREAMS_PER_USER: '2', HUB_MAX_STREAMS: '4', HUB_STREAM_GRACE_SEC: '30' });

const openStream = async (token: string, query = '') => {
  const ws = await TestSocket.open(wsUrl, `/v1/stream${query}`, token, { json: true });
  const first = await ws.next((f) => f.type === 'ready' || f.type === 'error').catch(() => undefined);
  return { ws, first };
};

t.test('one user gets at most HUB_MAX_STREAMS_PER_USER sessions; others still get theirs', async (t) => {
  const a1 = await openStream(ALICE);
  const a2 = await openStream(ALICE);
  t.match([a1.first, a2.first], [{ type: 'ready' }, { type: 'ready' }]);
  const a3 = await openStream(ALICE);
  t.equal((await a3.ws.waitClosed()).code, 4029);
  t.match(a3.first, { type: 'error', code: 'overloaded', message: /live sessions open/ });
  const b1 = await openStream(BOB);
  t.match(b1.first, { type: 'ready' }, 'another user is not locked out');

  // A dropped connection keeps its session (for resume) but not its slot.
  const dropped = String(a2.first!.id);
  a2.ws.close();
  await a2.ws.waitClosed();
  const a4 = await openStream(ALICE);
  t.match(a4.first, { type: 'ready' }, 'the slot of a disconnected session is free at once');
  const resumed = await openStream(ALICE, `?resume=${dropped}`);
  t.match(resumed.first, { type: 'error', code: 'overloaded' }, 'resuming needs a free slot too');
  a4.ws.send({ type: 'close' });
  await a4.ws.waitClosed();
  const again = await openStream(ALICE, `?resume=${dropped}`);
  t.match(again.first, { type: 'ready', id: dropped }, 'and resumes once one is free');
  for (const s of [a1, again, b1]) s.ws.send({ type: 'close' });
  for (const s of [a1, again, b1]) await s.ws.waitClosed();
});

t.test('without ffmpeg: Opus streams close 4002 saying so, Opus uploads fail as unsupported_audio, the hub stays up', async (t) => {
  const bare = await startTestHub(t, {}, { ffmpeg: null });
  const ws = await TestSocket.open(bare.wsUrl, '/v1/stream?format=webm', ALICE, { json: true });
  t.equal((await ws.waitClosed()).code, 4002);
  t.match(ws.frames[0], { type: 'error', code: 'unsupported_audio', message: /ffmpeg is not installed/ });
  const res = await upload(bare.url, ALICE, await fixture('speech.webm'));
  const task = await waitForStatus(bare.url, ALICE, ((await res.json()) as { id: string }).id, ['failed', 'completed']);
  t.match(task, { status: 'failed', error: { code: 'unsupported_audio', message: /ffmpeg/ } });
  const wav = await upload(bare.url, ALICE, await fixture('speech.wav'));
  t.match(await waitForStatus(bare.url, ALICE, ((await wav.json()) as { id: string }).id, ['failed', 'completed']), { status: 'completed' }, 'wav decodes in-process');
  t.equal((await getJson(`${bare.url}/healthz`, undefined)).status, 200);
  t.equal((await getJson(`${url}/healthz`, undefined)).status, 200);
});
