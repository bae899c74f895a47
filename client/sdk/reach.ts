// fetch, with its failures as HubApiError like every other failure: an abort
// is `aborted`, a hub that cannot be reached is `network` (with the cause).
import { HubApiError } from './errors.ts';

/** fetch, with "cannot connect" as a HubApiError like every other failure. */
export async function reach(url: string, init: RequestInit, what = 'request'): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new HubApiError('aborted', `the ${what} was aborted`);
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new HubApiError('network', `the hub at ${new URL(url).origin} is not reachable (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
}
