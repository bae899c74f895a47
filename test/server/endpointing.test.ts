// Live finals on real speech with the endpointer (HUB_ENDPOINTING=words, asked
// for here): sentences separated by pauses of 0.3–0.5 s — shorter than the old
// 0.6 s rule — each become a final of their own soon after they end, instead
// of waiting for agreement or the 25 s cap. The real model judges the text
// (WER stated); latencies are printed by bench:stream, this only bounds the
// wait far above them (the cap is 25 s). Without WHISPER_TEST_MODEL and
// pocketsphinx-testdata it is skipped.
import t from 'tap';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import { ALICE, startTestHub } from '../helpers/hub.ts';
import { streamAudio } from '../helpers/stream-file.ts';
import { hasRealSpeech, speechSpans, tightRecording } from '../fixtures/real-speech.ts';
import { formatWer, wordErrorRate } from '../helpers/wer.ts';
import type { FinalFrame } from '../../client/protocol/types.ts';

const model = process.env.WHISPER_TEST_MODEL;
if (!model || !hasRealSpeech()) {
  t.pass('skipped: set WHISPER_TEST_MODEL to a ggml file and install pocketsphinx-testdata (.ci/run does both)');
  process.exit(0);
}

const { url } = await startTestHub(t, { WHISPER_MODEL: model, HUB_WORKERS: '1', HUB_ENDPOINTING: 'words' });

t.test('five sentences, pauses of 0.3–0.5 s: a final each, at its end, none waiting for the cap', async (t) => {
  const recording = tightRecording();
  const sentences = 5;
  const spans = speechSpans(recording).slice(0, sentences);
  const seconds = recording.utterances[sentences - 1]!.end + 0.4;
  const pcm = (await readAudioFile(recording.path, 's16le')).subarray(0, Math.round(seconds * 16_000) * 2);
  const r = await streamAudio(pcm, { url: url.replace('http', 'ws'), speed: 1, frameMs: 100, language: 'en', token: ALICE });
  const finals = r.frames.filter((f): f is { frame: FinalFrame; at: number } => f.frame.type === 'final' && (f.frame as FinalFrame).text !== '');
  const sentAt = (sec: number) => r.sent.find((x) => x.audioSec >= sec - 1e-6)?.at ?? NaN;
  let own = 0;
  for (const [i, span] of spans.entries()) {
    const final = finals.find((f) => f.frame.start < span.end && f.frame.end >= span.end - 0.5);
    t.ok(final, `sentence ${i + 1} has a final`);
    if (!final) continue;
    if (Math.abs(final.frame.end - span.end) <= 0.6 && final.frame.start >= (spans[i - 1]?.end ?? 0) - 0.3) own++;
    const wait = final.at - sentAt(span.end);
    t.ok(wait < 10_000, `sentence ${i + 1}: final ${Math.round(wait)} ms after it ended (the cap would be 25 s)`);
  }
  t.ok(own >= sentences - 1, `${own} of ${sentences} sentences are finals of their own, ending where the sentence does`);
  const reference = recording.utterances.slice(0, sentences).map((u) => u.text).join(' ');
  const wer = wordErrorRate(reference, finals.map((f) => f.frame.text).join(' '));
  t.comment(`live, words endpointing, tight pauses: ${formatWer(wer)}`);
  t.ok(wer.wer <= 0.15, `WER ${(wer.wer * 100).toFixed(1)}% ≤ 15%`);
});
