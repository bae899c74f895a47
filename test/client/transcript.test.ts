import t from 'tap';
import { clock, formatTranscript, toSrt, toText, toVtt } from '../../client/transcript.ts';
import type { Task } from '../../client/protocol/types.ts';

const segments = [
  { start: 0, end: 2.5, text: ' Hello there.' },
  { start: 2.5, end: 3661.25, text: 'A long --> pause.' },
  { start: 3661.25, end: 3662, text: '   ' },
];

t.test('clock formats hours, minutes, seconds and milliseconds', async (t) => {
  t.equal(clock(0, ','), '00:00:00,000');
  t.equal(clock(3661.2504, '.'), '01:01:01.250');
  t.equal(clock(-1, ','), '00:00:00,000');
});

t.test('txt joins the text', async (t) => {
  t.equal(toText(segments), 'Hello there. A long --> pause.\n');
  t.equal(toText([]), '');
});

t.test('srt numbers cues and keeps "-->" out of the text', async (t) => {
  t.equal(toSrt(segments), '1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 01:01:01,250\nA long -> pause.\n');
});

t.test('vtt has its header and dotted milliseconds', async (t) => {
  t.equal(toVtt(segments), 'WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nHello there.\n\n00:00:02.500 --> 01:01:01.250\nA long -> pause.\n');
});

t.test('json carries the segments', async (t) => {
  const task = { id: 'x', status: 'completed', segments, language: 'en', durationSec: 3662 } as unknown as Task;
  t.match(JSON.parse(formatTranscript(task, 'json')), { id: 'x', status: 'completed', language: 'en', segments: [{ text: ' Hello there.' }] });
});

t.test('words=1: one cue per word where the segments have words; JSON carries the words', async (t) => {
  const task = {
    id: 'w', status: 'completed', language: 'en', durationSec: 3,
    segments: [
      { start: 0, end: 1.2, text: 'Hello there.', words: [{ word: 'Hello', start: 0.1, end: 0.5, p: 0.9 }, { word: 'there.', start: 0.6, end: 1.1, p: 0.8 }] },
      { start: 1.5, end: 2.5, text: 'No words here.' },
    ],
  } as unknown as Task;
  t.equal(formatTranscript(task, 'srt', { words: true }), '1\n00:00:00,100 --> 00:00:00,500\nHello\n\n2\n00:00:00,600 --> 00:00:01,100\nthere.\n\n3\n00:00:01,500 --> 00:00:02,500\nNo words here.\n');
  t.match(formatTranscript(task, 'vtt', { words: true }), /^WEBVTT\n\n00:00:00\.100 --> 00:00:00\.500\nHello\n/);
  t.equal(formatTranscript(task, 'srt'), toSrt(task.segments), 'without words=1: a cue per segment');
  t.same(JSON.parse(formatTranscript(task, 'json')).segments[0].words[1], { word: 'there.', start: 0.6, end: 1.1, p: 0.8 });
});

t.test('speakers: [S1] per turn in txt and per cue in srt, voice tags in vtt, speaker in json', async (t) => {
  const task = {
    id: 's', status: 'completed', language: 'en', durationSec: 6,
    segments: [
      { start: 0, end: 1, text: ' Hello.', speaker: 'S1' },
      { start: 1, end: 2, text: ' How are you?', speaker: 'S1' },
      { start: 2.5, end: 3.5, text: ' Fine <really> & you?', speaker: 'S2', words: [{ word: ' Fine', start: 2.5, end: 2.9, p: 0.9, speaker: 'S2' }] },
    ],
  } as unknown as Task;
  t.equal(formatTranscript(task, 'txt'), '[S1] Hello. How are you?\n[S2] Fine <really> & you?\n', 'a line per turn');
  t.match(formatTranscript(task, 'srt'), /^1\n00:00:00,000 --> 00:00:01,000\n\[S1\] Hello\.\n/);
  const vtt = formatTranscript(task, 'vtt');
  t.match(vtt, /\n<v S1>Hello\.\n/);
  t.match(vtt, /\n<v S2>Fine &lt;really> &amp; you\?\n/, 'cue text escaped: "<" would open a tag');
  t.match(formatTranscript(task, 'vtt', { words: true }), /<v S2>Fine\n/, 'word cues keep their speaker');
  t.match(JSON.parse(formatTranscript(task, 'json')).segments[2], { speaker: 'S2', words: [{ speaker: 'S2' }] });
});
