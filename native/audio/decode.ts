// Decodes any common container to the spool's pcm format (16 kHz mono f32) and
// measures its loudness on the way. Runs inside the audio worker process, never
// on the hub's loop. Memory stays flat whatever the length: ffmpeg streams the
// samples straight into the pcm file, and only frame energies (4 bytes per
// 20 ms) are kept. A recording longer than `maxSamples` is refused as soon as
// the decoder passes that point, not after it has filled the disk.
//  1. ffmpeg, when installed: every container (Opus, ADTS aac, video too),
//     read by path (m4a/mp4 through stdin silently yields no samples).
//  2. Without ffmpeg, `decodeAudioAsync` from @napi-rs/whisper (Symphonia,
//     in-process): wav, flac, mp3, ogg/vorbis, m4a/aac, held in memory whole,
//     so it takes only files that are small once decoded.
import { createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { FrameEnergy } from './energy.ts';
import { FFMPEG_MISSING, spawnFfmpeg, type FfmpegInfo } from './ffmpeg.ts';
import { BYTES_PER_SAMPLE, SAMPLE_RATE } from './pcm.ts';

export interface DecodedAudio {
  samples: number;
  energies: Float32Array;
  decoder: 'symphonia' | 'ffmpeg';
}

export interface DecodeOptions {
  /** longer recordings are refused with `audio_too_long` */
  maxSamples: number;
  /** ffmpeg as the hub found it at start; undefined: not installed */
  ffmpeg: FfmpegInfo | undefined;
}

export class UnsupportedAudioError extends Error {
  readonly code = 'unsupported_audio';
}

export class AudioTooLongError extends Error {
  readonly code = 'audio_too_long';
}

/** Without ffmpeg, files up to this size are decoded in memory (compressed audio can grow 10-1000x). */
const IN_MEMORY_LIMIT = 16 * 1024 * 1024;

export async function decodeToPcm(inputPath: string, pcmPath: string, options: DecodeOptions, signal?: AbortSignal): Promise<DecodedAudio> {
  signal?.throwIfAborted();
  const { size } = await stat(inputPath);
  if (size === 0) throw new UnsupportedAudioError('the recording is empty');
  const { ffmpeg } = options;
  if (!ffmpeg && size > IN_MEMORY_LIMIT) throw new UnsupportedAudioError(`${FFMPEG_MISSING}: without it, files up to ${IN_MEMORY_LIMIT / 1048576} MB decode in-process`);
  try {
    return await (ffmpeg ? decodeWithFfmpeg(ffmpeg, inputPath, pcmPath, options, signal) : decodeInMemory(inputPath, pcmPath, options, signal));
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof AudioTooLongError) throw error;
    const hint = ffmpeg ? '' : '; ffmpeg, if installed, reads more formats';
    throw new UnsupportedAudioError(`could not decode the audio (${error instanceof Error ? error.message : String(error)})${hint}`);
  }
}

function tooLong(options: DecodeOptions): AudioTooLongError {
  const hours = options.maxSamples / SAMPLE_RATE / 3600;
  return new AudioTooLongError(`the recording is longer than the hub's limit of ${Number(hours.toFixed(2))} hours`);
}

async function decodeInMemory(inputPath: string, pcmPath: string, options: DecodeOptions, signal?: AbortSignal): Promise<DecodedAudio> {
  const { decodeAudioAsync } = await import('@napi-rs/whisper'); // loaded only when needed: it is the engine's whole library
  const bytes = await readFile(inputPath, { signal });
  const samples = await decodeAudioAsync(bytes, inputPath, signal);
  if (samples.length === 0) throw new Error('no samples');
  if (samples.length > options.maxSamples) throw tooLong(options);
  const energy = new FrameEnergy();
  energy.push(samples);
  const out = createWriteStream(pcmPath);
  out.end(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength));
  await once(out, 'finish');
  return { samples: samples.length, energies: energy.finish(), decoder: 'symphonia' };
}

async function decodeWithFfmpeg(ffmpeg: FfmpegInfo, inputPath: string, pcmPath: string, options: DecodeOptions, signal?: AbortSignal): Promise<DecodedAudio> {
  const child = spawnFfmpeg(ffmpeg, ['-i', inputPath, '-vn', '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 'f32le', 'pipe:1']);
  child.stdin.end();
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4000) stderr += d; // drained always, kept short
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('close', (code: number | null) => resolve(code));
    child.once('error', reject);
  });
  exited.catch(() => {}); // observed below
  const onAbort = () => child.kill('SIGKILL');
  signal?.addEventListener('abort', onAbort, { once: true });
  const out = createWriteStream(pcmPath);
  // A write that fails (a full disk), or one still queued when a refusal
  // destroys the stream, must fail this decode, not the process.
  let writeError: Error | undefined;
  out.on('error', (error) => (writeError ??= error));
  try {
    const energy = new FrameEnergy();
    let carry: Buffer = Buffer.alloc(0);
    let samples = 0;
    // One aligned scratch array for the loudness pass: no garbage per piece,
    // so the decoder's memory stays flat however long the recording is.
    let scratch = new Float32Array(16 * 1024);
    for await (const data of child.stdout as AsyncIterable<Buffer>) {
      const bytes = carry.length ? Buffer.concat([carry, data]) : data;
      const whole = bytes.length - (bytes.length % BYTES_PER_SAMPLE);
      carry = bytes.subarray(whole);
      if (whole === 0) continue;
      const count = whole / BYTES_PER_SAMPLE;
      samples += count;
      if (samples > options.maxSamples) throw tooLong(options);
      if (scratch.length < count) scratch = new Float32Array(count);
      new Uint8Array(scratch.buffer, 0, whole).set(bytes.subarray(0, whole));
      energy.push(scratch.subarray(0, count));
      if (writeError) throw writeError;
      if (!out.write(bytes.subarray(0, whole))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    if (writeError) throw writeError;
    const code = await exited;
    if (code !== 0) throw new Error(`ffmpeg exited with ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
    if (samples === 0) throw new Error('no samples');
    return { samples, energies: energy.finish(), decoder: 'ffmpeg' };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    out.destroy();
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
