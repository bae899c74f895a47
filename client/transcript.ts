// Transcript exports (txt, srt, vtt, json) from a task's segments. Pure
// functions shared by the hub's transcript route and the clients. With
// speakers (diarization): a `[S1]` prefix per turn in TXT and per cue in SRT,
// a voice tag `<v S1>` in VTT, `speaker` on segments and words in JSON.
import type { Segment, Task, TranscriptFormat } from './protocol/types.ts';

export const TRANSCRIPT_CONTENT_TYPES: Record<TranscriptFormat, string> = {
  json: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/** `words`: one subtitle cue per word (srt, vtt), where the segments have words. JSON always carries them. */
export function formatTranscript(task: Task, format: TranscriptFormat, options: { words?: boolean } = {}): string {
  const cueSource = options.words ? wordCues(task.segments) : task.segments;
  switch (format) {
    case 'json':
      return JSON.stringify({ id: task.id, status: task.status, language: task.language, durationSec: task.durationSec, segments: task.segments });
    case 'txt':
      return toText(task.segments);
    case 'srt':
      return toSrt(cueSource);
    case 'vtt':
      return toVtt(cueSource);
  }
}

/** Each word as a segment of its own; a segment without words stays whole. */
export function wordCues(segments: Segment[]): Segment[] {
  return segments.flatMap((s) => (s.words?.length ? s.words.map((w) => ({ start: w.start, end: w.end, text: w.word, ...(s.speaker ? { speaker: w.speaker ?? s.speaker } : {}) })) : [s]));
}

export function toText(segments: Segment[]): string {
  const said = segments.filter((s) => s.text.trim());
  if (!said.some((s) => s.speaker)) {
    const text = said.map((s) => s.text.trim()).join(' ');
    return text ? `${text}\n` : '';
  }
  // A line per turn: consecutive segments of one speaker together.
  const turns: { speaker: string | undefined; texts: string[] }[] = [];
  for (const s of said) {
    const last = turns[turns.length - 1];
    if (last && last.speaker === s.speaker) last.texts.push(s.text.trim());
    else turns.push({ speaker: s.speaker, texts: [s.text.trim()] });
  }
  return turns.map((t) => `${t.speaker ? `[${t.speaker}] ` : ''}${t.texts.join(' ')}\n`).join('');
}

export function toSrt(segments: Segment[]): string {
  return cues(segments)
    .map((s, i) => `${i + 1}\n${clock(s.start, ',')} --> ${clock(s.end, ',')}\n${s.speaker ? `[${s.speaker}] ` : ''}${s.text}\n`)
    .join('\n');
}

export function toVtt(segments: Segment[]): string {
  const escaped = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;');
  const body = cues(segments).map((s) => `${clock(s.start, '.')} --> ${clock(s.end, '.')}\n${s.speaker ? `<v ${s.speaker}>` : ''}${escaped(s.text)}\n`);
  return ['WEBVTT\n', ...body].join('\n');
}

/** Segments worth a subtitle cue; "-->" and blank lines would break the cue syntax. */
function cues(segments: Segment[]): Segment[] {
  return segments
    .map((s) => ({ ...s, text: s.text.trim().replaceAll('-->', '->').replace(/\n\s*\n/g, '\n') }))
    .filter((s) => s.text.length > 0);
}

/** `HH:MM:SS,mmm` (srt) or `HH:MM:SS.mmm` (vtt). */
export function clock(seconds: number, separator: ',' | '.'): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${separator}${pad(ms % 1000, 3)}`;
}
