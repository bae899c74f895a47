// The decoder of one live connection, chosen by its format: raw PCM is
// converted (and resampled) in place, Opus in WebM/Ogg goes through an ffmpeg
// process of its own. Either way samples come out as 16 kHz mono float32.
import type { StreamFormat } from '../../client/protocol/types.ts';
import type { FfmpegInfo } from './ffmpeg.ts';
import { PcmInput } from './pcm-input.ts';
import { StreamDecoder } from './stream-decoder.ts';

export interface LiveAudioInput {
  push(bytes: Uint8Array): void;
  /** no more audio: resolves once everything held has been handed over */
  end(): Promise<void>;
  kill(): void;
}

export const needsFfmpeg = (format: StreamFormat): format is 'webm' | 'ogg' | 'auto' => format === 'webm' || format === 'ogg' || format === 'auto';

export function liveAudioInput(
  audio: { format: StreamFormat; rate: number; channels: number },
  ffmpeg: FfmpegInfo | undefined,
  onSamples: (samples: Float32Array) => void,
  onError: (message: string) => void,
): LiveAudioInput {
  if (needsFfmpeg(audio.format)) {
    if (!ffmpeg) throw new Error('a compressed live stream needs ffmpeg');
    const decoder = new StreamDecoder(ffmpeg, audio.format, onSamples, onError);
    return { push: (bytes) => decoder.write(bytes), end: () => decoder.end(), kill: () => decoder.kill() };
  }
  const pcm = new PcmInput(audio.format, audio.rate, audio.channels);
  return { push: (bytes) => onSamples(pcm.push(bytes)), end: async () => onSamples(pcm.flush()), kill: () => {} };
}
