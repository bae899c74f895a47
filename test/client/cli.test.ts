// The CLI end to end, as a script would run it: its output and exit codes.
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADMIN, ALICE, startTestHub } from '../helpers/hub.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';

const CLI = fileURLToPath(new URL('../../client/cli/hub.mjs', import.meta.url));
const { url } = await startTestHub(t);

function hub(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000, stdin?: Uint8Array): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, HUB_URL: url, HUB_TOKEN: ALICE, ...env } });
    child.stdin.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('transcribe: the transcript on stdout, in the asked format; exit 0', async (t) => {
  const r = await hub(['transcribe', join(FIXTURES, 'speech.mp3'), '--format', 'srt']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^1\n00:00:00,000 --> 00:00:06,\d{3}\nThe quick brown fox jumps over the lazy dog\.\n/);
  t.match(r.stderr, /task [0-9a-f-]+ completed/);
});

t.test('transcribe --follow: segments as they come', async (t) => {
  const r = await hub(['transcribe', join(FIXTURES, 'long.wav'), '--follow', '--language', 'en']);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.ok(lines.length >= 4, `${lines.length} segment lines`);
  t.match(lines[0], /^\[0\.00 → 10\.00\] The quick brown fox/);
});

t.test('stream: a file paced in real time, finals on stdout', async (t) => {
  const r = await hub(['stream', join(FIXTURES, 'speech.wav')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\] The quick brown fox/);
  t.match(r.stderr, /closed after 6\.\d s of audio/);
});

t.test('stream -: raw PCM from stdin, as a pipe from a recorder gives it', async (t) => {
  const pcm = await readAudioFile(join(FIXTURES, 'speech.wav'), 's16le');
  const r = await hub(['stream', '-', '--speed', '4'], {}, 60_000, pcm);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /\] The quick brown fox/);
  t.match(r.stderr, /reading s16le 16 kHz mono from stdin/);
  t.match(r.stderr, /closed after 6\.\d s of audio/);
});

t.test('tasks lists them', async (t) => {
  const r = await hub(['tasks', '--limit', '5']);
  t.equal(r.code, 0);
  t.ok(r.stdout.trim().split('\n').length >= 2);
  t.match(r.stdout, /completed/);
});

t.test('tasks --json, transcript <id>, cancel <id>, --help', async (t) => {
  const listed = await hub(['tasks', '--json', '--status', 'completed', '--limit', '3']);
  t.equal(listed.code, 0);
  const tasks = JSON.parse(listed.stdout) as { id: string; status: string }[];
  t.ok(tasks.length >= 1 && tasks.every((task) => task.status === 'completed'), `${tasks.length} completed tasks as JSON`);
  const vtt = await hub(['transcript', tasks[0]!.id, '--format', 'vtt']);
  t.equal(vtt.code, 0);
  t.match(vtt.stdout, /^WEBVTT\n/);
  const missing = await hub(['transcript', 'no-such-task']);
  t.equal(missing.code, 3);
  t.match(missing.stderr, /not_found/);
  const deleted = await hub(['cancel', tasks[0]!.id]);
  t.equal(deleted.code, 0);
  t.match(deleted.stderr, /deleted/);
  t.equal((await hub(['transcript', tasks[0]!.id])).code, 3, 'gone');
  const help = await hub(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /hub transcribe <file>/);
});

t.test('exit codes a script can rely on', async (t) => {
  t.equal((await hub([])).code, 2, 'no command: usage');
  t.equal((await hub(['dance'])).code, 2, 'unknown command');
  t.equal((await hub(['transcribe', '/no/such/file.wav'])).code, 2, 'missing file');
  t.equal((await hub(['transcribe', join(FIXTURES, 'speech.wav'), '--format', 'doc'])).code, 2, 'bad format');
  t.equal((await hub(['stream', join(FIXTURES, 'speech.wav'), '--speed', 'fast'])).code, 2, 'bad speed');
  t.equal((await hub(['stream', '/no/such/file.wav'])).code, 2, 'missing file to stream');
  const unreadable = await hub(['stream', join(FIXTURES, 'garbage.bin')]);
  t.equal(unreadable.code, 2, 'a file ffmpeg cannot read');
  t.match(unreadable.stderr, /cannot read .*garbage\.bin/);
  const refused = await hub(['tasks'], { HUB_TOKEN: 'wrong-token' });
  t.equal(refused.code, 3);
  t.match(refused.stderr, /unauthorized/);
  const unreachable = await hub(['tasks'], { HUB_URL: 'http://127.0.0.1:1' });
  t.equal(unreachable.code, 3);
  t.match(unreachable.stderr, /not reachable/);
  const garbage = await hub(['transcribe', join(FIXTURES, 'garbage.bin')]);
  t.equal(garbage.code, 1, 'the task failed');
  t.match(garbage.stderr, /unsupported_audio/);
  const notAdmin = await hub(['admin', 'watch']);
  t.equal(notAdmin.code, 3);
  t.match(notAdmin.stderr, /forbidden/);
});

t.test('admin watch draws the actor table', async (t) => {
  const r = await hub(['admin', 'watch'], { HUB_TOKEN: ADMIN }, 2500);
  t.match(r.stdout, /KIND\s+ID\s+STATE/);
  t.match(r.stdout, /worker\s+worker-0/);
  t.match(r.stdout, /persistence\s+persistence/);
});
