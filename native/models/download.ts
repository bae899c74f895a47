// Fetches a ggml model into the cache once: streamed to a temporary file,
// SHA-1 checked, then renamed into place, so a cut download never leaves a
// half file where the hub would load it. Reports progress as it goes.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { once } from 'node:events';

export interface DownloadProgress {
  received: number;
  total: number | undefined;
}

export async function downloadVerified(
  url: string,
  destination: string,
  sha1: string | undefined,
  onProgress: (p: DownloadProgress) => void,
  connectTimeoutMs = 15_000,
): Promise<void> {
  const response = await fetch(url, { signal: AbortSignal.timeout(connectTimeoutMs), redirect: 'follow' });
  if (!response.ok || !response.body) throw new Error(`GET ${url} answered ${response.status}`);
  const total = Number(response.headers.get('content-length')) || undefined;
  const tmp = `${destination}.${process.pid}.download`;
  const out = createWriteStream(tmp);
  const hash = createHash('sha1');
  let received = 0;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.length;
      onProgress({ received, total });
      if (!out.write(chunk)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
    const digest = hash.digest('hex');
    if (sha1 && digest !== sha1) throw new Error(`checksum mismatch for ${url}: got ${digest}, expected ${sha1}`);
    await rename(tmp, destination);
  } catch (error) {
    out.destroy();
    await rm(tmp, { force: true });
    throw error;
  }
}
