// The hub's HTTP API from browsers and Node: fetch, the token as a bearer
// header, errors as HubApiError with the protocol's code. Uploads stream and
// report byte-level progress (XMLHttpRequest in browsers, node:http in Node);
// large ones are resumable (tus), so a broken link costs one piece, not the file.
import { optionsQuery } from './options.ts';
import type { TranscribeOptions } from '../protocol/types.ts';
import type { Task, TaskStatus, TaskSummary, TranscriptFormat } from '../protocol/types.ts';
import { HubApiError } from './errors.ts';
import { RESUMABLE_ABOVE, uploadResumable } from './resumable.ts';
import { reach } from './reach.ts';

export interface HttpOptions {
  url: string;
  token?: string;
}

export interface Me {
  authenticated: boolean;
  userId?: string;
  admin?: boolean;
  open: boolean;
  /** the hub's upload size limit */
  maxUploadBytes?: number;
}

export interface UploadOptions {
  name?: string;
  language?: string;
  /** translate, prompt, temperature, beam (see Task.options) */
  options?: TranscribeOptions;
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** The hub's `{"error":{"code","message"}}` answer as a HubApiError. */
export function errorFrom(status: number, text: string): HubApiError {
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string } };
    return new HubApiError(error.code, error.message, status);
  } catch {
    return new HubApiError(status === 404 ? 'not_found' : 'internal', text || `the hub answered ${status}`, status);
  }
}

/** A 201 with the task, or the hub's error. */
function created(status: number, text: string): Task {
  if (status !== 201) throw errorFrom(status, text);
  try {
    return JSON.parse(text) as Task;
  } catch {
    throw new HubApiError('internal', `the upload's answer is not a task: ${text.slice(0, 100)}`, status);
  }
}

async function failure(res: Response): Promise<HubApiError> {
  return errorFrom(res.status, await res.text().catch(() => ''));
}

export class HubHttp {
  constructor(private readonly options: HttpOptions) {}

  private headers(): Record<string, string> {
    return this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {};
  }

  private path(path: string, query: Record<string, string | number | undefined> = {}): string {
    const url = new URL(path, this.options.url);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    return url.toString();
  }

  private async request(method: string, path: string, query?: Record<string, string | number | undefined>): Promise<Response> {
    const res = await reach(this.path(path, query), { method, headers: this.headers() });
    if (!res.ok) throw await failure(res);
    return res;
  }

  private uploadLimit: Promise<number | undefined> | undefined;

  /** Who the token belongs to (never throws for a bad token: `authenticated` is false), and the upload size limit. */
  async me(): Promise<Me> {
    return (await this.request('GET', '/v1/me')).json() as Promise<Me>;
  }

  /** The hub's upload limit, asked once (undefined when it cannot be known). */
  private maxUploadBytes(): Promise<number | undefined> {
    this.uploadLimit ??= this.me().then(
      (me) => me.maxUploadBytes,
      () => (this.uploadLimit = undefined),
    );
    return this.uploadLimit;
  }

  async task(id: string): Promise<Task> {
    return (await this.request('GET', `/v1/tasks/${encodeURIComponent(id)}`)).json() as Promise<Task>;
  }

  /** A page of the caller's tasks, newest first; their transcripts only with `segments: true`. */
  async tasks(query: { status?: TaskStatus; limit?: number; before?: string; segments?: boolean } = {}): Promise<{ tasks: TaskSummary[]; next?: string }> {
    const { segments, ...rest } = query;
    const res = await this.request('GET', '/v1/tasks', { ...rest, ...(segments ? { segments: '1' } : {}) });
    const next = res.headers.get('x-next-before') ?? undefined;
    return { tasks: (await res.json()) as TaskSummary[], ...(next ? { next } : {}) };
  }

  async transcript(id: string, format: TranscriptFormat = 'txt'): Promise<string> {
    return (await this.request('GET', `/v1/tasks/${encodeURIComponent(id)}/transcript`, { format })).text();
  }

  /** Cancels a running task (resolves with it) or deletes a finished one (resolves undefined). */
  async cancelOrDelete(id: string): Promise<Task | undefined> {
    const res = await this.request('DELETE', `/v1/tasks/${encodeURIComponent(id)}`);
    return res.status === 204 ? undefined : ((await res.json()) as Task);
  }

  /** Uploads a recording, streamed (in Node a Blob from `fs.openAsBlob` is read from disk as it goes); `onProgress` follows the bytes sent. */
  async upload(body: Blob | Uint8Array, options: UploadOptions = {}): Promise<Task> {
    const url = this.path('/v1/tasks', { name: options.name, language: options.language, ...optionsQuery(options.options) });
    const size = body instanceof Uint8Array ? body.byteLength : body.size;
    const limit = await this.maxUploadBytes();
    if (limit !== undefined && size > limit) {
      // Refused here, not after sending it: the hub's early 413 may reach us only as a broken pipe.
      throw new HubApiError('payload_too_large', `the upload is larger than ${Math.floor(limit / 1048576)} MB`, 413);
    }
    if (size > RESUMABLE_ABOVE) {
      const id = await uploadResumable(body, { ...options, base: this.options.url, headers: this.headers(), transfer, errorFrom });
      return this.task(id);
    }
    const { status, text } = await transfer('POST', url, this.headers(), body, (sent) => options.onProgress?.(sent, size), options.signal);
    return created(status, text);
  }
}

/** Sends one request body with byte progress; resolves with any answer, rejects only when none came. */
export async function transfer(method: string, url: string, headers: Record<string, string>, body: Blob | Uint8Array, onProgress?: (sent: number) => void, signal?: AbortSignal) {
  if (typeof XMLHttpRequest === 'undefined') {
    const { uploadWithNode } = await import('./upload-node.ts');
    return uploadWithNode({ method, url, headers, body, ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
  }
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded);
    xhr.onload = () => resolve({ status: xhr.status, text: xhr.responseText });
    xhr.onerror = () => reject(new HubApiError('network', 'the upload could not reach the hub'));
    xhr.onabort = () => reject(new HubApiError('aborted', 'the upload was aborted'));
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body as XMLHttpRequestBodyInit);
  });
}
