// bench:decode — the decoder's memory and speed on recordings that are small
// on disk but long once decoded (the files that once took a decoder to 3 GB):
// 2 h of silence as FLAC, 1 h at 96 kHz, 12 h. Each decode runs in a process
// of its own, as in the hub; its peak RSS (with ffmpeg's) is sampled every
// 20 ms. Baseline in the same run: the in-process decoder (Symphonia, whole
// recording in memory), which the hub now uses only without ffmpeg.
// Goal: streamed decoding flat, under 150 MB, whatever the length.
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeToPcm } from '../../native/audio/decode.ts';
import { findFfmpeg } from '../../native/audio/ffmpeg.ts';

const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === '--idle') {
  process.send!({ ok: true, ms: 0 });
  setTimeout(() => process.exit(0), 500);
} else if (process.argv[2] === '--one') {
  // child: decode one file with one decoder, report the outcome
  const [, , , input, decoder] = process.argv;
  const started = performance.now();
  const ffmpeg = decoder === 'ffmpeg' ? await findFfmpeg() : undefined;
  const out = `${input}.${decoder}.pcm`;
  const result = await decodeToPcm(input!, out, { maxSamples: Infinity, ffmpeg }).then(
    (d) => ({ ok: true, seconds: d.samples / 16_000 }),
    (e: Error) => ({ ok: false, error: e.message.slice(0, 120) }),
  );
  await rm(out, { force: true });
  process.send!({ ...result, ms: performance.now() - started });
  process.exit(0);
} else {
  await main();
}

async function main(): Promise<void> {

const dir = join(tmpdir(), 'bench-decode');
mkdirSync(dir, { recursive: true });
const files: [string, string[]][] = [
  ['silence-2h.flac', ['-n', '-r', '16000', '-c', '1', 'FILE', 'trim', '0', '7200']],
  ['silence-1h-96k.flac', ['-n', '-r', '96000', '-c', '1', 'FILE', 'trim', '0', '3600']],
  ['silence-12h.flac', ['-n', '-r', '16000', '-c', '1', 'FILE', 'trim', '0', '43200']],
];
for (const [name, args] of files) {
  const path = join(dir, name);
  if (!existsSync(path)) execFileSync('sox', args.map((a) => (a === 'FILE' ? path : a)));
}

async function rssOfTree(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  let kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  for (const task of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const children = (await readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')).trim().split(/\s+/).filter(Boolean);
    for (const child of children) kb += await rssOfTree(Number(child));
  }
  return kb;
}

async function measure(input: string, decoder: 'ffmpeg' | 'symphonia' | 'idle') {
  const child = fork(SELF, decoder === 'idle' ? ['--idle'] : ['--one', input, decoder], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let peakKb = 0;
  const sampler = setInterval(() => void rssOfTree(child.pid!).then((kb) => (peakKb = Math.max(peakKb, kb))), 20);
  const outcome = await new Promise<{ ok: boolean; seconds?: number; error?: string; ms: number } | undefined>((resolve) => {
    child.once('message', (m) => (decoder === 'idle' ? setTimeout(() => resolve(m as never), 300) : resolve(m as never)));
    child.once('exit', (code, signal) => resolve({ ok: false, error: `the decoder died (${signal ?? code})`, ms: NaN }));
  });
  clearInterval(sampler);
  return { ...outcome!, peakMb: peakKb / 1024 };
}

const idle = await measure('', 'idle');
console.log(`bench:decode  peak RSS of the decoding process (and ffmpeg), time; baseline: the in-memory decoder; an idle Node process with tsx: ${idle.peakMb.toFixed(0)} MB`);
for (const [name] of files) {
  const path = join(dir, name);
  const streamed = await measure(path, 'ffmpeg');
  // The in-memory baseline is skipped for 12 h: it would need ~2.8 GB of samples and more to write them.
  const inMemory = name.includes('12h') ? undefined : await measure(path, 'symphonia');
  const line = (r: { ok: boolean; peakMb: number; ms: number; seconds?: number; error?: string }) =>
    r.ok ? `${r.peakMb.toFixed(0).padStart(5)} MB ${(r.ms / 1000).toFixed(1).padStart(6)} s (${((r.seconds ?? 0) / 3600).toFixed(1)} h)` : `failed: ${r.error}`;
  console.log(`${name.padEnd(22)} streamed (ffmpeg) ${line(streamed)}   in memory ${inMemory ? line(inMemory) : 'skipped'}`);
}
}
