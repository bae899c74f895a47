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

/** Close codes of the protocol, and the error codes they mean. */
export const CLOSE_CODES: Record<number, string> = {
  4001: 'unauthorized',
  4002: 'unsupported_audio',
  4003: 'forbidden',
  4004: 'not_found',
  4008: 'idle_timeout',
  4009: 'too_slow',
  4013: 'payload_too_large',
  4029: 'overloaded',
};
