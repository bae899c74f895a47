// The hub's command line, on the SDK:
//   hub transcribe <file> [--format txt|srt|vtt|json] [--follow] [--language xx]
//   hub stream <file|-> [--language xx] [--speed 1]   (- reads s16le 16 kHz mono from stdin)
//   hub tasks [--status s] [--limit n] [--json]
//   hub transcript <task id> [--format txt|srt|vtt|json]
//   hub cancel <task id>                        (cancels a running task, deletes a finished one)
//   hub admin watch
// Options everywhere: --url (or HUB_URL, default http://127.0.0.1:8080), --token (or HUB_TOKEN).
// Exit codes: 0 done; 1 the task failed or was cancelled; 2 bad usage or a local
// file that cannot be read; 3 the hub
// refused or could not be reached (the error code is printed).
import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { createHubClient, HubApiError, type HubClient, type Task } from '../sdk/index.ts';
import { isFinished, TRANSCRIPT_FORMATS, type TranscriptFormat } from '../protocol/types.ts';
import { type StatsFrame } from '../protocol/admin.ts';

const USAGE = `usage:
  hub transcribe <file> [--format txt|srt|vtt|json] [--follow] [--language xx]
  hub stream <file|-> [--language xx] [--speed 1]   (- reads s16le 16 kHz mono from stdin)
  hub tasks [--status completed|failed|...] [--limit n] [--json]
  hub transcript <task id> [--format txt|srt|vtt|json]
  hub cancel <task id>      (cancels a running task, deletes a finished one)
  hub admin watch
options: --url URL (HUB_URL), --token TOKEN (HUB_TOKEN)`;

const EXIT = { ok: 0, failed: 1, usage: 2, hub: 3 } as const;

class UsageError extends Error {}

const err = (line: string) => process.stderr.write(`${line}\n`);
const tty = process.stderr.isTTY;

function bar(label: string, fraction: number): void {
  if (!tty) return;
  const width = 30;
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`);
  if (fraction >= 1) process.stderr.write('\n');
}

/** The file as a Blob read from disk as it is sent (never whole in memory). */
async function openInput(file: string): Promise<Blob> {
  const info = await stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new UsageError(e.code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${e.message}`);
  });
  if (!info.isFile()) throw new UsageError(`not a file: ${file}`);
  return openAsBlob(file);
}

async function transcribe(hub: HubClient, file: string, opts: { format: TranscriptFormat; follow: boolean; language?: string }): Promise<number> {
  const body = await openInput(file);
  const task = await hub.upload(body, {
    name: basename(file),
    ...(opts.language ? { language: opts.language } : {}),
    onProgress: (sent, total) => bar('upload    ', total ? sent / total : 1),
  });
  let last: Task = task;
  await new Promise<void>((resolve, reject) => {
    hub.watch(task.id, {
      onFrame: (f) => {
        if (f.type === 'progress' && f.total) bar('transcribe', f.done / f.total);
        if (f.type === 'segments' && opts.follow) {
          for (const s of f.segments) process.stdout.write(`[${s.start.toFixed(2)} → ${s.end.toFixed(2)}] ${s.text}\n`);
        }
      },
      onTask: (t) => {
        last = t;
        if (isFinished(t.status)) resolve();
      },
      onError: reject,
    });
  });
  hub.close();
  if (last.status !== 'completed') {
    err(`task ${last.id} ${last.status}${last.error ? `: ${last.error.code}: ${last.error.message}` : ''}`);
    return EXIT.failed;
  }
  if (!opts.follow) process.stdout.write(await hub.transcript(task.id, opts.format));
  err(`task ${task.id} completed`);
  return EXIT.ok;
}

async function stream(hub: HubClient, source: string, opts: { language?: string; speed: number }): Promise<number> {
  if (source !== '-') await openInput(source);
  const partial = (text: string) => tty && process.stderr.write(`\r\x1b[2K… ${text.slice(-100)}`);
  const from = source === '-' ? (process.stdin as AsyncIterable<Uint8Array>) : source;
  const live = await hub.stream(from, { ...(opts.language ? { language: opts.language } : {}), speed: opts.speed }, {
    onPartial: (f) => partial(f.text),
    onFinal: (f) => {
      if (tty) process.stderr.write('\r\x1b[2K');
      if (f.text) process.stdout.write(`[${f.start.toFixed(2)} → ${f.end.toFixed(2)}] ${f.text}\n`);
    },
    onLag: (f) => err(`(the hub is ${f.seconds} s behind)`),
    onReconnecting: (r) => err(r ? '(connection lost, reconnecting)' : '(reconnected)'),
  }).catch((error: unknown) => {
    // ffmpeg could not read the file here: the input is at fault, not the hub
    if (error instanceof HubApiError && error.code === 'unsupported_audio' && error.closeCode === undefined) throw new UsageError(error.message);
    throw error;
  });
  err(`session ${live.id}${source === '-' ? ' (reading s16le 16 kHz mono from stdin)' : ''}`);
  process.once('SIGINT', () => void live.stop()); // Ctrl-C: the last words still become finals
  const seconds = await live.finished;
  err(`closed after ${seconds.toFixed(1)} s of audio; transcript: task ${live.id}`);
  return EXIT.ok;
}

async function tasks(hub: HubClient, opts: { status?: string; limit?: string; json: boolean }): Promise<number> {
  const { tasks } = await hub.tasks({ ...(opts.status ? { status: opts.status as Task['status'] } : {}), limit: Number(opts.limit ?? 20) });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(tasks, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const t of tasks) {
    const progress = t.status === 'transcribing' && t.kind === 'file' ? `${t.progress.pct}%` : '';
    process.stdout.write(`${t.id}  ${t.createdAt.slice(0, 19).replace('T', ' ')}  ${t.kind.padEnd(6)} ${t.status.padEnd(12)} ${progress.padStart(6)}  ${t.name ?? ''}\n`);
  }
  return EXIT.ok;
}

async function adminWatch(hub: HubClient): Promise<number> {
  let stats: StatsFrame | undefined;
  let failure: HubApiError | undefined;
  const conn = hub.admin({ onStats: (s) => (stats = s), onError: (e) => (failure = e) });
  for (;;) {
    if (failure) throw failure;
    const rows = [...conn.actors.values()].map((a) => {
      const progress = (a.progress as { pct?: number } | undefined)?.pct;
      const detail = progress !== undefined ? `${progress}%` : a.job ? `job ${String((a.job as { taskId?: string }).taskId ?? '').slice(0, 8)}` : '';
      return `${a.kind.padEnd(12)} ${a.id.slice(0, 36).padEnd(37)} ${String(a.state).padEnd(20)} ${String(a.userId ?? '').padEnd(10)} ${detail}`;
    });
    const queue = stats?.queue;
    const loop = stats?.eventLoop;
    const header = `queue live ${queue?.live ?? '-'} batch ${queue?.batch ?? '-'}   loop p99 ${loop?.p99Ms ?? '-'} ms   ${new Date().toLocaleTimeString()}`;
    process.stdout.write(`${process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${header}\n${'KIND'.padEnd(12)} ${'ID'.padEnd(37)} ${'STATE'.padEnd(20)} ${'USER'.padEnd(10)} WORK\n${rows.join('\n')}\n`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function transcriptFormat(value: string): TranscriptFormat {
  if (!TRANSCRIPT_FORMATS.includes(value as TranscriptFormat)) throw new UsageError(`--format must be one of ${TRANSCRIPT_FORMATS.join(', ')}`);
  return value as TranscriptFormat;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string', default: process.env.HUB_URL ?? 'http://127.0.0.1:8080' },
      token: { type: 'string', default: process.env.HUB_TOKEN },
      format: { type: 'string', default: 'txt' },
      follow: { type: 'boolean', default: false },
      language: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      speed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, arg] = positionals;
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (!command) throw new UsageError(USAGE);
  const hub = createHubClient({ url: values.url!, ...(values.token ? { token: values.token } : {}) });
  const language = values.language;
  switch (command) {
    case 'transcribe':
      if (!arg) throw new UsageError('transcribe needs a file');
      return transcribe(hub, arg, { format: transcriptFormat(values.format!), follow: values.follow!, ...(language ? { language } : {}) });
    case 'transcript':
      if (!arg) throw new UsageError('transcript needs a task id (see hub tasks)');
      process.stdout.write(await hub.transcript(arg, transcriptFormat(values.format!)));
      return EXIT.ok;
    case 'cancel': {
      if (!arg) throw new UsageError('cancel needs a task id (see hub tasks)');
      const task = await hub.cancel(arg);
      err(task ? `task ${arg} ${task.status}` : `task ${arg} deleted`);
      return EXIT.ok;
    }
    case 'stream':
      if (!arg) throw new UsageError('stream needs a file, or - for s16le 16 kHz mono on stdin');
      if (!(Number(values.speed) >= 0)) throw new UsageError('--speed must be a number, 1 for real time');
      return stream(hub, arg, { ...(language ? { language } : {}), speed: Number(values.speed) });
    case 'tasks':
      return tasks(hub, { ...(values.status ? { status: values.status } : {}), ...(values.limit ? { limit: values.limit } : {}), json: values.json! });
    case 'admin':
      if (arg !== 'watch') throw new UsageError('admin watch');
      return adminWatch(hub);
    default:
      throw new UsageError(`unknown command ${command}\n${USAGE}`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      err(error.message);
      process.exit(EXIT.usage);
    }
    if (error instanceof HubApiError) {
      err(`hub: ${error.code}: ${error.message}`);
      process.exit(EXIT.hub);
    }
    err(`hub: ${(error as Error).message}`);
    process.exit(EXIT.hub);
  },
);
