// Finds ffmpeg once (asynchronously: a synchronous lookup would stall the loop
// it runs on) and starts it for the decoders. ffmpeg is optional: without it,
// Opus streams and the containers the in-process decoder cannot read are
// refused with a message that says to install it.
import { execFile, spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';

export interface FfmpegInfo {
  path: string;
  version: string;
}

let lookup: Promise<FfmpegInfo | undefined> | undefined;

/** ffmpeg on the PATH, or undefined when it is not installed; looked up once per process. */
export function findFfmpeg(): Promise<FfmpegInfo | undefined> {
  lookup ??= new Promise((resolve) => {
    execFile('ffmpeg', ['-hide_banner', '-version'], { timeout: 10_000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      resolve({ path: 'ffmpeg', version: /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? 'unknown' });
    });
  });
  return lookup;
}

export const FFMPEG_MISSING = 'ffmpeg is not installed on the hub, and this audio needs it (install the ffmpeg package)';

export type FfmpegProcess = ChildProcessByStdio<Writable, Readable, Readable>;

/** Starts ffmpeg with `args`; stdin, stdout and stderr are pipes. */
export function spawnFfmpeg(info: FfmpegInfo, args: string[]): FfmpegProcess {
  return spawn(info.path, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}
