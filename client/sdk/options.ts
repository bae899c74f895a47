// Transcription options as the hub's query parameters.
import type { TranscribeOptions } from '../protocol/types.ts';

export function optionsQuery(options: TranscribeOptions | undefined): Record<string, string> {
  const query: Record<string, string> = {};
  if (!options) return query;
  if (options.translate !== undefined) query.translate = options.translate ? '1' : '0';
  if (options.prompt) query.prompt = options.prompt;
  if (options.temperature !== undefined) query.temperature = String(options.temperature);
  if (options.beam !== undefined) query.beam = String(options.beam);
  if (options.model) query.model = options.model;
  return query;
}
