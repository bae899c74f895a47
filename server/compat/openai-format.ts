// The answers of OpenAI's audio API, made from a hub Task: `json`, `text`,
// `srt`, `vtt` and `verbose_json` (segments with OpenAI's fields, words when
// asked), the streaming events, and OpenAI's error body. Pure.
import type { Segment, Task } from '../../client/protocol/types.ts';
import { toSrt, toText, toVtt } from '../../client/transcript.ts';

export const RESPONSE_FORMATS = ['json', 'text', 'srt', 'verbose_json', 'vtt', 'diarized_json'] as const;
export type ResponseFormat = (typeof RESPONSE_FORMATS)[number];

export interface OpenAiError {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAiError(status: number, code: string, message: string, param: string | null = null): OpenAiError {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param, code } };
}

/** The text of segments, as one line (the way OpenAI's `text` reads). */
export const textOf = (segments: Segment[]) => toText(segments).trimEnd();

const languageNames = new Intl.DisplayNames(['en'], { type: 'language' });

/** OpenAI names languages in full and in lower case ("english") in verbose_json. */
export function languageName(code: string | undefined): string {
  if (!code) return 'unknown';
  try {
    return (languageNames.of(code) ?? code).toLowerCase();
  } catch {
    return code;
  }
}

const usageOf = (task: Task) => ({ type: 'duration' as const, seconds: Math.ceil(task.durationSec ?? 0) });

export function formatResult(task: Task, format: ResponseFormat, options: { translate: boolean; granularities: ('word' | 'segment')[] }): { body: string; contentType: string } {
  switch (format) {
    case 'text':
      return { body: toText(task.segments) || '\n', contentType: 'text/plain; charset=utf-8' };
    case 'srt':
      return { body: toSrt(task.segments), contentType: 'text/plain; charset=utf-8' };
    case 'vtt':
      return { body: toVtt(task.segments), contentType: 'text/plain; charset=utf-8' };
    case 'json':
      return { body: JSON.stringify({ text: textOf(task.segments), usage: usageOf(task) }), contentType: 'application/json; charset=utf-8' };
    case 'verbose_json':
      return { body: JSON.stringify(verbose(task, options)), contentType: 'application/json; charset=utf-8' };
    case 'diarized_json':
      return { body: JSON.stringify(diarized(task)), contentType: 'application/json; charset=utf-8' };
  }
}

/** As gpt-4o-transcribe-diarize answers: segments with speakers A, B, … (the hub's S1, S2, …). */
function diarized(task: Task) {
  const letter = (speaker: string | undefined) => (speaker ? String.fromCharCode(64 + Number(speaker.slice(1))) : 'A');
  return {
    task: 'transcribe',
    duration: task.durationSec ?? 0,
    text: textOf(task.segments),
    segments: task.segments
      .filter((s) => s.text.trim())
      .map((s, i) => ({ type: 'transcript.text.segment', id: `seg_${String(i).padStart(3, '0')}`, start: s.start, end: s.end, text: s.text.trim(), speaker: letter(s.speaker) })),
    usage: usageOf(task),
  };
}

function verbose(task: Task, options: { translate: boolean; granularities: ('word' | 'segment')[] }) {
  const wantWords = options.granularities.includes('word');
  const wantSegments = options.granularities.length === 0 || options.granularities.includes('segment');
  return {
    task: options.translate ? 'translate' : 'transcribe',
    language: languageName(options.translate ? 'en' : task.language),
    duration: task.durationSec ?? 0,
    text: textOf(task.segments),
    ...(wantSegments
      ? {
          segments: task.segments.map((s, id) => ({
            id,
            seek: Math.round(s.start * 100),
            start: s.start,
            end: s.end,
            text: s.text,
            tokens: [],
            temperature: task.options?.temperature ?? 0,
            avg_logprob: s.avgLogprob ?? 0,
            compression_ratio: 0,
            no_speech_prob: s.noSpeechProb ?? 0,
          })),
        }
      : {}),
    ...(wantWords ? { words: task.segments.flatMap((s) => (s.words ?? []).map((w) => ({ word: w.word, start: w.start, end: w.end }))) } : {}),
    usage: usageOf(task),
  };
}

/** One server-sent event, as OpenAI's SDKs read them. */
export const sseEvent = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
