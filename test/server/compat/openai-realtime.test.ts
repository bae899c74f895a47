// OpenAI's Realtime transcription on the hub, driven by the `openai` package's
// own WebSocket clients (beta and GA) with only the base URL and key changed:
// server VAD turns (speech_started/stopped, committed, deltas, completed),
// manual commits with turn_detection null, clear, and errors as OpenAI's
// `error` events. The real model judges the text (WER stated); without
// WHISPER_TEST_MODEL and pocketsphinx-testdata it is skipped.
//
// The SDK always dials wss:// and has no `intent` option: the test gives it a
// plain TCP connection (`createConnection`, an option of the ws package it
// passes through) and puts `?intent=transcription` in the base URL.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS as BetaRealtimeWS } from 'openai/beta/realtime/ws';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { ALICE, getJson, startTestHub, waitForStatus } from '../../helpers/hub.ts';
import { hasRealSpeech, longRecording, utterances } from '../../fixtures/real-speech.ts';
import { formatWer, wordErrorRate } from '../../helpers/wer.ts';
import type { Task } from '../../../client/protocol/types.ts';

const model = process.env.WHISPER_TEST_MODEL;
if (!model || !hasRealSpeech()) {
  t.pass('skipped: set WHISPER_TEST_MODEL to a ggml file and install pocketsphinx-testdata (.ci/run does both)');
  process.exit(0);
}

const { url } = await startTestHub(t, { WHISPER_MODEL: model });
const port = new URL(url).port;
type Event = { type: string; [k: string]: unknown };

/** s16le PCM of a file (or of its first `seconds`) at `rate`. */
const pcm = (path: string, rate: number, seconds?: number) =>
  execFileSync('sox', [path, '-r', String(rate), '-b', '16', '-e', 'signed-integer', '-c', '1', '-t', 'raw', '-', ...(seconds ? ['trim', '0', String(seconds)] : [])], { maxBuffer: 1 << 26 });

/** An SDK client on the hub: every event it hears, in order, and a wait for one. */
function realtime(kind: 'beta' | 'ga', apiKey = ALICE) {
  const client = new OpenAI({ apiKey, baseURL: `${url}/v1/realtime?intent=transcription&_=`, maxRetries: 0 });
  const options = { createConnection: () => connect({ host: '127.0.0.1', port: Number(port) }) } as object;
  // (the two classes differ only in their event types)
  const rt = (kind === 'beta' ? new BetaRealtimeWS({ model: 'gpt-4o-transcribe', options }, client) : new OpenAIRealtimeWS({ model: 'gpt-4o-transcribe', options }, client)) as OpenAIRealtimeWS;
  const events: Event[] = [];
  const errors: Error[] = [];
  let wake: () => void = () => {};
  rt.on('event', (e) => (events.push(e as unknown as Event), wake()));
  rt.on('error', (e: Error) => (errors.push(e), wake()));
  const opened = new Promise<void>((resolve, reject) => (rt.socket.once('open', () => resolve()), rt.socket.once('error', reject), rt.socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)))));
  const next = async (match: (e: Event) => boolean, timeoutMs = 60_000, from = 0): Promise<Event> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching event; last: ${JSON.stringify(events.slice(-3))}`);
      await new Promise<void>((resolve) => ((wake = resolve), setTimeout(resolve, 200)));
    }
  };
  const send = (event: object) => rt.send(event as never);
  /** Appends audio in 100 ms pieces, `speed` times faster than real time. */
  const stream = async (bytes: Buffer, rate: number, speed = 4) => {
    const step = (rate / 10) * 2;
    for (let at = 0; at < bytes.length; at += step) {
      send({ type: 'input_audio_buffer.append', audio: bytes.subarray(at, at + step).toString('base64') });
      await new Promise((r) => setTimeout(r, 100 / speed));
    }
  };
  return { rt, events, errors, opened, next, send, stream };
}

t.test('beta transcription session, server VAD: turns, committed items, deltas and completed text', async (t) => {
  const long = longRecording();
  const cut = long.utterances.filter((u) => u.end < 40).at(-1)!;
  const reference = long.utterances.filter((u) => u.end <= cut.end).map((u) => u.text).join(' ');
  const c = realtime('beta');
  await c.opened;
  await c.next((e) => e.type === 'session.created');
  c.send({
    type: 'transcription_session.update',
    session: { input_audio_format: 'pcm16', input_audio_transcription: { model: 'gpt-4o-transcribe', language: 'en' }, turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 } },
  });
  const updated = await c.next((e) => e.type === 'transcription_session.updated');
  t.match(updated, { session: { input_audio_format: 'pcm16', input_audio_transcription: { language: 'en' }, turn_detection: { type: 'server_vad', silence_duration_ms: 500 } } });
  await c.stream(Buffer.concat([pcm(long.path, 24_000, cut.end + 0.3), Buffer.alloc(24_000 * 2 * 2)]), 24_000);
  // every utterance heard is completed once its speech stopped
  const started = () => c.events.filter((e) => e.type === 'input_audio_buffer.speech_started');
  await c.next(() => {
    const done = new Set(c.events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed').map((e) => e.item_id));
    return started().length > 0 && started().every((e) => done.has(e.item_id));
  });
  const completed = c.events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed');
  t.ok(completed.length >= 3, `${completed.length} items for ${long.utterances.filter((u) => u.end <= cut.end).length} sentences`);
  const order = (type: string, id: unknown) => c.events.findIndex((e) => e.type === type && e.item_id === id);
  t.ok(
    completed.every((e) => order('input_audio_buffer.speech_started', e.item_id) < order('input_audio_buffer.speech_stopped', e.item_id) && order('input_audio_buffer.speech_stopped', e.item_id) < order('input_audio_buffer.committed', e.item_id) && order('input_audio_buffer.committed', e.item_id) < order('conversation.item.input_audio_transcription.completed', e.item_id)),
    'each item: speech_started, speech_stopped, committed, completed, in that order',
  );
  const deltas = (id: unknown) => c.events.filter((e) => e.type === 'conversation.item.input_audio_transcription.delta' && e.item_id === id).map((e) => String(e.delta)).join('');
  const addsUp = completed.filter((e) => deltas(e.item_id) === e.transcript).length;
  t.ok(addsUp >= completed.length / 2, `the deltas add up to the transcript for ${addsUp} of ${completed.length} items`);
  const wer = wordErrorRate(reference, completed.map((e) => e.transcript).join(' '));
  t.comment(`realtime (beta, server VAD, 24 kHz pcm16 at 4x real time): ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.15, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 15%`);
  t.same(c.errors, [], 'no error events');
  c.rt.close();
  const { body } = await getJson<Task[]>(`${url}/v1/tasks?limit=5`, ALICE);
  const task = body.find((x) => x.kind === 'stream' && x.name === 'OpenAI realtime session');
  t.ok(task, 'the session is a task of the caller');
  t.equal((await waitForStatus(url, ALICE, task!.id, ['completed', 'interrupted'])).status, 'completed', 'closed by its client: completed, not interrupted');
});

t.test('GA transcription session, turn_detection null: the client commits; empty commits and clear', async (t) => {
  const [first] = utterances();
  const c = realtime('ga');
  await c.opened;
  await c.next((e) => e.type === 'session.created');
  c.send({ type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 16_000 }, transcription: { model: 'whisper-1', language: 'en' }, turn_detection: null } } } });
  t.match(await c.next((e) => e.type === 'session.updated'), { session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 16_000 }, turn_detection: null } } } });
  c.send({ type: 'input_audio_buffer.commit', event_id: 'empty-1' });
  t.match(await c.next((e) => e.type === 'error'), { error: { code: 'input_audio_buffer_commit_empty', event_id: 'empty-1' } });
  await c.stream(pcm(first!.path, 16_000), 16_000, 8);
  c.send({ type: 'input_audio_buffer.commit' });
  const committed = await c.next((e) => e.type === 'input_audio_buffer.committed');
  const done = await c.next((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === committed.item_id);
  const wer = wordErrorRate(first!.text, String(done.transcript));
  t.comment(`realtime (GA, manual commit, one utterance): "${done.transcript}" ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.25, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 25%`);
  t.notOk(c.events.some((e) => e.type === 'input_audio_buffer.speech_started'), 'no VAD events without turn detection');
  // a commit of audio without speech: an item with no words
  const from = c.events.length;
  await c.stream(Buffer.alloc(16_000 * 2), 16_000, 8);
  c.send({ type: 'input_audio_buffer.commit' });
  const silent = await c.next((e) => e.type === 'input_audio_buffer.committed', 30_000, from);
  t.match(await c.next((e) => e.type === 'conversation.item.input_audio_transcription.completed' && e.item_id === silent.item_id, 30_000, from), { transcript: '' });
  t.equal(silent.previous_item_id, committed.item_id, 'items are chained');
  c.send({ type: 'input_audio_buffer.clear' });
  await c.next((e) => e.type === 'input_audio_buffer.cleared');
  c.rt.close();
});

t.test('errors: OpenAI\'s error events naming the field; a wrong key is refused before the socket opens', async (t) => {
  const c = realtime('ga');
  await c.opened;
  const error = async (event: object) => {
    const from = c.events.length;
    c.send(event);
    return c.next((e) => e.type === 'error', 10_000, from);
  };
  t.match(await error({ type: 'session.update', session: { type: 'transcription', audio: { input: { transcription: { model: 'large-v9' } } } } }), { error: { type: 'invalid_request_error', code: 'model_not_found', param: 'session.audio.input.transcription.model' } });
  t.match(await error({ type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 1000 } } } } }), { error: { code: 'invalid_value', param: 'session.audio.input.format.rate' } });
  t.match(await error({ type: 'session.update', session: { type: 'realtime' } }), { error: { code: 'invalid_value', param: 'session.type' } });
  t.match(await error({ type: 'session.update', session: { type: 'transcription', audio: { input: { turn_detection: { type: 'server_vad', silence_duration_ms: 20 } } } } }), { error: { param: 'session.audio.input.turn_detection.silence_duration_ms' } });
  t.match(await error({ type: 'response.create' }), { error: { code: 'bad_request', message: /unknown message type "response.create"/ } });
  t.match(await error({ type: 'input_audio_buffer.append', audio: 'not base64!' }), { error: { code: 'invalid_value', param: 'audio' } });
  t.equal(c.rt.socket.readyState, 1, 'the session goes on after each error');
  c.rt.close();
  const wrong = realtime('ga', 'not-a-token');
  await t.rejects(wrong.opened, /401/);
});
