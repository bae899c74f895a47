// Deepgram's listen API on the hub, driven by Deepgram's own SDK
// (`@deepgram/sdk` v5) with only the base URL and key changed: live
// transcription over /v1/listen (interim and final Results, speech_final,
// SpeechStarted, UtteranceEnd, Finalize that keeps the socket open,
// CloseStream then Metadata then a normal close) and pre-recorded
// POST /v1/listen, with Deepgram's errors. The real model judges the text
// (WER stated); without WHISPER_TEST_MODEL and pocketsphinx-testdata it is skipped.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { DeepgramClient } from '@deepgram/sdk';
import WebSocket from 'ws';
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
const deepgram = new DeepgramClient({ apiKey: ALICE, baseUrl: url });
type Message = { type: string; [k: string]: unknown };
type ResultsMessage = Message & { is_final: boolean; speech_final: boolean; from_finalize?: boolean; start: number; duration: number; channel: { alternatives: { transcript: string; confidence: number; words: { word: string; start: number; end: number; confidence: number; punctuated_word: string }[] }[] } };

const pcm16k = (path: string, seconds?: number) => execFileSync('sox', [path, '-r', '16000', '-b', '16', '-e', 'signed-integer', '-c', '1', '-t', 'raw', '-', ...(seconds ? ['trim', '0', String(seconds)] : [])], { maxBuffer: 1 << 26 });

async function listen(options: Record<string, unknown>) {
  const socket = await deepgram.listen.v1.connect({ model: 'nova-3', encoding: 'linear16', sample_rate: 16_000, channels: 1, reconnectAttempts: 0, ...options } as never);
  const messages: Message[] = [];
  let closed: { code: number; reason: string } | undefined;
  socket.on('message', (m: unknown) => void messages.push(m as Message));
  socket.on('close', (e: { code: number; reason: string }) => void (closed = { code: e.code, reason: e.reason }));
  socket.connect();
  await socket.waitForOpen();
  const until = async (check: () => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out; last: ${JSON.stringify(messages.slice(-2))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** 100 ms frames, `speed` times faster than real time */
  const stream = async (bytes: Buffer, speed = 4) => {
    for (let at = 0; at < bytes.length; at += 3200) {
      socket.sendMedia(bytes.subarray(at, at + 3200));
      await new Promise((r) => setTimeout(r, 100 / speed));
    }
  };
  return { socket, messages, until, stream, closed: () => closed };
}

const finals = (messages: Message[]) => messages.filter((m): m is ResultsMessage => m.type === 'Results' && m.is_final === true);

t.test('live: interim and final Results, speech_final, SpeechStarted, UtteranceEnd, Finalize, CloseStream then Metadata', async (t) => {
  const long = longRecording();
  const cut = long.utterances.filter((u) => u.end < 30).at(-1)!;
  const reference = long.utterances.filter((u) => u.end <= cut.end).map((u) => u.text).join(' ');
  const dg = await listen({ interim_results: 'true', vad_events: 'true', utterance_end_ms: 1000, endpointing: 500, punctuate: 'true', smart_format: 'true', language: 'en-US' });
  await dg.stream(pcm16k(long.path, cut.end + 0.3));
  await dg.stream(Buffer.alloc(16_000 * 2 * 2), 1); // two seconds of quiet, in real time
  await dg.until(() => dg.messages.some((m) => m.type === 'UtteranceEnd'));
  // Finalize keeps the socket open: more audio is transcribed after it
  dg.socket.sendFinalize({ type: 'Finalize' });
  await dg.until(() => finals(dg.messages).some((m) => m.from_finalize === true));
  const [first] = utterances();
  const before = finals(dg.messages).length;
  await dg.stream(Buffer.concat([pcm16k(first!.path), Buffer.alloc(16_000)]));
  dg.socket.sendCloseStream({ type: 'CloseStream' });
  await dg.until(() => dg.closed() !== undefined);
  t.equal(dg.closed()!.code, 1000, 'closed normally after CloseStream');
  const all = finals(dg.messages);
  t.ok(all.length > before, 'audio after Finalize was transcribed');
  const metadata = dg.messages.at(-1)!;
  t.match(metadata, { type: 'Metadata', request_id: String, channels: 1, sha256: /^[0-9a-f]{64}$/ });
  t.ok(Math.abs(Number(metadata.duration) - (cut.end + 0.3 + 2 + 0.5 + pcm16k(first!.path).length / 32_000)) < 0.5, `Metadata duration ${metadata.duration} s`);
  t.ok(dg.messages.some((m) => m.type === 'Results' && m.is_final === false), 'interim results');
  t.ok(all.filter((m) => m.speech_final).length >= 3, `${all.filter((m) => m.speech_final).length} finals end an utterance (speech_final)`);
  t.ok(dg.messages.filter((m) => m.type === 'SpeechStarted').length >= 3, 'SpeechStarted for utterances');
  const words = all.flatMap((m) => m.channel.alternatives[0]!.words);
  t.ok(words.length > 50 && words.every((w, i) => w.end >= w.start && w.confidence >= 0 && w.confidence <= 1 && (i === 0 || w.start >= words[i - 1]!.start - 0.05)), `${words.length} words with times and confidence, in order`);
  t.ok(all.every((m) => m.channel.alternatives[0]!.words.every((w) => w.start >= m.start - 0.05 && w.end <= m.start + m.duration + 0.05)), 'each result\'s words inside its span');
  const text = all.map((m) => m.channel.alternatives[0]!.transcript).filter(Boolean);
  const wer = wordErrorRate(`${reference} ${first!.text}`, text.join(' '));
  t.comment(`Deepgram SDK live (linear16 16 kHz at 4x real time): ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.15, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 15%`);
  const task = await waitForStatus(url, ALICE, String(metadata.request_id), ['completed', 'interrupted']);
  t.match(task, { kind: 'stream', status: 'completed', name: 'Deepgram live stream' }, 'request_id is the caller\'s task');
});

t.test('pre-recorded POST /v1/listen: Deepgram\'s response, utterances, punctuate=false', async (t) => {
  const [first, second] = utterances();
  const audio = await readFile(first!.path);
  const r = (await deepgram.listen.v1.media.transcribeFile(audio, { model: 'nova-3', smart_format: true, utterances: true, language: 'en' })) as unknown as {
    metadata: { request_id: string; duration: number; sha256: string; models: string[] };
    results: { channels: { alternatives: { transcript: string; confidence: number; words: { word: string; punctuated_word: string; start: number; end: number; confidence: number }[] }[] }[]; utterances?: { transcript: string }[] };
  };
  const alt = r.results.channels[0]!.alternatives[0]!;
  const wer = wordErrorRate(first!.text, alt.transcript);
  t.comment(`Deepgram SDK pre-recorded: "${alt.transcript}" ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.2, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 20%`);
  t.ok(alt.words.length >= 10 && alt.words.every((w) => w.word === w.word.toLowerCase() && w.punctuated_word && w.end >= w.start), 'words: plain word, punctuated_word, times');
  t.ok(alt.confidence > 0 && alt.confidence <= 1, `confidence ${alt.confidence}`);
  t.ok(r.results.utterances && r.results.utterances.length >= 1, 'utterances');
  t.match(r.metadata, { duration: Number, sha256: /^[0-9a-f]{64}$/, models: [String] });
  const { body } = await getJson<Task>(`${url}/v1/tasks/${r.metadata.request_id}`, ALICE);
  t.match(body, { status: 'completed', name: 'Deepgram pre-recorded' }, 'request_id is the caller\'s task');
  const plain = (await deepgram.listen.v1.media.transcribeFile(await readFile(second!.path), { punctuate: false })) as unknown as typeof r;
  const transcript = plain.results.channels[0]!.alternatives[0]!.transcript;
  t.match(transcript, /^[a-z0-9' -]+$/, `punctuate=false: "${transcript}"`);
});

t.test('errors as Deepgram gives them', async (t) => {
  const fails = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      return error as { statusCode?: number; body?: { err_code?: string; err_msg?: string } };
    }
    throw new Error('expected an error');
  };
  const [first] = utterances();
  const audio = await readFile(first!.path);
  const wrongKey = new DeepgramClient({ apiKey: 'wrong', baseUrl: url });
  t.match(await fails(() => wrongKey.listen.v1.media.transcribeFile(audio, {})), { statusCode: 401, body: { err_code: 'INVALID_AUTH' } });
  t.match(await fails(() => deepgram.listen.v1.media.transcribeFile(Buffer.from('not audio at all '.repeat(100)), {})), { statusCode: 400, body: { err_msg: /Failed to process audio/ } });
  t.match(await fails(() => deepgram.listen.v1.media.transcribeUrl({ url: 'http://169.254.169.254/latest' })), { statusCode: 400, body: { err_msg: /does not fetch remote URLs/ } });
  t.match(await fails(() => deepgram.listen.v1.media.transcribeFile(audio, { model: 'no-such-model' } as never)), { statusCode: 400, body: { err_msg: /No such model/ } });
  // the socket: a wrong key and bad parameters are refused at the upgrade, with Deepgram's body
  const upgrade = (query: string, token = ALICE) =>
    new Promise<{ status: number; body: string }>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/listen?${query}`, { headers: { Authorization: `Token ${token}` } });
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.on('open', () => (ws.close(), resolve({ status: 101, body: '' })));
    });
  t.match(await upgrade('encoding=linear16', 'wrong'), { status: 401, body: /INVALID_AUTH/ });
  t.match(await upgrade('encoding=linear16'), { status: 400, body: /sample_rate is required/ });
  t.match(await upgrade('encoding=aac&sample_rate=16000'), { status: 400, body: /encoding must be one of/ });
  // the browser way: the key in the `token` subprotocol, which is echoed
  const browser = new WebSocket(`${url.replace('http', 'ws')}/v1/listen?encoding=linear16&sample_rate=16000`, ['token', ALICE]);
  await new Promise((resolve, reject) => (browser.once('open', resolve), browser.once('error', reject)));
  t.equal(browser.protocol, 'token');
  browser.send(JSON.stringify({ type: 'CloseStream' }));
  const code = await new Promise((resolve) => browser.once('close', resolve));
  t.equal(code, 1000);
});
