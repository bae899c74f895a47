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
