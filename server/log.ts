// Structured logs (pino, one JSON line per event) and the small logging
// signature the actors and native modules take, so they never import pino.
import { pino, type Logger } from 'pino';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFn = (level: LogLevel, message: string, fields?: object) => void;

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'whisper-hub' }, timestamp: pino.stdTimeFunctions.isoTime });
}

export function logFn(logger: Logger): LogFn {
  return (level, message, fields) => logger[level](fields ?? {}, message);
}
