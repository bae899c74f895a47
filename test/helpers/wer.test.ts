// The WER module the real-speech tests and bench:wer judge text with.
import t from 'tap';
import { normalize, pooledWer, wordErrorRate } from '../helpers/wer.ts';

t.test('normalisation: case, punctuation, abbreviations, contractions, numbers', async (t) => {
  t.same(normalize('And Mr. John Dashwood had then leisure.'), ['and', 'mister', 'john', 'dashwood', 'had', 'then', 'leisure']);
  t.same(normalize("It's not what we won't do, it's what they can't."), ['it', 'is', 'not', 'what', 'we', 'will', 'not', 'do', 'it', 'is', 'what', 'they', 'can', 'not']);
  t.same(normalize('twenty one cards, three hundred and five, 1,000 and 7'), ['21', 'cards', '305', '1000', 'and', '7']);
  t.same(normalize('five five eight of spades, ninety nine, one thousand two hundred'), ['5', '5', '8', 'of', 'spades', '99', '1200']);
  t.same(normalize('ill-disposed — “quoted” John’s'), ['ill', 'disposed', 'quoted', 'johns']);
});

t.test('substitutions, deletions and insertions are counted along the best alignment', async (t) => {
  t.match(wordErrorRate('he was not an ill disposed young man', 'He was not an old-sposed young man.'), { words: 8, substitutions: 2, deletions: 0, insertions: 0 });
  t.match(wordErrorRate('a b c d', 'a c d e f'), { deletions: 1, insertions: 2, substitutions: 0, wer: 0.75 });
  t.equal(wordErrorRate('', '').wer, 0);
  t.equal(wordErrorRate('', 'noise').wer, 1);
  t.equal(pooledWer([{ reference: 'a b', hypothesis: 'a b' }, { reference: 'c d', hypothesis: 'x d' }]).wer, 0.25, 'pooled over words, not averaged');
});
