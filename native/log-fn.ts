// The one logging signature the hub's parts take (the server adapts pino to
// it), so no module below the server depends on a logging library.
export type LogFn = (level: 'info' | 'warn' | 'error', message: string, fields?: object) => void;
