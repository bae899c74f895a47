// OpenAI's audio API on the hub, driven by OpenAI's own SDK (the `openai`
// npm package) with only the base URL and the key changed: every
// response_format, words, streaming, translations, OpenAI's error shapes, and
// a client that goes away. The real model judges the text (WER stated);
// without WHISPER_TEST_MODEL and pocketsphinx-testdata it is skipped.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import OpenAI, { toFile } from 'openai';
import { ALICE, getJson, startTestHub, waitForStatus } from '../../helpers/hub.ts';
import { hasRealSpeech, longRecording, utterances } from '../../fixtures/real-speech.ts';
import { formatWer, pooledWer, wordErrorRate } from '../../helpers/wer.ts';
import type { Task } from '../../../client/protocol/types.ts';

const model = process.env.WHISPER_TEST_MODEL;
if (!model || !hasRealSpeech()) {
  t.pass('skipped: set WHISPER_TEST_MODEL to a ggml file and install pocketsphinx-testdata (.ci/run does both)');
  process.exit(0);
}

const { url } = await startTestHub(t, { WHISPER_MODEL: model, HUB_MAX_UPLOAD_MB: '8' });
const client = new OpenAI({ apiKey: ALICE, baseURL: `${url}/v1`, maxRetries: 0 });
const [first, second] = utterances();
const audio = async (path: string, name = 'speech.wav') => toFile(await readFile(path), name);

t.test('json (the default): the text, within the stated WER; the request is a task in the caller\'s list', async (t) => {
  const pairs: { reference: string; hypothesis: string }[] = [];
  for (const u of utterances().slice(0, 4)) {
    const r = await client.audio.transcriptions.create({ file: await audio(u.path, `${u.id}.wav`), model: 'whisper-1' });
    pairs.push({ reference: u.text, hypothesis: r.text });
  }
  const wer = pooledWer(pairs);
  t.comment(`OpenAI SDK, whisper-1 → the hub's model, four utterances: ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.15, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 15%`);
  const { body } = await getJson<Task[]>(`${url}/v1/tasks`, ALICE);
  t.ok(body.some((task) => task.name === `${utterances()[0]!.id}.wav` && task.status === 'completed'), 'listed, completed');
});

t.test('text, srt, vtt and verbose_json with words and segments', async (t) => {
  const file = () => audio(first!.path);
  const text = await client.audio.transcriptions.create({ file: await file(), model: 'gpt-4o-transcribe', response_format: 'text' });
  t.type(text, 'string');
  t.ok(wordErrorRate(first!.text, text).wer <= 0.2, `text: "${text.trim()}"`);
  const srt = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'srt' });
  t.match(srt, /^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n\S/);
  const vtt = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'vtt' });
  t.match(vtt, /^WEBVTT\n\n00:00:\d\d\.\d{3} --> /);
  const verbose = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word', 'segment'] });
  t.match(verbose, { task: 'transcribe', language: 'english', text: String, usage: { type: 'duration' } });
  t.ok(verbose.duration > 1, `duration ${verbose.duration}`);
  const segments = verbose.segments ?? [];
  t.ok(segments.length > 0 && segments.every((s) => typeof s.avg_logprob === 'number' && typeof s.no_speech_prob === 'number' && s.end >= s.start), 'segments with OpenAI\'s fields');
  const words = verbose.words ?? [];
  t.ok(words.length >= 5, `${words.length} words`);
  t.ok(words.every((w, i) => w.end >= w.start && (i === 0 || w.start >= words[i - 1]!.start)), 'words in order');
  const onlyWords = await client.audio.transcriptions.create({ file: await file(), model: 'whisper-1', response_format: 'verbose_json', timestamp_granularities: ['word'] });
  t.notOk('segments' in onlyWords, 'only the granularity asked for');
});

t.test('stream=true: transcript.text.delta as chunks finish, then transcript.text.done', async (t) => {
  const long = longRecording();
  const stream = await client.audio.transcriptions.create({ file: await audio(long.path, 'long.wav'), model: 'whisper-1', language: 'en', stream: true });
  let deltas = '';
  let count = 0;
  let done: { text: string } | undefined;
  for await (const event of stream) {
    if (event.type === 'transcript.text.delta') {
      deltas += event.delta;
      count++;
    } else if (event.type === 'transcript.text.done') done = event;
  }
  t.ok(count >= 3, `${count} deltas`);
  t.equal(deltas, done?.text, 'the deltas add up to the text');
  const wer = wordErrorRate(long.text, done?.text ?? '');
  t.comment(`streamed long recording: ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.12, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 12%`);
});

t.test('translations: into English, json', async (t) => {
  const r = await client.audio.translations.create({ file: await audio(second!.path), model: 'whisper-1' });
  t.ok(wordErrorRate(second!.text, r.text).wer <= 0.3, `"${r.text}"`);
});

t.test('errors in OpenAI\'s shape, with the right status and the field named', async (t) => {
  const fails = async (run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      return error as InstanceType<typeof OpenAI.APIError>;
    }
    throw new Error('expected an error');
  };
  const unknown = await fails(async () => client.audio.transcriptions.create({ file: await audio(first!.path), model: 'large-v9' }));
  t.match(unknown, { status: 400, code: 'model_not_found', param: 'model', type: 'invalid_request_error' });
  const badKey = await fails(async () => new OpenAI({ apiKey: 'wrong', baseURL: `${url}/v1`, maxRetries: 0 }).audio.transcriptions.create({ file: await audio(first!.path), model: 'whisper-1' }));
  t.match(badKey, { status: 401, code: 'invalid_api_key' });
  const notAudio = await fails(async () => client.audio.transcriptions.create({ file: await toFile(Buffer.from('this is not audio'.repeat(100)), 'notes.wav'), model: 'whisper-1' }));
  t.match(notAudio, { status: 400, code: 'unsupported_audio' });
  const tooLarge = await fails(async () => client.audio.transcriptions.create({ file: await toFile(Buffer.alloc(9 * 1024 * 1024), 'big.wav'), model: 'whisper-1' }));
  t.match(tooLarge, { status: 413 });
  const badFormat = await fails(async () => client.audio.transcriptions.create({ file: await audio(first!.path), model: 'whisper-1', response_format: 'xml' as 'json' }));
  t.match(badFormat, { status: 400, param: 'response_format' });
  const plain = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: { Authorization: `Bearer ${ALICE}`, 'Content-Type': 'audio/wav' }, body: await readFile(first!.path) });
  t.equal(plain.status, 400);
  t.match(await plain.json(), { error: { type: 'invalid_request_error', message: /multipart/ } });
});

t.test('a client that goes away cancels its task, unless it asked to keep it', async (t) => {
  const long = await readFile(longRecording().path);
  const send = async (keep: boolean) => {
    const form = new FormData();
    form.set('file', new Blob([long]), 'gone.wav');
    form.set('model', 'whisper-1');
    if (keep) form.set('keep', 'true');
    const abort = new AbortController();
    const answer = fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: { Authorization: `Bearer ${ALICE}` }, body: form, signal: abort.signal }).catch(() => undefined);
    let task: Task | undefined;
    while (!task) {
      const { body } = await getJson<Task[]>(`${url}/v1/tasks?limit=1`, ALICE);
      if (body[0]?.name === 'gone.wav' && !['completed', 'cancelled'].includes(body[0].status) && body[0].createdAt > started) task = body[0];
      else await new Promise((r) => setTimeout(r, 20));
    }
    abort.abort();
    await answer;
    return waitForStatus(url, ALICE, task.id, ['completed', 'cancelled', 'failed'], 120_000);
  };
  const started = new Date().toISOString();
  t.equal((await send(false)).status, 'cancelled');
  t.equal((await send(true)).status, 'completed', 'keep=true: it runs to the end');
});
