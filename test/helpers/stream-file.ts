// A raw /v1/stream driver for tests and benchmarks (it stands for a client that
// records exactly what it sent and when each frame came back): streams bytes
// at a chosen speed, in fixed frames, with any query (resume, since, rate ...),
// and resolves with every frame and its arrival time. Clients use the SDK's
// `stream()` instead.
import WebSocket from 'ws';
import { decode } from '../../client/protocol/codec.ts';
import type { ServerFrame } from '../../client/protocol/types.ts';

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
