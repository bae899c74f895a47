// One hub, several models and several jobs per engine worker: WHISPER_MODEL
// lists the real model (the default) and synthetic:micro, HUB_ENGINE_SLOTS=2
// runs two jobs at once in its one worker. A task runs on the model its
// `model=` names (the synthetic one answers its fixed script, so which model
// ran is plain from the text), Task.model says which, /readyz and the admin
// stats show the models and the slots, and a file task's chunks send their
// text while they run. Needs WHISPER_TEST_MODEL and pocketsphinx-testdata.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { ALICE, TestSocket, getJson, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import { hasRealSpeech, longRecording, utterances } from '../fixtures/real-speech.ts';
import { SYNTHETIC_SENTENCES } from '../../native/models/synthetic.ts';
import { wordErrorRate } from '../helpers/wer.ts';
import type { Task, TaskEventFrame } from '../../client/protocol/types.ts';

const model = process.env.WHISPER_TEST_MODEL;
if (!model || !hasRealSpeech()) {
  t.pass('skipped: set WHISPER_TEST_MODEL to a ggml file and install pocketsphinx-testdata (.ci/run does both)');
  process.exit(0);
}

const { url, wsUrl, hub } = await startTestHub(t, { WHISPER_MODEL: `${model},synthetic:micro`, HUB_ENGINE_SLOTS: '2', HUB_ENGINE: 'whisper.cpp' });
const utterance = utterances()[0]!;
const speech = await readFile(utterance.path);
const text = (task: Task) => task.segments.map((s) => s.text).join(' ');

async function transcribe(body: Uint8Array, query = ''): Promise<Task> {
  const res = await upload(url, ALICE, body, query);
  if (res.status !== 201) throw new Error(`upload${query} refused: ${res.status}`);
  const { id } = (await res.json()) as Task;
  return waitForStatus(url, ALICE, id, ['completed', 'failed'], 120_000);
}

t.test('/readyz and the admin stats: the models, the slots', async (t) => {
  const { body } = await getJson<{ engine: Record<string, unknown> }>(`${url}/readyz`, ALICE);
  t.match(body.engine, { impl: 'whisper.cpp', model, models: [model, 'synthetic:micro'], workers: 1, slotsPerWorker: 2 });
  t.equal(hub.context.scheduler.stats().capacity, 2, 'the scheduler hands out both slots');
});

t.test('model= picks the model; none: the first one', async (t) => {
  const [real, synthetic] = await Promise.all([transcribe(speech), transcribe(speech, '?model=synthetic:micro')]);
  t.equal(real.model, model);
  t.ok(wordErrorRate(utterance.text, text(real)).wer <= 0.2, `the real model: "${text(real)}"`);
  t.equal(synthetic.model, 'synthetic:micro');
  t.match(text(synthetic), SYNTHETIC_SENTENCES[0]!.trim(), 'the synthetic model: its script');
  const unknown = await upload(url, ALICE, speech, '?model=base.en');
  t.equal(unknown.status, 400);
  t.match(await unknown.json(), { error: { code: 'unknown_model', message: /base\.en.*synthetic:micro/ } }, 'unknown_model names the models this hub runs');
});

t.test('a file task sends its chunks\' text while they run, then each chunk\'s segments', async (t) => {
  const res = await upload(url, ALICE, await readFile(longRecording().path), '?language=en');
  const { id } = (await res.json()) as Task;
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  t.teardown(() => ws.ws.close());
  ws.send({ type: 'subscribe', id });
  await ws.next((f) => f.type === 'status' && f.status === 'completed', 240_000);
  const frames = ws.frames as unknown as TaskEventFrame[];
  const partials = frames.filter((f) => f.type === 'partial_segments');
  t.ok(partials.length > 0, `${partials.length} partial_segments frames`);
  for (const p of partials) {
    const segments = frames.find((f) => f.type === 'segments' && f.chunk === p.chunk);
    t.ok(segments && frames.indexOf(p) < frames.indexOf(segments), `chunk ${p.chunk}: partial before the chunk's segments`);
    t.ok(p.segments.every((s) => s.chunk === p.chunk && s.start >= 0 && s.end >= s.start), 'on the recording\'s timeline');
  }
});
