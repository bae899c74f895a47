// The real-speech half of bench:stream: live finals against the end of
// speech, on the real model, for both endpointing rules in one run — the old
// fixed silence (HUB_ENDPOINTING=silence: 600 ms of silence end an
// utterance) and the endpointer that listens to the words (words, the
// default), at its default endpointing and at a shorter one (300 ms, a
// session's `endpointing=`). Two recordings streamed in real time on one engine worker: the
// long one (pauses 0.25–1.5 s) and a tight one (pauses 0.3–0.5 s only, as
// people leave between sentences). Truth is where each sentence's speech
// stops in the audio (its clip's silent edges measured off). Per rule and
// recording: final after the end of speech p50/p95 (the final holding the
// sentence's last words, from the moment that audio was sent), first partial
// p95, live WER, sentences whose final came more than 2 s late (waiting for
// agreement or the 25 s cap), and finals that end inside a sentence (the
// endpointer's decisions against the known boundaries).
// Goals (issue 17): final p95 ≤ 500 ms; WER no worse than the fixed rule + 0.5
// points; no sentence followed by a pause of 0.3 s or more waits for the cap.
// Live text varies with timing (which passes run when): with `rounds` > 1 each
// recording is streamed that many times per rule, latencies pooled, WER as
// the mean and the range.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../server/config.ts';
import { startHub } from '../../server/hub.ts';
import { streamAudio } from '../helpers/stream-file.ts';
import { longRecording, speechSpans, tightRecording, type LongRecording } from '../fixtures/real-speech.ts';
import { formatWer, wordErrorRate, type WerResult } from '../helpers/wer.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';

interface Measured {
  wer: WerResult;
  finals: number[];
  firsts: number[];
  late: number;
  missed: number;
  /** finals that end inside a sentence's speech (over 0.3 s from both its edges): the endpointer cut it */
  cuts: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

async function measure(url: string, recording: LongRecording, query: Record<string, string>): Promise<Measured> {
  const spans = speechSpans(recording);
  const pcm = await readAudioFile(recording.path, 's16le');
  const r = await streamAudio(pcm, { url: url.replace('http', 'ws'), speed: 1, frameMs: 100, language: 'en', query });
  const sentAt = (sec: number) => r.sent.find((x) => x.audioSec >= sec - 1e-6)?.at ?? NaN;
  type Text = { frame: { type: string; start: number; end: number; text: string }; at: number };
  const texts = r.frames.filter((f) => f.frame.type === 'partial' || f.frame.type === 'final') as Text[];
  const finalTexts = texts.filter((f) => f.frame.type === 'final' && f.frame.text);
  const cuts = finalTexts.filter((f) => spans.some((s) => f.frame.end > s.start + 0.3 && f.frame.end < s.end - 0.3)).length;
  const m: Measured = { wer: wordErrorRate(recording.text, finalTexts.map((f) => f.frame.text).join(' ')), finals: [], firsts: [], late: 0, missed: 0, cuts };
  for (const { start, end } of spans) {
    const first = texts.find((f) => f.frame.start < end && f.frame.end > start);
    const final = finalTexts.find((f) => f.frame.start < end && f.frame.end >= end - 0.5);
    if (first) m.firsts.push(first.at - sentAt(start));
    if (!final) {
      m.missed++;
      continue;
    }
    const latency = final.at - sentAt(end);
    m.finals.push(latency);
    if (latency > 2000) m.late++;
  }
  return m;
}

/** A shorter `endpointing` than the default, measured beside it. */
const SHORT_ENDPOINTING_MS = 300;

/** Runs the rules over both recordings (`rounds` times each) and prints the comparison. */
export async function compareEndpointing(model: string, rounds = 1): Promise<void> {
  const recordings = [
    ['long (pauses 0.25–1.5 s)', longRecording()],
    ['tight (pauses 0.3–0.5 s)', tightRecording()],
  ] as const;
  console.log(`bench:stream endpointing  real speech in real time, ${model.split('/').pop()}, one engine worker, Silero VAD; latencies from the moment the audio was sent`);
  // The hub's rules, and the words rule with a shorter per-session endpointing (its default is measured against it).
  const variants = [
    { name: 'fixed 600 ms', rule: 'silence', query: {} },
    { name: 'words', rule: 'words', query: {} },
    { name: `words ${SHORT_ENDPOINTING_MS} ms`, rule: 'words', query: { endpointing: String(SHORT_ENDPOINTING_MS) } },
  ] as const;
  const results: { name: string; label: string; m: Measured[] }[] = [];
  for (const rule of ['silence', 'words'] as const) {
    const dir = await mkdtemp(join(tmpdir(), 'bench-endpointing-'));
    const hub = await startHub(loadConfig({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: model, HUB_LOG_LEVEL: 'warn', HUB_WORKERS: '1', HUB_ENDPOINTING: rule }, []));
    await hub.context.engine.ready();
    try {
      for (const variant of variants.filter((v) => v.rule === rule)) {
        for (const [label, recording] of recordings) {
          const m: Measured[] = [];
          for (let r = 0; r < rounds; r++) m.push(await measure(hub.url, recording, variant.query));
          results.push({ name: variant.name, label, m });
        }
      }
    } finally {
      await hub.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const ms = (x: number) => `${Math.round(x)}`.padStart(5);
  const meanWer = (ms: Measured[]) => ms.reduce((s, m) => s + m.wer.wer, 0) / ms.length;
  for (const { name, label, m } of results) {
    const baseline = results.find((r) => r.name === variants[0].name && r.label === label)!.m;
    const points = ((meanWer(m) - meanWer(baseline)) * 100).toFixed(1);
    const finals = m.flatMap((x) => x.finals);
    const wers = m.map((x) => x.wer.wer * 100);
    const wer = m.length === 1 ? formatWer(m[0]!.wer) : `WER ${(meanWer(m) * 100).toFixed(1)}% (${Math.min(...wers).toFixed(1)}–${Math.max(...wers).toFixed(1)} in ${m.length} rounds)`;
    console.log(
      `${name.padEnd(14)} ${label.padEnd(26)} final after speech end p50 ${ms(pct(finals, 50))} p95 ${ms(pct(finals, 95))} ms   ` +
        `first partial p95 ${ms(pct(m.flatMap((x) => x.firsts), 95))} ms   later than 2 s ${m.reduce((s, x) => s + x.late, 0)}   missed ${m.reduce((s, x) => s + x.missed, 0)}   cut inside a sentence ${m.reduce((s, x) => s + x.cuts, 0)}   ${wer}${name !== variants[0].name ? ` (${points} points vs fixed)` : ''}`,
    );
  }
}
