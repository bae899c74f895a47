// Which store failures are worth retrying, told by the error's name, code or
// driver labels (never by its message).
/**
 * Failures worth retrying: the store is unreachable, slow, busy or restarting.
 * Anything else (a document it refuses, a bug) would fail the same way again.
 */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; code?: string | number; message?: string; errorLabels?: string[] } | undefined;
  if (!e) return false;
  if (e.errorLabels?.includes('RetryableWriteError') || e.errorLabels?.includes('TransientTransactionError')) return true;
  if (/^Mongo(Network|ServerSelection|NetworkTimeout|PoolCleared|NotConnected|TopologyClosed)/.test(e.name ?? '')) return true;
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR'].includes(String(e.code))) return true;
  return e.name === 'WorkerDiedError' || e.name === 'TimeoutError' || e.code === 'store_unavailable';
}
