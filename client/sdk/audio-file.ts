// Node only: any audio or video file ffmpeg can read, as the bytes a live
// session sends — raw s16le 16 kHz mono, or Opus in a WebM/Ogg container.
// Loaded lazily (and child_process with it) so that browser bundles carry
// nothing Node needs and never execute it.
import { HubApiError } from './errors.ts';

export type FileStreamFormat = 's16le' | 'webm' | 'ogg';

export async function readAudioFile(path: string, format: FileStreamFormat = 's16le'): Promise<Uint8Array> {
  const { spawn } = await import('node:child_process');
  const out = format === 's16le' ? ['-f', 's16le', '-ac', '1', '-ar', '16000'] : ['-c:a', 'libopus', '-b:a', '32k', '-page_duration', '20000', '-f', format];
  return new Promise((resolve, reject) => {
    const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-i', path, ...out, 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    let err = '';
    ffmpeg.stdout.on('data', (d: Buffer) => parts.push(d));
    ffmpeg.stderr.on('data', (d: Buffer) => (err += d));
    ffmpeg.on('error', (e: NodeJS.ErrnoException) =>
      reject(new HubApiError('unsupported_audio', e.code === 'ENOENT' ? 'reading audio files needs ffmpeg on the PATH' : `ffmpeg: ${e.message}`)),
    );
    ffmpeg.on('close', (code) =>
      code === 0 ? resolve(new Uint8Array(Buffer.concat(parts))) : reject(new HubApiError('unsupported_audio', `cannot read ${path}: ${err.trim().split('\n').at(-1) ?? `ffmpeg exited with ${code}`}`)),
    );
  });
}
