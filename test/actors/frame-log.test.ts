// The frame log: what a client missed comes from memory while it is all
// there; past the bound, or for a seq from the future, the answer is "send
// the whole task" (undefined).
import t from 'tap';
import { FrameLog } from '../../actors/frame-log.ts';
import type { TaskEventFrame } from '../../client/protocol/types.ts';

const frame = (seq: number): TaskEventFrame => ({ type: 'progress', id: 'a', seq, done: seq, total: 10, pct: seq * 10 });

t.test('frames since a seq, bounded per task', async (t) => {
  const log = new FrameLog(3);
  for (let seq = 1; seq <= 5; seq++) log.record('a', frame(seq));
  t.same(log.since('a', 3, 5)?.map((f) => f.seq), [4, 5], 'the missed frames');
  t.same(log.since('a', 5, 5), [], 'nothing missed');
  t.equal(log.since('a', 1, 5), undefined, 'older than the log holds: the whole task instead');
  t.equal(log.since('a', 7, 5), undefined, 'a seq from the future: the whole task');
  t.equal(log.since('b', 0, 2), undefined, 'another task has no frames here');
  log.forget('a');
  t.equal(log.since('a', 3, 5), undefined, 'forgotten');
});
