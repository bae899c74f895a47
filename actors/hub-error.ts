// An error with a stable protocol code (see client/protocol.ts ERROR_CODES):
// what every refusal inside the hub throws, and what the server turns into an
// HTTP status or a socket error frame.
import type { ErrorCode } from '../client/protocol.ts';

export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
