// The hub's HTTP API from browsers and Node: fetch, the token as a bearer
// header, errors as HubApiError with the protocol's code. Uploads stream and
// report byte-level progress (XMLHttpRequest in browsers, node:http in Node).
import type { Task, TaskStatus, TranscriptFormat } from '../protocol.ts';
import { HubApiError } from './errors.ts';

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
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

/** The hub's `{"error":{"code","message"}}` answer as a HubApiError. */
function errorFrom(status: number, text: string): HubApiError {
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

/** fetch, with "cannot connect" as a HubApiError like every other failure. */
async function reach(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new HubApiError('aborted', 'the request was aborted');
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new HubApiError('network', `the hub at ${new URL(url).origin} is not reachable (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
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

  async tasks(query: { status?: TaskStatus; limit?: number; before?: string } = {}): Promise<{ tasks: Task[]; next?: string }> {
    const res = await this.request('GET', '/v1/tasks', query);
    const next = res.headers.get('x-next-before') ?? undefined;
    return { tasks: (await res.json()) as Task[], ...(next ? { next } : {}) };
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
    const url = this.path('/v1/tasks', { name: options.name, language: options.language });
    const size = body instanceof Uint8Array ? body.byteLength : body.size;
    const limit = await this.maxUploadBytes();
    if (limit !== undefined && size > limit) {
      // Refused here, not after sending it: the hub's early 413 may reach us only as a broken pipe.
      throw new HubApiError('payload_too_large', `the upload is larger than ${Math.floor(limit / 1048576)} MB`, 413);
    }
    if (typeof XMLHttpRequest !== 'undefined') return this.uploadXhr(url, body, size, options);
    const { uploadWithNode } = await import('./upload-node.ts');
    const { status, text } = await uploadWithNode({ url, headers: this.headers(), body, ...options });
    return created(status, text);
  }

  private uploadXhr(url: string, body: Blob | Uint8Array, size: number, options: UploadOptions): Promise<Task> {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open('POST', url);
      for (const [k, v] of Object.entries(this.headers())) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => options.onProgress?.(e.loaded, e.lengthComputable ? e.total : size);
      xhr.onload = () => {
        try {
          resolve(created(xhr.status, xhr.responseText));
        } catch (error) {
          reject(error);
        }
      };
      xhr.onerror = () => reject(new HubApiError('network', 'the upload could not reach the hub'));
      xhr.onabort = () => reject(new HubApiError('aborted', 'the upload was aborted'));
      options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(body as XMLHttpRequestBodyInit);
    });
  }
}
