// bench:diarize — what telling speakers apart costs, and how well it does, on
// a 10-minute conversation of real voices (test/fixtures/speaker-recordings.ts:
// three readers of pocketsphinx-testdata taking turns, over and over — the
// same 11 turns repeated, in pink noise so no repeat embeds as before; the
// DER of the real-voice tests, on fresh material, is the better guide). The
// speech windows are the reference turns cut as the hub cuts segments (~1.5 s):
// this measures the embedder and the clustering, not whisper's segmentation.
// Printed: the voice encoder's real-time factor on 1 and 2 threads, the
// clustering's time, and the DER with the count found and with the count
// given, for the hub's agglomerative clustering and for spectral clustering
// with an eigengap count — beside the baseline of the same run: whisper (tiny.en, the real
// model) transcribing the first minute, so diarization's cost reads against
// transcription's. Needs WHISPER_TEST_MODEL and WHISPER_TEST_VOICE_MODEL
// (.ci/run makes both). Options: --minutes N (default 10)
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { conversation, hasSpeakerData } from '../fixtures/speaker-recordings.ts';
import { diarizationError } from '../helpers/der.ts';
import { EMBEDDING_SIZE, diarize, embedWindows } from '../../native/diarize/speaker-embedder.ts';
import { spectralSpeakers } from '../../native/diarize/spectral.ts';
import { WINDOW_SEC } from '../../native/diarize/windows.ts';
import { EngineService } from '../../native/engine/engine-service.ts';

const { values } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } });
const model = process.env.WHISPER_TEST_MODEL;
const voiceModel = process.env.WHISPER_TEST_VOICE_MODEL;
if (!model || !voiceModel || !hasSpeakerData()) throw new Error('bench:diarize needs WHISPER_TEST_MODEL, WHISPER_TEST_VOICE_MODEL and pocketsphinx-testdata (.ci/run makes them)');

// Turns in a varying order, so that no speaker always follows the same one.
const pattern = ['reader', 'cmu', 'cards', 'reader', 'cards', 'cmu', 'reader', 'reader', 'cmu'] as const;
const once = conversation([...pattern]).samples.length / 16_000;
const rounds = Math.ceil((Number(values.minutes) * 60) / once);
// Pink noise at 20 dB SNR: the recordings repeat, and without it a repeated turn would embed exactly as before.
const recording = conversation(Array.from({ length: rounds }, () => pattern).flat(), { snrDb: 20 });
const audioSec = recording.samples.length / 16_000;
const dir = await mkdtemp(join(tmpdir(), 'bench-diarize-'));
const pcmPath = join(dir, 'talk.pcm');
await writeFile(pcmPath, new Uint8Array(recording.samples.buffer));
const windows = recording.turns.flatMap((turn) => {
  const n = Math.max(1, Math.floor((turn.end - turn.start) / WINDOW_SEC));
  return Array.from({ length: n }, (_, i): [number, number] => [turn.start + ((turn.end - turn.start) * i) / n, turn.start + ((turn.end - turn.start) * (i + 1)) / n]);
});
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

console.log(`bench:diarize  ${(audioSec / 60).toFixed(1)} min of three real voices, ${recording.turns.length} turns, ${windows.length} windows of ~${WINDOW_SEC} s`);
for (const threads of [1, 2]) {
  const found = await diarize({ pcmPath, windows }, voiceModel, threads);
  const given = await diarize({ pcmPath, windows, speakers: 3 }, voiceModel, threads);
  const hyp = (labels: number[]) => windows.map(([start, end], i) => ({ speaker: `S${labels[i]! + 1}`, start, end }));
  const [a, b] = [diarizationError(recording.turns, hyp(found.labels)), diarizationError(recording.turns, hyp(given.labels))];
  console.log(
    `${threads} thread${threads > 1 ? 's' : ' '}  embedder ${(found.embedMs / 1000).toFixed(2)} s (real-time factor ${(found.embedMs / 1000 / audioSec).toFixed(4)}), clustering ${found.clusterMs.toFixed(0)} ms (${(found.clusterMs / 1000 / audioSec).toFixed(5)})  ` +
      `DER ${pct(a.der)} with ${new Set(found.labels).size} speakers found (confusion ${pct(a.confusion)}), ${pct(b.der)} with speakers=3`,
  );
}

// The clustering the issue asked to compare: spectral, the count from the eigengap (same embeddings).
const { embeddings } = await embedWindows({ pcmPath, windows }, voiceModel, 2);
const hypOf = (labels: number[]) => windows.map(([start, end], i) => ({ speaker: `S${labels[i]! + 1}`, start, end }));
for (const [name, run] of [['spectral, count estimated', () => spectralSpeakers(embeddings, EMBEDDING_SIZE)], ['spectral, speakers=3', () => spectralSpeakers(embeddings, EMBEDDING_SIZE, 3)]] as const) {
  const started = performance.now();
  const labels = run();
  const ms = performance.now() - started;
  const error = diarizationError(recording.turns, hypOf(labels));
  console.log(`${name}: ${ms.toFixed(0)} ms, DER ${pct(error.der)} with ${new Set(labels).size} speakers (confusion ${pct(error.confusion)})`);
}

// The baseline: whisper on the first minute of the same recording.
const engine = new EngineService({ specs: [model], dataDir: dir, workers: 1, slotsPerWorker: 1, threadsPerJob: 2, engine: 'auto', log: () => {} });
await engine.ready();
const minute = recording.samples.subarray(0, 60 * 16_000);
const started = performance.now();
for (let at = 0; at < minute.length; at += 30 * 16_000) await engine.run({ samples: minute.subarray(at, at + 30 * 16_000), language: 'en' }, new AbortController().signal);
const whisperMs = performance.now() - started;
console.log(`baseline: whisper (tiny.en, 2 threads) transcribes that audio at a real-time factor of ${(whisperMs / 1000 / 60).toFixed(4)} (the first minute, ${(whisperMs / 1000).toFixed(2)} s)`);
await engine.close();
await rm(dir, { recursive: true, force: true });
process.exit(0);
