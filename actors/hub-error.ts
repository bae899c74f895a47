// An error with a stable protocol code (see client/protocol/types.ts ERROR_CODES):
// what every refusal inside the hub throws, and what the server turns into an
// HTTP status or a socket error frame.
import type { ErrorCode } from '../client/protocol/types.ts';

export class HubError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
