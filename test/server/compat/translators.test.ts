// The pure halves of the compatible APIs, without a hub: deltas that only
// grow (GrowingText), OpenAI Realtime settings in both dialects, and
// Deepgram's parameters and messages.
import t from 'tap';
import { GrowingText } from '../../../server/compat/growing-text.ts';
import { ConfigError, DEFAULT_CONFIG, applyBeta, applyGa, fixedChanges, sessionOf, turnsOf } from '../../../server/compat/realtime-config.ts';
import { audioOf, endpointingOf, languageOf, listenParamsSchema, plain, promptOf, queryObject, results } from '../../../server/compat/deepgram-format.ts';

t.test('GrowingText: partials are said once two agree, finals at once, only whole words', async (t) => {
  const g = new GrowingText();
  t.equal(g.partial('the quick'), undefined, 'one partial alone says nothing');
  t.equal(g.partial('the quick brown'), 'the quick', 'two agree on "the quick"');
  t.equal(g.partial('the quick brow fox'), undefined, 'they disagree after it: nothing more');
  t.equal(g.final('the quick brown fox.'), ' brown fox.', 'the final says the rest');
  t.equal(g.partial('jumps'), undefined);
  t.equal(g.partial('jumps over'), ' jumps');
  t.equal(g.final('jumps over the dog'), ' over the dog');
  t.equal(g.text, 'the quick brown fox. jumps over the dog');
  t.ok(g.saidAll, 'the deltas add up to the text');
  const revised = new GrowingText();
  revised.partial('I scream');
  revised.partial('I scream for');
  t.equal(revised.final('Ice cream for all'), undefined, 'a final that revises what was said adds nothing it cannot');
  t.notOk(revised.saidAll);
  t.equal(revised.text, 'Ice cream for all', 'the text is the final\'s');
  const word = new GrowingText();
  word.final('hello');
  t.equal(word.final('es'), ' es', 'finals join with a space');
});

t.test('Realtime settings: both dialects, checked, echoed', async (t) => {
  const beta = applyBeta(DEFAULT_CONFIG, { input_audio_format: 'g711_ulaw', input_audio_transcription: { model: 'whisper-1', language: 'DE', prompt: 'Namen' }, turn_detection: null });
  t.match(beta, { format: 'mulaw', rate: 8000, language: 'de', prompt: 'Namen', turn: null });
  t.same(turnsOf(beta), { manual: true }, 'no turn detection: the client commits');
  t.match(sessionOf('s', beta, 'beta'), { input_audio_format: 'g711_ulaw', input_audio_transcription: { language: 'de' }, turn_detection: null });
  const ga = applyGa(DEFAULT_CONFIG, { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 48_000 }, turn_detection: { type: 'server_vad', threshold: 0.6, silence_duration_ms: 300 } } } });
  t.match(ga, { format: 's16le', rate: 48_000, turn: { type: 'server_vad', threshold: 0.6, silence_duration_ms: 300, prefix_padding_ms: 300 } });
  t.same(turnsOf(ga), { endSilenceMs: 300, threshold: 0.6 });
  t.match(sessionOf('s', ga, 'ga'), { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: 48_000 } } } });
  t.match(applyGa(DEFAULT_CONFIG, { audio: { input: { turn_detection: { type: 'semantic_vad', eagerness: 'high' } } } }).turn, { type: 'semantic_vad', silence_duration_ms: 300 }, 'semantic_vad: eagerness as silence');
  const bad = (run: () => unknown) => {
    try {
      run();
    } catch (error) {
      return error instanceof ConfigError ? error.param : 'not a ConfigError';
    }
    return 'no error';
  };
  t.equal(bad(() => applyBeta(DEFAULT_CONFIG, { input_audio_format: 'mp3' })), 'session.input_audio_format');
  t.equal(bad(() => applyGa(DEFAULT_CONFIG, { type: 'realtime' })), 'session.type');
  t.equal(bad(() => applyGa(DEFAULT_CONFIG, { audio: { input: { transcription: { language: 'klingon' } } } })), 'session.audio.input.transcription.language');
  t.equal(bad(() => applyGa(DEFAULT_CONFIG, { audio: { input: { turn_detection: { threshold: 2 } } } })), 'session.audio.input.turn_detection.threshold');
  t.equal(fixedChanges(DEFAULT_CONFIG, { ...DEFAULT_CONFIG, include: ['x'] }), undefined, 'include may change');
  t.equal(fixedChanges(DEFAULT_CONFIG, ga), 'rate', 'the rate may not change once audio flows');
});

t.test('Deepgram: parameters as the SDK sends them, and the messages made from hub text', async (t) => {
  const parse = (q: string) => listenParamsSchema.safeParse(queryObject(new URLSearchParams(q)));
  const p = parse('model=nova-3&encoding=linear16&sample_rate=48000&channels=2&language=en-US&interim_results=true&endpointing=10&keyterm=Dashwood&keyterm=Norland&tag=x');
  t.ok(p.success);
  const params = p.data!;
  t.same(audioOf(params), { format: 's16le', rate: 48_000, channels: 2 });
  t.equal(languageOf(params), 'en');
  t.equal(endpointingOf(params), 100, 'endpointing under the VAD\'s 100 ms floor is raised to it');
  t.equal(promptOf(params), 'Dashwood, Norland', 'key terms become the prompt');
  t.equal(endpointingOf(parse('endpointing=false').data!), false);
  t.same(audioOf(parse('').data!), { format: 'auto', rate: 16_000, channels: 1 }, 'no encoding: audio in a container');
  t.same(audioOf(parse('encoding=mulaw').data!), { format: 'mulaw', rate: 8000, channels: 1 });
  t.equal(languageOf(parse('language=multi').data!), undefined, 'multi: whisper detects');
  t.notOk(parse('encoding=linear16').success, 'linear16 needs sample_rate');
  t.notOk(parse('interim_results=yes').success);
  t.notOk(parse('utterance_end_ms=10').success);
  t.equal(plain('Hello, World! It\'s 5 o\'clock.'), 'hello world it\'s 5 o\'clock');
  const r = results({
    requestId: 'r',
    model: { name: 'm', version: '1', arch: 'whisper', uuid: 'u' },
    start: 1,
    end: 2.5,
    text: 'Hello, world.',
    words: [{ word: 'Hello,', start: 1, end: 1.4, p: 0.9 }, { word: 'world.', start: 1.5, end: 2, p: 0.7 }],
    isFinal: true,
    speechFinal: true,
    fromFinalize: false,
    punctuate: true,
  });
  t.match(r, { type: 'Results', start: 1, duration: 1.5, is_final: true, speech_final: true, channel: { alternatives: [{ transcript: 'Hello, world.', confidence: 0.8, words: [{ word: 'hello', punctuated_word: 'Hello,', confidence: 0.9 }, { word: 'world' }] }] } });
});
