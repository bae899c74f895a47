// Fetches a ggml model into the cache once: streamed to a partial file beside
// the destination, SHA-1 checked, then renamed into place, so a cut download
// never leaves a half file where the hub would load it. A model is hundreds
// of megabytes: there is no deadline on the whole transfer, only on the
// answer (connectTimeoutMs) and on silence mid-body (idleTimeoutMs). A cut
// transfer is resumed from the partial file with a Range request (a server
// that ignores Range starts it over), a few times, before giving up.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';

export interface DownloadProgress {
  received: number;
  total: number | undefined;
}

export interface DownloadOptions {
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** transfers tried in all (the first and its resumptions) */
  attempts?: number;
}

export class DownloadError extends Error {
  readonly code = 'download_failed';
  /** the HTTP status, when the server answered with an error */
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export async function downloadVerified(
  url: string,
  destination: string,
  sha1: string | undefined,
  onProgress: (p: DownloadProgress) => void,
  options: DownloadOptions = {},
): Promise<void> {
  const { connectTimeoutMs = 15_000, idleTimeoutMs = 30_000, attempts = 4 } = options;
  const partial = `${destination}.partial`;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await transfer(url, partial, onProgress, connectTimeoutMs, idleTimeoutMs);
      lastError = undefined;
      break;
    } catch (error) {
      lastError = error;
      if (error instanceof DownloadError && error.status !== undefined && error.status >= 400 && error.status < 500) break; // not found, forbidden: trying again will not help
    }
  }
  if (lastError) throw lastError instanceof DownloadError ? lastError : new DownloadError(`GET ${url}: ${(lastError as Error).message}`);
  const digest = await sha1Of(partial);
  if (sha1 && digest !== sha1) {
    await rm(partial, { force: true });
    throw new DownloadError(`checksum mismatch for ${url}: got ${digest}, expected ${sha1}`);
  }
  await rename(partial, destination);
}

/** One request: appends to `partial` from where it ends (or starts it over if the server will not resume). */
async function transfer(url: string, partial: string, onProgress: (p: DownloadProgress) => void, connectTimeoutMs: number, idleTimeoutMs: number) {
  const have = await stat(partial).then((s) => s.size, () => 0);
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(new DownloadError(`GET ${url}: no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs);
  const idle = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new DownloadError(`GET ${url}: nothing received for ${idleTimeoutMs} ms`)), idleTimeoutMs);
  };
  try {
    const response = await fetch(url, { signal: abort.signal, redirect: 'follow', headers: have > 0 ? { Range: `bytes=${have}-` } : {} });
    if (response.status === 416 && have > 0) return; // the partial file is already whole
    if (!response.ok || !response.body) throw new DownloadError(`GET ${url} answered ${response.status}`, response.status);
    const resumed = response.status === 206;
    const length = Number(response.headers.get('content-length')) || undefined;
    let received = resumed ? have : 0;
    const total = length === undefined ? undefined : received + length;
    const out = createWriteStream(partial, { flags: resumed ? 'a' : 'w' });
    try {
      idle();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        idle();
        received += chunk.length;
        onProgress({ received, total });
        if (!out.write(chunk)) await once(out, 'drain');
      }
      if (total !== undefined && received < total) throw new DownloadError(`GET ${url}: the transfer ended at ${received} of ${total} bytes`);
    } finally {
      out.end();
      await once(out, 'close').catch(() => {});
    }
  } catch (error) {
    throw abort.signal.aborted && abort.signal.reason instanceof DownloadError ? abort.signal.reason : error;
  } finally {
    clearTimeout(timer);
  }
}

async function sha1Of(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
