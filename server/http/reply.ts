// Answers one HTTP request on uWS: tracks abortion (uWS forbids touching an
// aborted response), corks every write, and turns HubErrors into the
// protocol's `{"error":{"code","message"}}` bodies.
import type { HttpResponse } from '../uws.ts';
import { HubError } from '../../actors/hub-error.ts';
import { isTransient } from '../../actors/stores/transient.ts';

const STATUS_TEXT: Record<number, string> = {
  200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
  404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
  429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable', 507: 'Insufficient Storage',
};

export const STATUS_OF_CODE: Record<string, number> = {
  bad_request: 400, unauthorized: 401, forbidden: 403, not_found: 404, payload_too_large: 413,
  unsupported_audio: 415, overloaded: 429, shutting_down: 503, internal: 500, engine_failed: 500, corrupt_record: 500,
  insufficient_storage: 507, store_unavailable: 503, audio_too_long: 413, unknown_model: 400,
};

export const CORS_HEADERS: [string, string][] = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Headers', 'Authorization, Content-Type, Tus-Resumable, Upload-Length, Upload-Metadata, Upload-Offset'],
  ['Access-Control-Allow-Methods', 'GET, POST, PATCH, HEAD, DELETE, OPTIONS'],
  ['Access-Control-Expose-Headers', 'X-Next-Before, Location, Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Upload-Length, Upload-Offset'],
];

export class Reply {
  private aborted = false;
  private sent = false;
  private readonly abortHandlers: (() => void)[] = [];

  constructor(
    private readonly res: HttpResponse,
    private readonly onInternalError: (error: unknown) => void = () => {},
  ) {
    res.onAborted(() => {
      this.aborted = true;
      for (const h of this.abortHandlers) h();
    });
  }

  get open(): boolean {
    return !this.aborted && !this.sent;
  }

  onAbort(handler: () => void): void {
    this.abortHandlers.push(handler);
  }

  /** The raw response, for streaming request bodies. */
  get raw(): HttpResponse {
    return this.res;
  }

  /** `body` undefined: headers only (an answer to HEAD). */
  send(status: number, body: string | Uint8Array | undefined, headers: [string, string][] = [], closeConnection = false): void {
    if (!this.open) return;
    this.sent = true;
    this.res.cork(() => {
      this.res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`);
      for (const [k, v] of [...CORS_HEADERS, ...headers]) this.res.writeHeader(k, v);
      if (status === 204 || status === 304 || body === undefined) this.res.endWithoutBody(0, closeConnection);
      else this.res.end(body, closeConnection);
    });
  }

  /**
   * Starts an answer whose body is written piece by piece (server-sent
   * events): the status and headers now, then `write`, then `end`. Writes
   * after the client went away are dropped.
   */
  startStream(status: number, headers: [string, string][]): { write(text: string): void; end(): void } {
    if (!this.open) return { write: () => {}, end: () => {} };
    this.sent = true;
    this.res.cork(() => {
      this.res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`);
      for (const [k, v] of [...CORS_HEADERS, ...headers]) this.res.writeHeader(k, v);
    });
    let ended = false;
    return {
      write: (text) => {
        if (!this.aborted && !ended) this.res.cork(() => this.res.write(text));
      },
      end: () => {
        if (this.aborted || ended) return;
        ended = true;
        this.res.cork(() => this.res.end());
      },
    };
  }

  /** Whether the client went away before the answer was complete. */
  get abandoned(): boolean {
    return this.aborted;
  }

  json(status: number, body: unknown, headers: [string, string][] = [], closeConnection = false): void {
    this.send(status, JSON.stringify(body), [['Content-Type', 'application/json; charset=utf-8'], ...headers], closeConnection);
  }

  /** A coded error with headers of its own (and the status its code maps to, unless given). */
  codedError(error: HubError, headers: [string, string][], status = STATUS_OF_CODE[error.code] ?? 500): void {
    this.send(status, JSON.stringify({ error: { code: error.code, message: error.message } }), [['Content-Type', 'application/json; charset=utf-8'], ...headers]);
  }

  /** A coded error; a store that does not answer is `store_unavailable`; anything else unknown is logged and answered as `internal`. */
  error(error: unknown, closeConnection = false): void {
    if (!(error instanceof HubError) && isTransient(error)) {
      error = new HubError('store_unavailable', 'the database is not answering; try again shortly');
    }
    const coded = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
    const known = error instanceof HubError || (typeof coded === 'string' && coded in STATUS_OF_CODE);
    if (!known) this.onInternalError(error);
    const code = known ? String(coded) : 'internal';
    const message = known ? (error as Error).message : 'something went wrong on our side; it has been logged';
    this.send(STATUS_OF_CODE[code] ?? 500, JSON.stringify({ error: { code, message } }), [['Content-Type', 'application/json; charset=utf-8']], closeConnection);
  }
}
