// Decodes any common container to the spool's pcm format (16 kHz mono f32) and
// measures its loudness on the way. Runs inside the audio worker thread, never
// on the hub's loop. Two decoders, in order:
//  1. `decodeAudioAsync` from @napi-rs/whisper (Symphonia, in-process, fast):
//     wav, flac, mp3, ogg/vorbis, m4a/aac, for files it can hold in memory;
//  2. ffmpeg through prism-media, streamed: everything else (Opus in webm/ogg,
//     ADTS aac, video containers) and big files. ffmpeg reads the file by path,
//     because m4a/mp4 through stdin silently yields no samples.
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { decodeAudioAsync } from '@napi-rs/whisper';
import prism from 'prism-media';
import { FrameEnergy } from './energy.ts';

export interface DecodedAudio {
  samples: number;
  energies: Float32Array;
  decoder: 'symphonia' | 'ffmpeg';
}

export class UnsupportedAudioError extends Error {
  readonly code = 'unsupported_audio';
}

/** Above this size the in-memory decoder would need too much memory: stream through ffmpeg. */
const IN_MEMORY_LIMIT = 64 * 1024 * 1024;

export async function decodeToPcm(inputPath: string, pcmPath: string, signal?: AbortSignal): Promise<DecodedAudio> {
  const { size } = await stat(inputPath);
  if (size === 0) throw new UnsupportedAudioError('the recording is empty');
  let firstError: unknown;
  if (size <= IN_MEMORY_LIMIT) {
    try {
      return await decodeInMemory(inputPath, pcmPath, signal);
    } catch (error) {
      signal?.throwIfAborted();
      firstError = error;
    }
  }
  try {
    return await decodeWithFfmpeg(inputPath, pcmPath, signal);
  } catch (error) {
    signal?.throwIfAborted();
    const detail = [firstError, error].filter(Boolean).map((e) => (e instanceof Error ? e.message : String(e)));
    throw new UnsupportedAudioError(`could not decode the audio (${detail.join('; ')})`);
  }
}

async function decodeInMemory(inputPath: string, pcmPath: string, signal?: AbortSignal): Promise<DecodedAudio> {
  const bytes = await readFile(inputPath, { signal });
  const samples = await decodeAudioAsync(bytes, inputPath, signal);
  if (samples.length === 0) throw new Error('no samples');
  const energy = new FrameEnergy();
  energy.push(samples);
  const out = createWriteStream(pcmPath);
  out.end(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  await once(out, 'finish');
  return { samples: samples.length, energies: energy.finish(), decoder: 'symphonia' };
}

async function decodeWithFfmpeg(inputPath: string, pcmPath: string, signal?: AbortSignal): Promise<DecodedAudio> {
  const ffmpeg = new prism.FFmpeg({
    args: ['-hide_banner', '-nostdin', '-loglevel', 'error', '-i', inputPath, '-vn', '-ac', '1', '-ar', '16000', '-f', 'f32le'],
  });
  const child = ffmpeg.process;
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4000) stderr += d; // drained always, kept short
  });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code: number | null) => resolve(code)));
  const onAbort = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const energy = new FrameEnergy();
    const out = createWriteStream(pcmPath);
    let carry: Buffer = Buffer.alloc(0);
    let samples = 0;
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      const bytes = carry.length ? Buffer.concat([carry, data]) : data;
      const whole = bytes.length - (bytes.length % 4);
      carry = bytes.subarray(whole);
      const aligned = new Float32Array(Uint8Array.prototype.slice.call(bytes, 0, whole).buffer);
      energy.push(aligned);
      samples += aligned.length;
      if (!out.write(bytes.subarray(0, whole))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
    if (samples === 0) throw new Error('no samples');
    return { samples, energies: energy.finish(), decoder: 'ffmpeg' };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
