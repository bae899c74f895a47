// Reference client for /v1/stream (Node): streams an audio file to the hub in
// real time, as a microphone would, and reports partials and finals as they
// come. Used by the tests and the stream benchmark, and as a CLI:
//   node --import tsx client/stream-file.ts talk.wav --url ws://127.0.0.1:8080 --token T
// Any file ffmpeg reads is sent as s16le 16 kHz mono; `--format webm|ogg`
// sends Opus in that container instead (the hub decodes it).
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { decode } from './codec.ts';
import type { ServerFrame } from './protocol.ts';

export interface StreamOptions {
  url: string;
  token?: string;
  format?: 's16le' | 'webm' | 'ogg';
  language?: string;
  /** milliseconds of audio per frame */
  frameMs?: number;
  /** 1 = real time; 0 = as fast as the socket takes it */
  speed?: number;
  /** send `close` at the end (default) and wait for `closed` */
  close?: boolean;
  /** extra query parameters (resume, since, rate, channels ...) */
  query?: Record<string, string>;
  onFrame?: (frame: ServerFrame, at: number) => void;
}

export interface StreamResult {
  id: string | undefined;
  frames: { frame: ServerFrame; at: number }[];
  /** when each frame of audio was sent, in ms from the start, with its audio position in seconds */
  sent: { at: number; audioSec: number }[];
  closeCode: number;
  closeReason: string;
}

/** Audio of any format as the bytes the stream will send: raw s16le 16 kHz mono, or Opus in webm/ogg. */
export function encodeForStream(path: string, format: 's16le' | 'webm' | 'ogg'): Promise<Buffer> {
  const out = format === 's16le' ? ['-f', 's16le', '-ac', '1', '-ar', '16000'] : ['-c:a', 'libopus', '-b:a', '32k', '-page_duration', '20000', '-f', format];
  return new Promise((resolve, reject) => {
    const ffmpeg = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-i', path, ...out, 'pipe:1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const parts: Buffer[] = [];
    let err = '';
    ffmpeg.stdout.on('data', (d: Buffer) => parts.push(d));
    ffmpeg.stderr.on('data', (d: Buffer) => (err += d));
    ffmpeg.on('error', reject);
    ffmpeg.on('close', (code) => (code === 0 ? resolve(Buffer.concat(parts)) : reject(new Error(`ffmpeg: ${err.trim()}`))));
  });
}

/** Streams `audio` (bytes in `format`) and resolves when the hub closes the connection. */
export async function streamAudio(audio: Uint8Array, options: StreamOptions): Promise<StreamResult> {
  const format = options.format ?? 's16le';
  const frameMs = options.frameMs ?? 100;
  const speed = options.speed ?? 1;
  const query = new URLSearchParams({ format, ...(options.language ? { language: options.language } : {}), ...options.query });
  const ws = new WebSocket(`${options.url}/v1/stream?${query}`, { headers: options.token ? { Authorization: `Bearer ${options.token}` } : {} });
  const result: StreamResult = { id: undefined, frames: [], sent: [], closeCode: 0, closeReason: '' };
  const t0 = performance.now();
  const closed = new Promise<void>((resolve) =>
    ws.on('close', (code, reason) => {
      result.closeCode = code;
      result.closeReason = reason.toString();
      resolve();
    }),
  );
  const ready = new Promise<boolean>((resolve) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const frame = (isBinary ? decode(data) : JSON.parse(data.toString('utf8'))) as ServerFrame;
      const at = performance.now() - t0;
      result.frames.push({ frame, at });
      options.onFrame?.(frame, at);
      if (frame.type === 'ready') {
        result.id = frame.id;
        resolve(true);
      }
    });
    void closed.then(() => resolve(false));
  });
  ws.on('error', () => {});
  if (!(await ready)) return result;

  // Raw PCM is cut into exact frames; a container is cut into equal byte slices over its duration.
  const bytesPerMs = format === 's16le' ? 32 : undefined;
  const frameBytes = bytesPerMs ? bytesPerMs * frameMs : Math.max(1, Math.ceil(audio.length / 300));
  const totalSec = bytesPerMs ? audio.length / (bytesPerMs * 1000) : undefined;
  const start = performance.now();
  for (let at = 0, i = 0; at < audio.length && ws.readyState === WebSocket.OPEN; at += frameBytes, i++) {
    const audioSec = bytesPerMs ? Math.min(audio.length, at + frameBytes) / (bytesPerMs * 1000) : ((i + 1) * frameMs) / 1000;
    if (speed > 0) {
      const due = start + ((bytesPerMs ? at / bytesPerMs : i * frameMs) / speed);
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    ws.send(audio.subarray(at, at + frameBytes));
    result.sent.push({ at: performance.now() - t0, audioSec: totalSec ? Math.min(totalSec, audioSec) : audioSec });
  }
  if (options.close !== false && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'close' }));
  await closed;
  return result;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: 'ws://127.0.0.1:8080' },
      token: { type: 'string' },
      format: { type: 'string', default: 's16le' },
      language: { type: 'string' },
      speed: { type: 'string', default: '1' },
    },
  });
  const file = positionals[0];
  if (!file) {
    process.stderr.write('usage: stream-file <audio file> [--url ws://host:port] [--token T] [--format s16le|webm|ogg] [--speed 1]\n');
    process.exit(2);
  }
  const format = values.format as 's16le' | 'webm' | 'ogg';
  const audio = await encodeForStream(file, format);
  const result = await streamAudio(audio, {
    url: values.url!,
    format,
    speed: Number(values.speed),
    ...(values.token ? { token: values.token } : {}),
    ...(values.language ? { language: values.language } : {}),
    onFrame: (f, at) => {
      const t = (at / 1000).toFixed(2).padStart(7);
      if (f.type === 'partial') process.stdout.write(`${t}s  … [${f.segId}] ${f.text}\n`);
      else if (f.type === 'final') process.stdout.write(`${t}s  ✓ [${f.segId}] ${f.start.toFixed(2)}-${f.end.toFixed(2)} ${f.text}\n`);
      else if (f.type === 'ready') process.stdout.write(`session ${f.id}\n`);
      else if (f.type === 'error' || f.type === 'lag') process.stdout.write(`${t}s  ! ${JSON.stringify(f)}\n`);
      else if (f.type === 'closed') process.stdout.write(`closed after ${f.durationSec.toFixed(2)} s of audio\n`);
    },
  });
  if (result.closeCode !== 1000) {
    process.stderr.write(`the hub closed the stream: ${result.closeCode} ${result.closeReason}\n`);
    process.exit(1);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) void main();
