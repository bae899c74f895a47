// Large files go up as resumable (tus 1.0) uploads: created once, then sent
// in pieces; a piece lost to a broken link is asked about (HEAD) and resumed
// from the offset the hub acknowledged, never from the start. The transport
// for each piece is the SDK's own (XHR in browsers, node:http in Node), so
// progress is counted byte by byte as for a plain upload.
import { HubApiError } from './errors.ts';
import { reach } from './reach.ts';
import { optionsQuery } from './options.ts';
import type { TranscribeOptions } from '../protocol/types.ts';

/** Files larger than this are uploaded resumably. */
export const RESUMABLE_ABOVE = 8 * 1024 * 1024;
const PIECE_BYTES = 8 * 1024 * 1024;
/** tries in a row without progress before giving up, with backoff between them */
const MAX_FAILURES = 8;
const TUS = { 'Tus-Resumable': '1.0.0' };

export type Transfer = (
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Blob | Uint8Array,
  onProgress?: (sent: number) => void,
  signal?: AbortSignal,
) => Promise<{ status: number; text: string }>;

export interface ResumableUpload {
  /** the hub's base URL */
  base: string;
  headers: Record<string, string>;
  transfer: Transfer;
  /** the hub's coded error for an answer that is not a success */
  errorFrom: (status: number, text: string) => HubApiError;
  name?: string;
  language?: string;
  options?: TranscribeOptions;
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

const metadata = (fields: Record<string, string | undefined>) =>
  Object.entries(fields)
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${btoa(String.fromCharCode(...new TextEncoder().encode(v!)))}`)
    .join(',');

/** Uploads `body` resumably; resolves with the id of the task it became. */
export async function uploadResumable(body: Blob | Uint8Array, o: ResumableUpload): Promise<string> {
  const size = body instanceof Uint8Array ? body.byteLength : body.size;
  const created = await reach(`${o.base}/v1/uploads`, {
    method: 'POST',
    headers: { ...o.headers, ...TUS, 'Upload-Length': String(size), 'Upload-Metadata': metadata({ filename: o.name, language: o.language, ...optionsQuery(o.options) }) },
    ...(o.signal ? { signal: o.signal } : {}),
  }, 'upload');
  if (created.status !== 201) throw o.errorFrom(created.status, await created.text());
  const location = new URL(created.headers.get('location') ?? '', o.base).toString();
  const id = location.split('/').pop()!;
  let offset = 0;
  let failures = 0;
  while (offset < size) {
    const piece = body.slice(offset, Math.min(size, offset + PIECE_BYTES));
    const headers = { ...o.headers, ...TUS, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' };
    const from = offset;
    try {
      const answer = await o.transfer('PATCH', location, headers, piece, (sent) => o.onProgress?.(from + sent, size), o.signal);
      if (answer.status === 204) {
        offset += piece instanceof Uint8Array ? piece.byteLength : piece.size;
        failures = 0;
        continue;
      }
      // 409 (another offset) and 423 (still being written): ask where it stands.
      if (answer.status !== 409 && answer.status !== 423 && answer.status < 500) throw o.errorFrom(answer.status, answer.text);
    } catch (error) {
      if (!(error instanceof HubApiError) || error.code !== 'network') throw error;
    }
    if (++failures > MAX_FAILURES) throw new HubApiError('network', `the upload failed ${MAX_FAILURES} times in a row at byte ${offset} of ${size}; start it again to resume`);
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(10_000, 250 * 2 ** failures)));
    offset = await standing(location, o).catch(() => offset);
  }
  return id;
}

async function standing(location: string, o: ResumableUpload): Promise<number> {
  const res = await reach(location, { method: 'HEAD', headers: { ...o.headers, ...TUS }, ...(o.signal ? { signal: o.signal } : {}) }, 'upload');
  const offset = Number(res.headers.get('upload-offset'));
  if (!res.ok || !Number.isFinite(offset)) throw o.errorFrom(res.status, '');
  return offset;
}

