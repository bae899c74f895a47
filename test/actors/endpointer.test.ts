// The endpointer's rule on traces of a pause: what the last pass heard and
// how long the silence has lasted, as the live transcriber sees them.
import t from 'tap';
import { ENDPOINTING, endpoint, isComplete, isDangling } from '../../actors/endpointer.ts';

t.test('complete sentences and dangling ends', async (t) => {
  for (const text of ['I went home.', 'Is that so?', 'Stop!', 'He said "no."', 'They came (at last).']) t.ok(isComplete(text), text);
  for (const text of ['And Mr.', 'ask Dr.', 'I went', 'wait...', '', 'the end of the']) t.notOk(isComplete(text), text);
  for (const text of ['I went to the store and', 'because', 'the price of', 'well,', 'so -', 'I was thinking...']) t.ok(isDangling(text), text);
  for (const text of ['I went home.', 'a great day', 'Dashwood']) t.notOk(isDangling(text), text);
});

t.test('a pause ends the utterance when the words say the sentence is over, and not before', async (t) => {
  const maxMs = ENDPOINTING.defaultMs;
  // a trace: 10 ms steps of silence after speech stopped, with what the last pass heard at each
  const firstEnd = (heardAt: (ms: number) => string | undefined) => {
    for (let ms = 0; ms <= 3000; ms += 10) if (endpoint({ silenceMs: ms, heard: heardAt(ms), maxMs }) === 'end') return ms;
    return Infinity;
  };
  t.equal(firstEnd(() => 'and I went home.'), ENDPOINTING.sentenceEndMs, 'a sentence end and 0.24 s of silence: final');
  t.ok(firstEnd(() => 'and I went home.') < 300, 'within a 0.3 s pause between sentences');
  t.equal(firstEnd((ms) => (ms < 200 ? undefined : 'and I went home.')), ENDPOINTING.sentenceEndMs, 'not before the pass that heard it has come back');
  t.equal(firstEnd((ms) => (ms < 400 ? undefined : 'and I went home.')), 400, 'as soon as it comes back');
  t.equal(firstEnd(() => 'and I went to the'), maxMs + ENDPOINTING.danglingExtraMs, 'a pause after "the" waits longer: the speaker is thinking');
  t.equal(firstEnd(() => 'it was a great day'), maxMs, 'no sentence end: the session\'s endpointing');
  t.equal(firstEnd(() => undefined), maxMs, 'nothing heard yet: the session\'s endpointing');
  t.equal(firstEnd(() => 'Dashwood said Mr.'), maxMs, 'an abbreviation\'s period does not end a sentence');
  t.equal(endpoint({ silenceMs: 150, heard: 'Yes.', maxMs: 100 }), 'end', 'a session endpointing under the sentence rule wins');
  t.equal(endpoint({ silenceMs: 300, heard: 'I went to the store and', maxMs: 2000 }), 'wait', 'short pause mid-sentence: no final');
  t.equal(endpoint({ silenceMs: 300, heard: 'I went to the store.', maxMs: 2000 }), 'end', 'sentence end and a 0.3 s pause: final');
});
