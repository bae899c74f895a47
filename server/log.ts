// Structured logs (pino, one JSON line per event) and the small logging
// signature the actors and native modules take, so they never import pino.
import { pino, type Logger } from 'pino';

import type { LogFn } from '../native/log-fn.ts';

export type { LogFn };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'whisper-hub' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export function logFn(logger: Logger): LogFn {
  return (level, message, fields) => logger[level](fields ?? {}, message);
}
