// The live transcriber's policy with an engine double: utterances from the
// VAD, partials as audio grows, LocalAgreement-2 commits, finals at the end.
import t from 'tap';
import { concatArrays } from '../../native/audio/pcm.ts';
import { LiveTranscriber, type LiveEvent, type TurnOptions } from '../../actors/live-transcriber.ts';
import { dropOverlap } from '../../actors/live-text.ts';
import { ENDPOINTING } from '../../actors/endpointer.ts';
import { Scheduler } from '../../actors/scheduler.ts';
import type { EngineJob, EngineResult } from '../../native/engine/types.ts';
import { EnergyVad, type VadEvent, type VoiceDetector } from '../../native/audio/vad.ts';

const SR = 16_000;

/**
 * Stands for the engine: "hears" one word per 2 s of audio, named by its
 * absolute position in the stream (so re-transcribing a shifted window gives
 * the same words), and the word still being spoken as a last, growing segment.
 */
function wordEngine() {
  const passes: number[] = [];
  let streamOffset = 0; // set by the test: where the window starts in the stream
  return {
    passes,
    setOffset: (samples: number) => (streamOffset = samples),
    slots: 1,
    async run(job: EngineJob): Promise<EngineResult> {
      const samples = 'samples' in job ? job.samples : new Float32Array(0);
      const sec = samples.length / SR;
      passes.push(sec);
      const base = streamOffset / SR;
      const segments = [];
      for (let s = 0; s < sec; s += 2) segments.push({ start: s, end: Math.min(sec, s + 2), text: `w${100 + Math.floor((base + s) / 2)}` }); // w99, w100, ...: no sign in a word
      return { segments, language: 'en', engineMs: 1, audioSec: sec };
    },
  };
}

const voice = (seconds: number) => Float32Array.from({ length: seconds * SR }, (_, i) => 0.3 * Math.sin(i / 3));
const quiet = (seconds: number) => new Float32Array(seconds * SR);
const concat = (...parts: Float32Array[]) => concatArrays(parts);

async function feed(live: LiveTranscriber, audio: Float32Array, stepSec = 0.1) {
  for (let at = 0; at < audio.length; at += stepSec * SR) {
    live.push(audio.subarray(at, at + stepSec * SR));
    await new Promise((r) => setTimeout(r, 1));
  }
}

t.test('partials grow, agreed segments become final and leave the window, the end makes the rest final', async (t) => {
  const engine = wordEngine();
  const events: LiveEvent[] = [];
  const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-1', userId: 'u', language: 'en' }, (e) => {
    events.push(e);
    if (e.type === 'FINAL') engine.setOffset(Math.round(e.end * SR) - 0.3 * SR); // the window now starts at the cut (minus pre-roll)
  });
  engine.setOffset(-0.3 * SR);
  await feed(live, concat(quiet(1), voice(9), quiet(1.5)));
  live.flush();
  while (!events.some((e) => e.type === 'FLUSHED')) await new Promise((r) => setTimeout(r, 5));
  const finals = events.filter((e) => e.type === 'FINAL') as Extract<LiveEvent, { type: 'FINAL' }>[];
  const partials = events.filter((e) => e.type === 'PARTIAL') as Extract<LiveEvent, { type: 'PARTIAL' }>[];
  t.ok(partials.length >= 3, `${partials.length} partials`);
  t.ok(finals.length >= 2, `${finals.length} finals: some committed while speaking, the rest at the end`);
  const ids = new Set<string>();
  for (const e of events) {
    if (e.type !== 'PARTIAL' && e.type !== 'FINAL') continue;
    t.notOk(ids.has(e.segId) && e.type === 'PARTIAL' && finals.some((f) => f.segId === e.segId && events.indexOf(f) < events.indexOf(e)), 'no partial after its final');
    ids.add(e.segId);
  }
  for (let i = 1; i < finals.length; i++) t.ok(finals[i]!.start >= finals[i - 1]!.end - 1e-3, 'finals in order, not overlapping');
  t.ok(Math.max(...engine.passes) < 9, `windows stay short (longest pass ${Math.max(...engine.passes).toFixed(1)} s of 9 s spoken)`);
  t.ok(finals[0]!.start >= 0.6 && finals[0]!.start <= 1.0, `speech starts near 1 s (${finals[0]!.start})`);
});

t.test('silence never reaches the engine', async (t) => {
  const engine = wordEngine();
  const events: LiveEvent[] = [];
  const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-2', userId: 'u', language: 'en' }, (e) => events.push(e));
  await feed(live, quiet(5));
  live.flush();
  while (!events.some((e) => e.type === 'FLUSHED')) await new Promise((r) => setTimeout(r, 5));
  t.same(engine.passes, []);
  t.same(events, [{ type: 'FLUSHED' }]);
});

/** Stands for a VAD in another process: the energy detector's answers, each after a random delay. */
function slowDetector(): VoiceDetector & { closed: boolean } {
  const inner = new EnergyVad({ endSilenceMs: ENDPOINTING.pauseMs }); // as the transcriber's own default detector
  let last = Promise.resolve();
  let seed = 3;
  const delay = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 40) + 1;
  return {
    closed: false,
    push(samples) {
      const events = inner.push(samples);
      const answer = last.then(() => new Promise<VadEvent[]>((r) => setTimeout(() => r(events), delay())));
      last = answer.then(() => {});
      return answer;
    },
    close() {
      this.closed = true;
    },
  };
}

t.test('an asynchronous VAD gives the same utterances, in order, and finalize and flush wait for its answers', async (t) => {
  const run = async (detector?: VoiceDetector) => {
    const engine = wordEngine();
    const events: LiveEvent[] = [];
    const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-3', userId: 'u', language: 'en', ...(detector ? { detector } : {}) }, (e) => events.push(e));
    engine.setOffset(-0.3 * SR);
    // pushed all at once, no waiting: answers arrive while later audio is already queued
    const audio = concat(quiet(1), voice(2), quiet(1), voice(2), quiet(0.5));
    for (let at = 0; at < audio.length; at += 0.1 * SR) live.push(audio.subarray(at, at + 0.1 * SR));
    live.flush();
    while (!events.some((e) => e.type === 'FLUSHED')) await new Promise((r) => setTimeout(r, 5));
    live.stop();
    // Utterances: finals that touch are one (passes run at different moments here, so commits differ).
    const spans: [number, number][] = [];
    for (const e of events) {
      if (e.type !== 'FINAL') continue;
      const last = spans.at(-1);
      if (last && Math.abs(last[1] - e.start) < 1e-6) last[1] = e.end;
      else spans.push([e.start, e.end]);
    }
    return spans;
  };
  const detector = slowDetector();
  const slow = await run(detector);
  const sync = await run();
  const show = (spans: [number, number][]) => spans.map(([a, b]) => `${a.toFixed(2)}-${b.toFixed(2)}`).join(', ');
  t.equal(slow.length, 2, `two utterances: ${show(slow)}`);
  // (where an utterance's final ends depends on whether the pass at its pause heard it all, which timing decides: within the pause)
  t.ok(slow.length === sync.length && slow.every(([a, b], i) => a === sync[i]![0] && Math.abs(b - sync[i]![1]) <= 0.6), `the same utterances as with the synchronous detector (${show(sync)})`);
  t.ok(detector.closed, 'the detector is closed when the transcriber stops');
});

t.test('words a later pass hears again after a commit are dropped once', async (t) => {
  t.equal(dropOverlap('have been made amiable himself. And then', ['he', 'might', 'even', 'have', 'been', 'made', 'amiable', 'himself.']), 'And then');
  t.equal(dropOverlap('Himself, and then', ['amiable', 'himself.']), 'and then', 'case and punctuation aside');
  t.equal(dropOverlap('and then', ['amiable', 'himself.']), 'and then', 'nothing repeated, nothing dropped');
  t.equal(dropOverlap('made amiable', ['made', 'amiable']), '', 'all of it repeated');
  t.equal(dropOverlap('anything', []), 'anything', 'no commit yet');
});

/** Runs `script` against a transcriber with the word engine; the events it said, once flushed. */
async function speechRun(options: { turns?: TurnOptions }, script: (live: LiveTranscriber) => Promise<void>): Promise<LiveEvent[]> {
  const engine = wordEngine();
  const events: LiveEvent[] = [];
  const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-2', userId: 'u', language: 'en', ...options }, (e) => events.push(e));
  await script(live);
  live.flush();
  while (!events.some((e) => e.type === 'FLUSHED')) await new Promise((r) => setTimeout(r, 5));
  return events;
}
const speech = (events: LiveEvent[]) => events.flatMap((e) => (e.type === 'SPEECH' ? [e.speech] : []));

t.test('speech events: each utterance started, stopped (with its cause), then done after its last final', async (t) => {
  const events = await speechRun({}, (live) => feed(live, concat(quiet(0.5), voice(2), quiet(1.5), voice(2), quiet(1))));
  const s = speech(events);
  t.same(s.map((e) => e.kind), ['started', 'stopped', 'done', 'started', 'stopped', 'done']);
  t.ok(s.every((e) => e.kind !== 'stopped' || e.cause === 'silence'), 'stopped by silence');
  const [started, stopped] = s as [Extract<(typeof s)[0], { kind: 'started' }>, Extract<(typeof s)[0], { kind: 'stopped' }>];
  t.ok(started.at >= 0.1 && started.at <= 0.5 && stopped.at >= 2.4 && stopped.at <= 3.2, `first utterance ${started.at}–${stopped.at} s`);
  const doneAt = events.findIndex((e) => e.type === 'SPEECH' && e.speech.kind === 'done');
  const finalAt = events.findIndex((e) => e.type === 'FINAL');
  t.ok(finalAt >= 0 && finalAt < doneAt, 'done follows the final');
});

t.test('manual turns: pauses do not end the utterance, finalize does; speech after a finalize opens the next one', async (t) => {
  const events = await speechRun({ turns: { manual: true } }, async (live) => {
    await feed(live, concat(voice(1.5), quiet(1.5), voice(1.5)));
    live.finalize();
    await feed(live, voice(1.5)); // the speaker goes on: the VAD is still in speech
  });
  const s = speech(events);
  t.same(s.map((e) => e.kind), ['started', 'stopped', 'finalized', 'started', 'done', 'stopped', 'done'], JSON.stringify(s.map((e) => e.kind)));
  t.match(s[1], { kind: 'stopped', cause: 'finalize' });
  t.match(s[2], { kind: 'finalized', segId: s[0]!.kind === 'started' ? s[0]!.segId : '' });
  const finals = events.filter((e) => e.type === 'FINAL') as Extract<LiveEvent, { type: 'FINAL' }>[];
  t.ok(finals.at(-1)!.end > 5.5, 'the speech after the finalize was transcribed too');
});

t.test('clear drops the open utterance (what is still spoken after it is a new one); a finalize with nothing open says so', async (t) => {
  const events = await speechRun({}, async (live) => {
    await feed(live, concat(quiet(0.5), voice(1.2)));
    live.clear();
    await feed(live, quiet(1));
    live.finalize();
  });
  const s = speech(events);
  t.match(s.slice(0, 3), [{ kind: 'started' }, { kind: 'stopped', cause: 'clear' }, { kind: 'done' }]);
  const cleared = s[0]!.kind === 'started' ? s[0]!.segId : '';
  t.notOk(events.some((e) => e.type === 'FINAL' && e.segId === cleared && e.text), 'no text from the cleared audio');
  t.match(s.at(-1), { kind: 'finalized', segId: null }, 'a finalize with nothing open');
});

/**
 * Stands for the engine on sentences: each voiced run of the window is one
 * segment of words (one per 0.5 s, dated where they are), ending with `end`
 * ('.' for a sentence, ' and' for a dangling one) when the run is followed by
 * silence in the window, as whisper punctuates what it has heard.
 */
function sentenceEngine(end: string) {
  let passes = 0;
  return {
    slots: 1,
    get passes() {
      return passes;
    },
    async run(job: EngineJob): Promise<EngineResult> {
      passes++;
      const samples = 'samples' in job ? job.samples : new Float32Array(0);
      const frame = 320;
      const voiced: boolean[] = [];
      for (let at = 0; at + frame <= samples.length; at += frame) voiced.push(Math.abs(samples[at + 7]!) > 0.01 || Math.abs(samples[at + 160]!) > 0.01);
      const runs: [number, number][] = [];
      voiced.forEach((v, i) => {
        if (!v) return;
        const last = runs.at(-1);
        if (last && last[1] >= i - 3) last[1] = i + 1;
        else runs.push([i, i + 1]);
      });
      const segments = runs.map(([a, b]) => {
        const start = (a * frame) / SR;
        const stop = (b * frame) / SR;
        const n = Math.max(1, Math.round((stop - start) / 0.5));
        const words = Array.from({ length: n }, (_, i) => ({ word: `n${n}w${i}`, start: start + ((stop - start) * i) / n, end: start + ((stop - start) * (i + 1)) / n, p: 0.9 }));
        const heardEnd = b < voiced.length - 5; // silence follows in this window
        if (heardEnd) words[n - 1]!.word += end.trim() === '.' ? '.' : '';
        if (heardEnd && end.trim() !== '.') words.push({ word: end.trim(), start: stop, end: stop, p: 0.9 });
        return { start, end: stop, text: words.map((w) => w.word).join(' '), words };
      });
      return { segments, language: 'en', engineMs: 1, audioSec: samples.length / SR };
    },
  };
}

async function sentences(end: string) {
  const engine = sentenceEngine(end);
  const events: LiveEvent[] = [];
  const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-4', userId: 'u', language: 'en' }, (e) => events.push(e));
  // speech, a 0.3 s pause (shorter than any silence rule), speech, then quiet
  await feed(live, concat(quiet(0.6), voice(2), quiet(0.3), voice(1.5), quiet(1.2)), 0.02);
  live.flush();
  while (!events.some((e) => e.type === 'FLUSHED')) await new Promise((r) => setTimeout(r, 5));
  return { events, finals: events.filter((e): e is Extract<LiveEvent, { type: 'FINAL' }> => e.type === 'FINAL' && e.text !== '') };
}

t.test('the endpointer: a sentence end and a 0.3 s pause make a final there; a dangling word does not', async (t) => {
  const complete = await sentences('.');
  t.equal(complete.finals.length, 2, `two finals: ${complete.finals.map((f) => `"${f.text}" ${f.start}-${f.end}`).join(', ')}`);
  t.match(complete.finals[0]!.text, /^n4w0 n4w1 n4w2 n4w3\.$/, 'the first sentence alone');
  t.ok(complete.finals[0]!.end <= 2.9, `it ends at the pause (${complete.finals[0]!.end})`);
  const kinds = complete.events.flatMap((e) => (e.type === 'SPEECH' ? [e.speech.kind] : []));
  t.same(kinds, ['started', 'stopped', 'done', 'started', 'stopped', 'done'], 'two utterances, each started, stopped and done');
  const dangling = await sentences(' and');
  // (LocalAgreement may still make its first part final: two passes agree on it; the utterance goes on)
  const danglingKinds = dangling.events.flatMap((e) => (e.type === 'SPEECH' ? [e.speech.kind] : []));
  t.same(danglingKinds, ['started', 'stopped', 'done'], 'one utterance: the pause after "and" did not end it');
  t.match(dangling.finals.map((f) => f.text).join(' '), /n4w3 and n3w0/, 'all of it said');
});

/**
 * Stands for the engine with passes that end when the test says: each hears
 * "Hello there." over its audio, and a stopped pass fails at once.
 */
function heldEngine() {
  const passes: { sec: number; finish: () => void }[] = [];
  return {
    slots: 1,
    passes,
    run(job: EngineJob, signal?: AbortSignal): Promise<EngineResult> {
      const sec = ('samples' in job ? job.samples.length : 0) / SR;
      return new Promise((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('the run was aborted')));
        passes.push({ sec, finish: () => resolve({ segments: [{ start: 0, end: Math.min(sec, 1.5), text: 'Hello there.' }], language: 'en', engineMs: 1, audioSec: sec }) });
      });
    },
  };
}

for (const how of ['finalize', 'flush'] as const) {
  t.test(`a ${how} while a pass that hears all the speech runs: that pass is the final, no pass more`, async (t) => {
    const engine = heldEngine();
    const events: LiveEvent[] = [];
    const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-5', userId: 'u', language: 'en' }, (e) => events.push(e));
    await feed(live, concat(quiet(0.6), voice(1.5), quiet(0.3)), 0.02);
    // the pause's pass (it hears past where the speech stopped) is running
    while (!engine.passes.some((p) => p.sec >= 1.6)) await new Promise((r) => setTimeout(r, 5));
    const passes = engine.passes.length;
    live[how]();
    await new Promise((r) => setTimeout(r, 20));
    engine.passes.at(-1)!.finish();
    for (let waited = 0; waited < 1000 && !events.some((e) => e.type === 'FINAL'); waited += 5) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    t.equal(engine.passes.length, passes, 'no pass after the one running');
    t.same(events.filter((e) => e.type === 'FINAL').map((e) => (e as { text: string }).text), ['Hello there.']);
    const kinds = events.flatMap((e) => (e.type === 'SPEECH' ? [e.speech.kind] : []));
    t.same(kinds, ['started', 'stopped', ...(how === 'finalize' ? ['finalized'] : []), 'done'], JSON.stringify(kinds));
    if (how === 'flush') t.ok(events.some((e) => e.type === 'FLUSHED'), 'flushed after it');
    live.stop();
  });
}

/** Stands for Silero, whose end of speech lags the voice: says `start` and `end` where the test puts them. */
function scriptedDetector(script: { after: number; event: VadEvent }[]): VoiceDetector {
  let position = 0;
  const pending = [...script];
  return {
    push(samples) {
      position += samples.length;
      const due: VadEvent[] = [];
      while (pending.length && pending[0]!.after <= position) due.push(pending.shift()!.event);
      return due;
    },
    close() {},
  };
}

/** Stands for the engine on one sentence: `text` over any audio, at once. */
function helloEngine(text = 'Hello there.') {
  const passes: number[] = [];
  return {
    slots: 1,
    passes,
    async run(job: EngineJob): Promise<EngineResult> {
      const sec = ('samples' in job ? job.samples.length : 0) / SR;
      passes.push(sec);
      return { segments: [{ start: 0, end: Math.min(sec, 1.5), text }], language: 'en', engineMs: 1, audioSec: sec };
    },
  };
}

t.test('a pass that missed only quiet audio before the VAD reported the pause, and ended a sentence, hears it: no pass for the pause', async (t) => {
  // Voice 0.6–2.1 s; the detector says the speech ended at 2.4 s (its lag) and reports it 0.12 s later.
  const run = async (afterVoice: Float32Array, text?: string) => {
    const engine = helloEngine(text);
    const events: LiveEvent[] = [];
    const at = (sec: number) => Math.round(sec * SR);
    const detector = scriptedDetector([
      { after: at(0.64), event: { type: 'start', at: at(0.6) } },
      { after: at(2.52), event: { type: 'end', at: at(2.5), speechEnd: at(2.4) } },
    ]);
    const live = new LiveTranscriber({ scheduler: new Scheduler(1), engine, taskId: 'task-6', userId: 'u', language: 'en', detector }, (e) => events.push(e));
    await feed(live, concat(quiet(0.6), voice(1.5), afterVoice, quiet(0.6)), 0.02);
    live.flush();
    while (!events.some((e) => e.type === 'FLUSHED')) await new Promise((r) => setTimeout(r, 5));
    // the window starts 0.3 s (the pre-roll) before the speech: a pass over `sec` heard up to 0.3 + sec
    return { events, heardTo: engine.passes.map((sec) => Math.round((0.3 + sec) * 100) / 100) };
  };
  const silent = await run(quiet(0.3));
  t.same(silent.heardTo, [0.8, 1.3, 1.8, 2.3], 'the last pass heard up to 2.3 s (before the reported end + 0.1 s); none more');
  t.same(silent.events.filter((e) => e.type === 'FINAL').map((e) => (e as { text: string }).text), ['Hello there.'], 'its text is the final');
  // The same, but the voice goes on softly (20 dB down) until the detector's end: that pass did not hear it all.
  const soft = await run(voice(0.3).map((x) => x / 10));
  t.ok(soft.heardTo.some((to) => to >= 2.5), `a pass for the pause (heard to ${soft.heardTo.join(', ')} s)`);
  // Missed silence, but the words do not end a sentence: the pause's own pass tells how they end (whisper puts a
  // period once it hears the silence after the last word).
  const open = await run(quiet(0.3), 'Hello there');
  t.ok(open.heardTo.some((to) => to >= 2.5), `a pass for the pause (heard to ${open.heardTo.join(', ')} s)`);
});
