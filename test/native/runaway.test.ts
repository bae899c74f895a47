// The decoder-loop detector: loops and impossible word rates are caught,
// ordinary speech (including honest repetitions) is not.
import t from 'tap';
import { isRunaway } from '../../native/engine/runaway.ts';

t.test('loops are caught', async (t) => {
  t.ok(isRunaway('5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5', 1.8), 'one word over and over');
  t.ok(isRunaway('Eight of space, eight of space, eight of space, eight of space.', 3), 'a phrase over and over');
  t.ok(isRunaway('have been made amiable himself. And have been made amiable himself.', 3), 'a long phrase said twice');
  t.ok(isRunaway('and then we went to the market and bought some bread and cheese and wine', 1.5), 'more words than fit in the time');
});

t.test('speech is not', async (t) => {
  t.notOk(isRunaway('5, 5, 8 of spades, 4 of clubs, 7 of hearts.', 3.5), 'a real card sequence');
  t.notOk(isRunaway('Had he married a more amiable woman he might have been made still more respectable than he was.', 6), 'a long sentence at its own pace');
  t.notOk(isRunaway('no, no, no. I said no.', 2.5), 'an honest repetition, three times');
  t.notOk(isRunaway('', 1), 'nothing');
  t.notOk(isRunaway('the end of the day and the end of it', 4), 'short phrases come back');
});
