// `/v1/stream` end to end: real sockets, the reference client, the micro
// synthetic model (its "text" is a fixed script, so these tests check
// semantics, not recognition), espeak speech with pauses.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { ALICE, BOB, TestSocket, getJson, startTestHub } from '../helpers/hub.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';
import { streamAudio, type StreamResult } from '../helpers/stream-file.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import type { FinalFrame, ServerFrame, Task } from '../../client/protocol/types.ts';
import { decode } from '../../client/protocol/codec.ts';

const { url, wsUrl, hub } = await startTestHub(t, { HUB_STREAM_IDLE_SEC: '2', HUB_STREAM_GRACE_SEC: '2', HUB_MAX_STREAMS: '3', HUB_MAX_STREAMS_PER_USER: '3' });

/** Sessions of earlier tests may still be in their grace period: wait until none is left. */
async function noSessionsLeft(): Promise<void> {
  while (hub.context.registry.streamCount() > 0) await new Promise((r) => setTimeout(r, 50));
}
const long = await readAudioFile(join(FIXTURES, 'long.wav'), 's16le'); // 18 sentences, 1.5 s pauses
const speech = await readAudioFile(join(FIXTURES, 'speech.wav'), 's16le');
const opts = { url: wsUrl, token: ALICE };

const framesOf = <T extends ServerFrame['type']>(r: StreamResult, type: T) =>
  r.frames.map((f) => f.frame).filter((f): f is Extract<ServerFrame, { type: T }> => f.type === type);

t.test('s16le: partials then a final per utterance, stable segIds, seq without gaps, a clean close', async (t) => {
  const r = await streamAudio(long, { ...opts, speed: 5 }); // fast, with room for partials on a busy machine
  t.equal(r.closeCode, 1000);
  const finals = framesOf(r, 'final');
  t.ok(finals.length >= 15 && finals.length <= 20, `${finals.length} finals for 18 spoken sentences`);
  const seen = new Map<string, 'partial' | 'final'>();
  for (const f of r.frames.map((x) => x.frame)) {
    if (f.type !== 'partial' && f.type !== 'final') continue;
    t.not(seen.get(f.segId), 'final', `nothing replaces final ${f.segId}`);
    seen.set(f.segId, f.type);
  }
  t.ok([...seen.values()].every((v) => v === 'final'), 'every partial was replaced by its final');
  t.ok(framesOf(r, 'partial').length > 0, 'partials came first');
  const seqs = r.frames.map((f) => f.frame).filter((f) => 'seq' in f).map((f) => (f as { seq: number }).seq);
  t.same(seqs, seqs.map((_, i) => i + 1), 'seq 1, 2, 3, ...');
  for (let i = 1; i < finals.length; i++) t.ok(finals[i]!.start >= finals[i - 1]!.end - 0.05, `final ${i} after final ${i - 1}`);
  const closed = framesOf(r, 'closed')[0]!;
  t.ok(Math.abs(closed.durationSec - long.length / 32_000) < 0.2, `closed after ${closed.durationSec} s of audio`);
  t.match(framesOf(r, 'status').at(-1), { status: 'completed' });

  const task = await getJson<Task>(`${url}/v1/tasks/${r.id}`, ALICE);
  t.match(task.body, { kind: 'stream', status: 'completed', userId: 'alice' });
  t.same(task.body.segments.map((s) => s.text), finals.filter((f) => f.text).map((f) => f.text), 'the task holds the finals');
  const n = task.body.segments.length;
  t.same(task.body.progress, { done: n, total: n, pct: 100 }, 'progress agrees with itself');
  const srt = await (await fetch(`${url}/v1/tasks/${r.id}/transcript?format=srt`, { headers: { Authorization: `Bearer ${ALICE}` } })).text();
  t.match(srt, /^1\n00:00:0\d,\d{3} --> /, 'exports work for streams');
});

t.test('f32le at 44.1 kHz stereo is resampled: same utterances', async (t) => {
  const mono = new Int16Array(speech.buffer, speech.byteOffset, speech.byteLength / 2);
  const f32 = new Float32Array(Math.floor((mono.length * 44_100) / 16_000) * 2);
  for (let i = 0; i < f32.length / 2; i++) f32[2 * i] = f32[2 * i + 1] = mono[Math.floor((i * 16_000) / 44_100)]! / 32768;
  const r = await streamAudio(new Uint8Array(f32.buffer), { ...opts, speed: 0, query: { format: 'f32le', rate: '44100', channels: '2' } });
  t.equal(r.closeCode, 1000);
  t.ok(framesOf(r, 'final').length >= 1);
  t.ok(Math.abs(framesOf(r, 'closed')[0]!.durationSec - 6.3) < 0.2);
});

for (const format of ['webm', 'ogg'] as const) {
  t.test(`Opus in ${format}, as MediaRecorder sends it`, async (t) => {
    const r = await streamAudio(await readAudioFile(join(FIXTURES, 'speech.wav'), format), { ...opts, format, speed: 4 });
    t.equal(r.closeCode, 1000, r.closeReason);
    t.ok(framesOf(r, 'final').some((f) => f.text.length > 0), 'its speech became text');
    t.ok(Math.abs(framesOf(r, 'closed')[0]!.durationSec - 6.3) < 0.3);
  });
}

t.test('silence gives no text at all', async (t) => {
  const r = await streamAudio(new Uint8Array(32_000 * 4), { ...opts, speed: 0 });
  t.equal(r.closeCode, 1000);
  t.same(r.frames.map((f) => f.frame.type).filter((x) => x === 'partial' || x === 'final'), []);
});

t.test('finalize turns the open utterance into a final at once; the stream goes on', async (t) => {
  const ws = await TestSocket.open(wsUrl, '/v1/stream', ALICE, { json: true });
  t.teardown(() => ws.close());
  await ws.next((f) => f.type === 'ready');
  const keepalive = setInterval(() => ws.send({ type: 'keepalive' }), 500);
  t.teardown(() => clearInterval(keepalive));
  const second = 32_000;
  ws.sendRaw(speech.subarray(0, 3 * second)); // mid-sentence
  await ws.next((f) => f.type === 'partial');
  ws.send({ type: 'finalize' });
  const final = (await ws.next((f) => f.type === 'final')) as unknown as FinalFrame;
  t.ok(final.end <= 3.05, `final at ${final.end} s: the audio so far`);
  ws.sendRaw(speech.subarray(3 * second));
  ws.send({ type: 'keepalive' });
  ws.send({ type: 'close' });
  await ws.next((f) => f.type === 'closed');
  t.equal((await ws.waitClosed()).code, 1000);
});

t.test('keepalive holds an idle connection; without it the idle timeout closes with 4008', async (t) => {
  const kept = await TestSocket.open(wsUrl, '/v1/stream', ALICE, { json: true });
  await kept.next((f) => f.type === 'ready');
  const timer = setInterval(() => kept.send({ type: 'keepalive' }), 500);
  await new Promise((r) => setTimeout(r, 3000));
  clearInterval(timer);
  t.notOk(kept.closed, 'still open after 3 s of keepalives');
  t.equal((await kept.waitClosed(5000)).code, 4008, 'then idle');
});

t.test('bad parameters and bad audio: 4002, with the reason', async (t) => {
  for (const query of ['format=mp3', 'rate=1000', 'channels=9', 'language=elvish', 'beam=99', 'temperature=hot', 'translate=maybe']) {
    const ws = await TestSocket.open(wsUrl, `/v1/stream?${query}`, ALICE, { json: true });
    const closed = await ws.waitClosed();
    t.equal(closed.code, 4002, query);
    t.match(ws.frames[0], { type: 'error', code: 'bad_request', message: new RegExp(query.split('=')[0]!) }, `${query}: the message names the parameter`);
  }
  const ws = await TestSocket.open(wsUrl, '/v1/stream?format=webm', ALICE, { json: true });
  await ws.next((f) => f.type === 'ready');
  ws.sendRaw(await readFile(join(FIXTURES, 'garbage.bin')));
  ws.send({ type: 'close' });
  t.equal((await ws.waitClosed()).code, 4002, 'undecodable webm');
  t.ok(ws.frames.some((f) => f.type === 'error' && f.code === 'unsupported_audio'));
});

t.test('no token: 4001; malformed control messages get errors and the socket stays; oversized frames: 4013', async (t) => {
  t.equal((await (await TestSocket.open(wsUrl, '/v1/stream')).waitClosed()).code, 4001);
  const ws = await TestSocket.open(wsUrl, '/v1/stream', ALICE, { json: true });
  await ws.next((f) => f.type === 'ready');
  ws.sendRaw('{oops');
  t.match(await ws.next((f) => f.type === 'error'), { code: 'bad_request', message: /JSON/ });
  ws.send({ type: 'dance' });
  t.match(await ws.next((f) => f.type === 'error' && /dance/.test(String(f.message))), { code: 'bad_request' });
  ws.send({ type: 'keepalive' });
  t.notOk(ws.closed);
  ws.sendRaw(new Uint8Array(2 * 1024 * 1024));
  t.equal((await ws.waitClosed()).code, 4013);
});

t.test('a dropped connection resumes with resume=<id>&since=<seq>: same session, nothing missed', async (t) => {
  await noSessionsLeft();
  const ws = new WebSocket(`${wsUrl}/v1/stream`, { headers: { Authorization: `Bearer ${ALICE}` } });
  const frames: ServerFrame[] = [];
  ws.on('message', (d: Buffer) => frames.push(decode(d) as ServerFrame));
  await new Promise((r) => ws.once('open', r));
  while (!frames.some((f) => f.type === 'ready')) {
    if (ws.readyState !== WebSocket.OPEN) throw new Error(`refused: ${JSON.stringify(frames)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  const id = (frames.find((f) => f.type === 'ready') as { id: string }).id;
  for (let at = 0; at < 32_000 * 12; at += 3200) {
    ws.send(long.subarray(at, at + 3200));
    await new Promise((r) => setTimeout(r, 12));
  }
  // Wait for a final, keeping the connection alive (the idle timeout here is 2 s).
  for (let waited = 0; !frames.some((f) => f.type === 'final'); waited += 10) {
    if (ws.readyState !== WebSocket.OPEN) throw new Error(`closed before any final: ${JSON.stringify(frames.slice(-3))}`);
    if (waited % 500 === 0) ws.send(JSON.stringify({ type: 'keepalive' }));
    await new Promise((r) => setTimeout(r, 10));
  }
  const seen = Math.max(...frames.filter((f) => 'seq' in f).map((f) => (f as { seq: number }).seq));
  ws.terminate(); // the network drops
  await new Promise((r) => setTimeout(r, 200));

  const r = await streamAudio(long.subarray(32_000 * 12), { ...opts, speed: 8, query: { resume: id, since: String(seen) } });
  t.equal(r.id, id, 'the same session');
  t.equal(r.closeCode, 1000);
  const seqs = r.frames.map((f) => f.frame).filter((f) => 'seq' in f).map((f) => (f as { seq: number }).seq);
  t.same(seqs, seqs.map((_, i) => seen + i + 1), 'it picked up right after the last seq it saw');
  const task = (await getJson<Task>(`${url}/v1/tasks/${id}`, ALICE)).body;
  t.match(task, { status: 'completed', kind: 'stream' });
  t.ok(task.segments.length >= 15, `${task.segments.length} finals over both connections`);
  t.ok(Math.abs(task.durationSec! - long.length / 32_000) < 0.3, 'all the audio counted');
});

t.test("a session nobody comes back to ends as interrupted; another user's session cannot be resumed", async (t) => {
  await noSessionsLeft();
  const ws = await TestSocket.open(wsUrl, '/v1/stream', ALICE, { json: true });
  const { id } = (await ws.next((f) => f.type === 'ready')) as unknown as { id: string };
  ws.sendRaw(speech.subarray(0, 32_000 * 2));
  const bob = await TestSocket.open(wsUrl, `/v1/stream?resume=${id}`, BOB);
  t.equal((await bob.waitClosed()).code, 4004);
  ws.ws.terminate();
  const dropped = Date.now();
  let task = (await getJson<Task>(`${url}/v1/tasks/${id}`, ALICE)).body;
  while (task.status !== 'interrupted' && Date.now() - dropped < 15_000) {
    await new Promise((r) => setTimeout(r, 100));
    task = (await getJson<Task>(`${url}/v1/tasks/${id}`, ALICE)).body;
  }
  t.match(task, { status: 'interrupted', error: { code: 'disconnected' } });
  t.ok(Date.now() - dropped >= 2000, 'not before the 2 s grace period');
});

t.test('beyond the session limit new streams are refused with 4029', async (t) => {
  await noSessionsLeft();
  const open = await Promise.all([0, 1, 2].map(() => TestSocket.open(wsUrl, '/v1/stream', ALICE, { json: true })));
  for (const ws of open) await ws.next((f) => f.type === 'ready');
  const refused = await TestSocket.open(wsUrl, '/v1/stream', ALICE);
  t.equal((await refused.waitClosed()).code, 4029);
  t.match(refused.frames[0], { type: 'error', code: 'overloaded' });
  for (const ws of open) ws.send({ type: 'close' });
  for (const ws of open) await ws.waitClosed();
});
