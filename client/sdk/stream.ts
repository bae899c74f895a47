// One call from an audio source to live text: `stream(source)` opens a live
// session and feeds it from the browser's microphone (or any MediaStream), a
// file (Node: anything ffmpeg reads), PCM bytes, or an async iterable of audio
// (a pipe, process.stdin). Raw PCM from bytes, files and iterables is paced
// like a microphone (real time unless `speed` says otherwise); finite sources
// close the session when they run out, the microphone runs until `stop()`.
import type { StreamFormat } from '../protocol/types.ts';
import { HubApiError } from './errors.ts';
import { LiveSession, pcmBytesPerSecond, type LiveHandlers, type LiveOptions } from './live.ts';
import { captureMicrophone, type Microphone } from './microphone.ts';

/**
 * - `'microphone'` or a `MediaStream` (browsers): captured at 16 kHz by an AudioWorklet
 * - a file path (Node): decoded to 16 kHz mono by ffmpeg
 * - `Uint8Array` or `AsyncIterable<Uint8Array>`: audio in the session's `format` (s16le 16 kHz mono by default)
 */
export type StreamSource = 'microphone' | MediaStream | string | Uint8Array | AsyncIterable<Uint8Array>;

export interface StreamOptions extends Omit<LiveOptions, 'url' | 'token' | 'WebSocket'> {
  /** pacing of raw PCM that is not a microphone: 1 = real time (default), 4 = four times faster,
   *  0 = as fast as the connection takes it (the hub refuses audio far ahead of real time: 4029) */
  speed?: number;
  /** the microphone's level (RMS, 0–1), with every 100 ms of audio */
  onLevel?: (level: number) => void;
}

export interface LiveStream {
  /** the task (kind `stream`) that records this session */
  readonly id: string;
  readonly session: LiveSession;
  /** turns whatever is pending into finals now; the stream goes on */
  finalize(): void;
  /** stops the source, waits for the last finals, and resolves with the seconds of audio the hub received */
  stop(): Promise<number>;
  /** resolves like `stop()` once the session is over: a finite source ran out, `stop()` was called, or it failed */
  readonly finished: Promise<number>;
}

type Connection = Pick<LiveOptions, 'url' | 'token' | 'WebSocket'>;

/** Frames sent to the hub are at most this large (it accepts up to 1 MB). */
const MAX_FRAME = 64 * 1024;

export async function startStream(connection: Connection, source: StreamSource, options: StreamOptions = {}, handlers: LiveHandlers = {}): Promise<LiveStream> {
  const { speed = 1, onLevel, ...live } = options;
  if (source === 'microphone' || isMediaStream(source)) {
    const session = await LiveSession.start({ ...connection, ...live, format: 's16le', rate: 16_000, channels: 1 }, handlers);
    let mic: Microphone;
    try {
      mic = await captureMicrophone((pcm, level) => (session.send(pcm), onLevel?.(level)), source === 'microphone' ? undefined : source);
    } catch (error) {
      await session.close().catch(() => {});
      throw new HubApiError('microphone', `the microphone is not available: ${(error as Error).message}`);
    }
    return handle(session, () => mic.stop());
  }

  let audio: Uint8Array | AsyncIterable<Uint8Array>;
  let format: StreamFormat = live.format ?? 's16le';
  if (typeof source === 'string') {
    const { readAudioFile } = await import('./audio-file.ts');
    audio = await readAudioFile(source, 's16le');
    Object.assign(live, { format: (format = 's16le'), rate: 16_000, channels: 1 });
  } else audio = source;

  const session = await LiveSession.start({ ...connection, ...live }, handlers);
  const perSecond = pcmBytesPerSecond(format, live.rate, live.channels);
  let stopped = false;
  const fed = feed(session, audio instanceof Uint8Array ? slices(audio, perSecond) : audio, perSecond, speed, () => stopped);
  const stream = handle(session, async () => {
    stopped = true;
    await fed.catch(() => {});
  });
  fed.then(
    () => void stream.stop().catch(() => {}),
    (error: unknown) => {
      handlers.onError?.(new HubApiError('source', `reading the audio failed: ${(error as Error).message}`));
      void stream.stop().catch(() => {});
    },
  );
  return stream;
}

function handle(session: LiveSession, stopSource: () => Promise<void>): LiveStream {
  let stopping: Promise<number> | undefined;
  return {
    id: session.id!,
    session,
    finalize: () => session.finalize(),
    stop: () => (stopping ??= stopSource().then(() => session.close())),
    finished: session.finished,
  };
}

/** Sends the audio, waiting so that raw PCM goes out at `speed` times real time. */
async function feed(session: LiveSession, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, perSecond: number | undefined, speed: number, stopped: () => boolean): Promise<void> {
  let over = false;
  session.finished.then(() => (over = true), () => (over = true));
  const start = performance.now();
  let sent = 0;
  for await (const chunk of chunks) {
    for (let at = 0; at < chunk.byteLength; at += MAX_FRAME) {
      if (stopped() || over) return;
      if (perSecond && speed > 0) {
        const wait = start + (sent / perSecond / speed) * 1000 - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const piece = chunk.subarray(at, at + MAX_FRAME);
      session.send(piece);
      sent += piece.byteLength;
    }
  }
}

/** Bytes in 100 ms frames (raw PCM), or in 16 KB slices (a container). */
function* slices(audio: Uint8Array, perSecond: number | undefined): Generator<Uint8Array> {
  const size = perSecond ? perSecond / 10 : 16 * 1024;
  for (let at = 0; at < audio.byteLength; at += size) yield audio.subarray(at, at + size);
}

function isMediaStream(source: unknown): source is MediaStream {
  return typeof MediaStream !== 'undefined' && source instanceof MediaStream;
}
