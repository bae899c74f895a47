// The SDK's one error type: every failure the hub reports, with the protocol's
// stable code (`unauthorized`, `not_found`, `payload_too_large`, ...) and the
// HTTP status or socket close code it came with.
export class HubApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** HTTP status, when the error came from an HTTP answer */
    readonly status?: number,
    /** WebSocket close code, when the error ended a socket */
    readonly closeCode?: number,
  ) {
    super(message);
    this.name = 'HubApiError';
  }
}

export { CLOSE_CODES } from '../protocol/close.ts';
