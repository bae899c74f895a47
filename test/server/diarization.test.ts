// Diarization of files on real voices: conversations made from the read speech
// of Debian's pocketsphinx-testdata (test/fixtures/speaker-recordings.ts),
// transcribed by the real model (tiny.en, WHISPER_TEST_MODEL) with
// `diarize=1`, speakers told apart by the real voice encoder
// (WHISPER_TEST_VOICE_MODEL, converted from resemblyzer by .ci/run), scored
// by the diarization error rate (test/helpers/der.ts, 0.25 s collar).
import t from 'tap';
import { ALICE, getJson, startTestHub, upload, waitForStatus } from '../helpers/hub.ts';
import { conversation, hasSpeakerData, toWav, type Conversation } from '../fixtures/speaker-recordings.ts';
import { diarizationError } from '../helpers/der.ts';
import type { FinalFrame, Task } from '../../client/protocol/types.ts';
import { streamAudio } from '../helpers/stream-file.ts';

const model = process.env.WHISPER_TEST_MODEL;
const voiceModel = process.env.WHISPER_TEST_VOICE_MODEL;
if (!model || !voiceModel || !hasSpeakerData()) {
  t.pass('skipped: needs WHISPER_TEST_MODEL, WHISPER_TEST_VOICE_MODEL and pocketsphinx-testdata (.ci/run provides them)');
  process.exit(0);
}

const { url } = await startTestHub(t, { WHISPER_MODEL: model, HUB_VOICE_MODEL: voiceModel, HUB_VAD: 'silero' });

async function diarized(recording: Conversation, query = '?language=en&diarize=1'): Promise<Task> {
  const { id } = (await (await upload(url, ALICE, toWav(recording.samples), query)).json()) as Task;
  const done = await waitForStatus(url, ALICE, id, ['completed', 'failed'], 300_000);
  if (done.status !== 'completed') throw new Error(`the task ${done.status}: ${done.error?.message}`);
  return (await getJson<Task>(`${url}/v1/tasks/${id}?segments=1`, ALICE)).body;
}

const scored = (recording: Conversation, task: Task) => {
  const hypothesis = task.segments.filter((s) => s.speaker).map((s) => ({ speaker: s.speaker!, start: s.start, end: s.end }));
  const error = diarizationError(recording.turns, hypothesis);
  const speakers = new Set(hypothesis.map((h) => h.speaker)).size;
  const seconds = new Map<string, number>();
  for (const h of hypothesis) seconds.set(h.speaker, (seconds.get(h.speaker) ?? 0) + h.end - h.start);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  t.comment(`DER ${pct(error.der)} (missed ${pct(error.missed)}, false alarm ${pct(error.falseAlarm)}, confusion ${pct(error.confusion)}) over ${error.speech.toFixed(1)} s; ${speakers} speakers found (${[...seconds].map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}), ${recording.speakers} said`);
  return { ...error, speakers };
};

t.test('two real speakers, turns of 3–7 s: the right count, DER within 15%, labels in order of first appearance', async (t) => {
  const recording = conversation(['reader', 'cmu', 'reader', 'cmu', 'reader', 'cmu', 'reader']);
  const task = await diarized(recording);
  const { der, speakers } = scored(recording, task);
  t.equal(speakers, 2, 'two speakers');
  t.ok(der <= 0.15, `DER ${(der * 100).toFixed(1)}% ≤ 15%`);
  t.equal(task.segments[0]?.speaker, 'S1', 'the first voice is S1');
  t.ok(task.segments.every((s) => !s.words || s.words.every((w) => w.speaker === s.speaker)), 'every word carries its segment\'s speaker');
});

t.test('three real speakers: the right count', async (t) => {
  const recording = conversation(['reader', 'cards', 'cmu', 'reader', 'cards', 'cmu', 'reader']);
  const { der, speakers } = scored(recording, await diarized(recording));
  t.equal(speakers, 3, 'three speakers');
  t.ok(der <= 0.25, `DER ${(der * 100).toFixed(1)}% (three speakers, short turns of the cards speaker)`);
});

t.test('two speakers in pink noise at 15 dB SNR', async (t) => {
  const recording = conversation(['reader', 'cmu', 'reader', 'cmu', 'reader', 'cmu', 'reader'], { snrDb: 15 });
  const { der, speakers } = scored(recording, await diarized(recording));
  t.equal(speakers, 2, 'still two speakers');
  t.ok(der <= 0.2, `DER ${(der * 100).toFixed(1)}%`);
});

t.test('one speaker gets one speaker', async (t) => {
  const recording = conversation(['reader', 'reader', 'reader']);
  const { speakers } = scored(recording, await diarized(recording));
  t.equal(speakers, 1);
});

t.test('speakers=N when the caller knows the count', async (t) => {
  const recording = conversation(['reader', 'cmu', 'reader', 'cmu', 'reader']);
  const { speakers } = scored(recording, await diarized(recording, '?language=en&diarize=1&speakers=2'));
  t.equal(speakers, 2);
});

t.test("OpenAI's diarized_json and Deepgram's diarize=true carry the speakers", async (t) => {
  const recording = conversation(['reader', 'cmu', 'reader', 'cmu', 'reader']);
  const form = new FormData();
  const wav = new Uint8Array(toWav(recording.samples));
  form.set('file', new Blob([wav], { type: 'audio/wav' }), 'talk.wav');
  form.set('model', 'gpt-4o-transcribe-diarize');
  form.set('response_format', 'diarized_json');
  form.set('chunking_strategy', 'auto');
  const openai = await fetch(`${url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}` }, body: form });
  t.equal(openai.status, 200);
  const body = (await openai.json()) as { segments: { type: string; speaker: string; start: number; end: number; text: string }[]; text: string };
  t.same([...new Set(body.segments.map((s) => s.speaker))].sort(), ['A', 'B'], 'speakers A and B');
  t.ok(body.segments.every((s) => s.type === 'transcript.text.segment' && s.text), 'segments as gpt-4o-transcribe-diarize gives them');
  const { der } = scored(recording, { segments: body.segments.map((s) => ({ ...s, speaker: `S${s.speaker.charCodeAt(0) - 64}` })) } as unknown as Task);
  t.ok(der <= 0.15, `DER ${(der * 100).toFixed(1)}%`);

  const deepgram = await fetch(`${url}/v1/listen?diarize=true&utterances=true`, { method: 'POST', headers: { authorization: `Token ${ALICE}`, 'content-type': 'audio/wav' }, body: wav });
  t.equal(deepgram.status, 200);
  const dg = (await deepgram.json()) as { results: { channels: { alternatives: { words: { speaker?: number }[] }[] }[]; utterances: { speaker?: number }[] } };
  const words = dg.results.channels[0]!.alternatives[0]!.words;
  t.same([...new Set(words.map((w) => w.speaker))].sort(), [0, 1], 'words carry speakers 0 and 1');
  t.ok(dg.results.utterances.every((u) => u.speaker === 0 || u.speaker === 1), 'and utterances too');
});

t.test('a live session with diarize=1: speakers frames label its finals, and agree with the batch labels on most of the speech', async (t) => {
  const recording = conversation(['reader', 'cmu', 'reader', 'cmu', 'reader', 'cmu', 'reader']);
  const batch = await diarized(recording);
  const s16 = new Uint8Array(recording.samples.length * 2);
  const view = new DataView(s16.buffer);
  recording.samples.forEach((v, i) => view.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(v * 32767))), true));
  const live = await streamAudio(s16, { url: url.replace(/^http/, 'ws'), token: ALICE, speed: 2, query: { diarize: '1', language: 'en' } });
  t.equal(live.closeCode, 1000);
  const frames = live.frames.map((f) => f.frame);
  const finals = frames.filter((f): f is FinalFrame => f.type === 'final' && Boolean(f.text));
  const labels: Record<string, string> = {};
  for (const f of frames) if (f.type === 'speakers') Object.assign(labels, f.labels);
  t.ok(finals.length >= 5, `${finals.length} finals`);
  const labelled = finals.filter((f) => labels[f.segId]);
  t.ok(labelled.length >= finals.length - 1, `${labelled.length} of ${finals.length} finals got a speaker`);
  const reference = batch.segments.filter((s) => s.speaker).map((s) => ({ speaker: s.speaker!, start: s.start, end: s.end }));
  const hypothesis = labelled.map((f) => ({ speaker: labels[f.segId]!, start: f.start, end: f.end }));
  const { confusion } = diarizationError(reference, hypothesis, 0);
  t.comment(`live against batch labels: ${((1 - confusion) * 100).toFixed(1)}% of the speech agrees; ${new Set(Object.values(labels)).size} live speakers`);
  t.ok(1 - confusion >= 0.85, 'live labels agree with the batch labels on at least 85% of the speech time');
  const stored = (await getJson<Task>(`${url}/v1/tasks/${live.id}?segments=1`, ALICE)).body;
  t.ok(stored.segments.filter((s) => s.speaker).length >= labelled.length - 1, 'the stored finals carry their speakers');
});
