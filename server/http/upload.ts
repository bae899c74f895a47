// Streams a request body to a file in the spool as it arrives, never holding
// it in memory: uWS chunks are copied (uWS reuses their memory), written with
// backpressure (the socket is paused while the disk catches up), and the file
// is flushed to disk before the promise resolves. Over the limit, aborted or
// failed, the partial file is removed — or, when appending to a resumable
// upload, what did arrive is flushed and kept for the client to resume from.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Reply } from './reply.ts';
import { HubError } from '../../actors/hub-error.ts';

/** `quota` counts the bytes against the spool's budget as they arrive, and refuses what would not fit. */
export async function receiveBody(reply: Reply, path: string, maxBytes: number, quota: { add(bytes: number): void }, options: { append?: boolean } = {}): Promise<number> {
  const res = reply.raw;
  const out = createWriteStream(path, { flush: true, flags: options.append ? 'a' : 'w' });
  let received = 0;
  let failed = false;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      out.on('error', fail);
      let paused = false;
      out.on('drain', () => {
        if (paused && reply.open) res.resume();
        paused = false;
      });
      reply.onAbort(() => fail(new HubError('bad_request', 'the upload was aborted')));
      res.onData((chunk, isLast) => {
        if (failed) return;
        received += chunk.byteLength;
        if (received > maxBytes) {
          fail(new HubError('payload_too_large', `the upload is larger than ${Math.floor(maxBytes / 1048576)} MB`));
          return;
        }
        try {
          quota.add(chunk.byteLength);
        } catch (error) {
          fail(error as Error);
          return;
        }
        const flowing = out.write(new Uint8Array(chunk.slice(0)));
        // Pause the socket while the disk catches up (not after the last chunk:
        // a paused connection could not carry the next keep-alive request).
        if (!flowing && !isLast) {
          paused = true;
          res.pause();
        }
        if (isLast) {
          // 'close' comes after the fsync that `flush` asks for: the bytes are on disk.
          out.once('close', () => (failed ? undefined : resolve()));
          out.end();
        }
      });
    });
    return received;
  } catch (error) {
    if (options.append) {
      // Keep what arrived, on disk, for a resume (the caller measures the file).
      await new Promise<void>((resolve) => (out.once('close', () => resolve()), out.end()));
    } else {
      out.destroy();
      await rm(path, { force: true });
    }
    throw error;
  }
}
