// A seeded, bounded fuzz run against a hub in its own process, as a hostile or
// careless client would attack it: random and mutated frames on every socket
// in both encodings, socket churn, malformed uploads of every kind. The hub
// must stay up and answer /healthz quickly throughout, its memory must not
// grow, and a normal upload must still complete afterwards. FUZZ_SEED and
// FUZZ_FRAMES change the run; the counts are printed.
import t from 'tap';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as encodeMsgpack } from '@msgpack/msgpack';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { spawnHub } from '../helpers/hub-process.ts';
import { ADMIN, ALICE, BOB } from '../helpers/hub.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const FRAMES = Number(process.env.FUZZ_FRAMES ?? 1500); // per socket route and encoding

/** mulberry32: a small seeded PRNG, so a failing run can be replayed */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}
const rand = prng(SEED);

const TYPES = ['subscribe', 'unsubscribe', 'ping', 'watch_tasks', 'unwatch_tasks', 'inspect', 'cancel', 'finalize', 'close', 'keepalive', '', 'SUBSCRIBE', '__proto__', 'constructor', 'session.update', 'transcription_session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', 'KeepAlive', 'Finalize', 'CloseStream'];
function value(depth = 0): unknown {
  switch (rand.int(depth > 3 ? 6 : 9)) {
    case 0: return rand.int(2 ** 31) - 2 ** 30;
    case 1: return rand.pick([NaN, Infinity, -0, 1e308, 2 ** 53 + 1, 0.5]);
    case 2: return 'x'.repeat(rand.int(300));
    case 3: return rand.pick([null, true, false, undefined]);
    case 4: return rand.pick(TYPES);
    case 5: return String.fromCharCode(...Array.from({ length: rand.int(20) }, () => rand.int(0xffff)));
    case 6: return Array.from({ length: rand.int(5) }, () => value(depth + 1));
    case 7: return Object.fromEntries(Array.from({ length: rand.int(5) }, () => [rand.pick(['id', 'since', 'ref', 'type', 'x', '__proto__']), value(depth + 1)]));
    default: return { type: rand.pick(TYPES), id: value(depth + 1), since: value(depth + 1), ref: value(depth + 1) };
  }
}
function nested(n: number): string {
  return `{"type":${'['.repeat(n)}${']'.repeat(n)}}`;
}
/** One fuzzed frame: structured junk, deep nesting, random bytes, or a mutated valid message. */
function frame(json: boolean): string | Uint8Array {
  const kind = rand.int(10);
  if (kind === 0) return nested(1 + rand.int(6000));
  if (kind === 1) return Uint8Array.from({ length: rand.int(200) }, () => rand.int(256));
  if (kind === 2) {
    const valid = JSON.stringify({ type: rand.pick(TYPES), id: 'x', since: 3, ref: 'r' });
    const at = rand.int(valid.length);
    return valid.slice(0, at) + String.fromCharCode(rand.int(128)) + valid.slice(at + 1);
  }
  const v = value();
  if (json) return JSON.stringify(v) ?? 'undefined';
  try {
    return encodeMsgpack(v);
  } catch {
    return new Uint8Array([0xc1]);
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'hub-fuzz-'));
const hub = await spawnHub({ HUB_PORT: '0', HUB_DATA_DIR: dataDir, WHISPER_MODEL: 'synthetic:micro', HUB_WORKERS: '1', HUB_TOKENS: `${ALICE}=alice,${BOB}=bob,${ADMIN}=root:admin`, HUB_MAX_UPLOAD_MB: '8' });
t.teardown(async () => {
  hub.proc.kill('SIGKILL');
  await hub.exited;
  await rm(dataDir, { recursive: true, force: true });
});
const wsUrl = hub.url.replace(/^http/, 'ws');
const rssMb = async () => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${hub.proc.pid}/status`, 'utf8'))![1]) / 1024;

/**
 * /healthz latency, sampled every 20 ms while the attack runs, from a process
 * of its own (the fuzzer's busy loop would otherwise be measured too).
 */
function probeHealth() {
  const script = `
    const times = []; let failures = 0; let stop = false;
    process.stdin.on('end', () => (stop = true)).resume();
    (async () => {
      while (!stop) {
        const t0 = performance.now();
        const ok = await fetch(process.argv[1] + '/healthz').then((r) => r.ok, () => false);
        times.push(performance.now() - t0);
        if (!ok) failures++;
        await new Promise((r) => setTimeout(r, 20));
      }
      times.sort((a, b) => a - b);
      const at = (q) => times[Math.floor(times.length * q)] ?? 0;
      process.stdout.write(JSON.stringify({ samples: times.length, failures, p50: at(0.5), p99: at(0.99) }));
    })();`;
  const child = spawn(process.execPath, ['-e', script, hub.url], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    async finish(): Promise<{ samples: number; failures: number; p50: number; p99: number }> {
      child.stdin.end();
      await exited;
      return JSON.parse(out);
    },
  };
}

/** The compatible APIs' sockets take their keys in a header of their own and speak JSON only. */
const FOREIGN_AUTH: Record<string, string> = { '/v1/realtime': 'Bearer', '/v1/listen?encoding=linear16&sample_rate=16000': 'Token' };

async function openSocket(path: string, token: string, json: boolean): Promise<{ ws: WebSocket; answers: () => number; closed: Promise<number> }> {
  const scheme = FOREIGN_AUTH[path];
  const ws = scheme
    ? new WebSocket(`${wsUrl}${path}`, { headers: { Authorization: `${scheme} ${token}` } })
    : new WebSocket(`${wsUrl}${path}${path.includes('?') ? '&' : '?'}${json ? 'encoding=json&' : ''}token=${token}`);
  let answers = 0;
  ws.on('message', () => answers++);
  ws.on('error', () => {});
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await new Promise((resolve) => (ws.once('open', resolve), ws.once('close', resolve)));
  return { ws, answers: () => answers, closed };
}

const counts = { frames: 0, answers: 0, closes: {} as Record<number, number>, reconnects: 0, uploads: {} as Record<number, number>, churn: 0 };
const rssBefore = await rssMb();
const health = probeHealth();

t.test('fuzzed frames on every socket, both encodings: answered, never fatal', async (t) => {
  for (const [path, token] of [['/v1/ws', ALICE], ['/v1/admin', ADMIN], ['/v1/stream', BOB], ['/v1/realtime', ALICE], ['/v1/listen?encoding=linear16&sample_rate=16000', BOB]] as const) {
    for (const json of FOREIGN_AUTH[path] ? [true] : [true, false]) {
      let socket = await openSocket(path, token, json);
      for (let i = 0; i < FRAMES; i++) {
        if (socket.ws.readyState !== WebSocket.OPEN) {
          counts.answers += socket.answers();
          const code = await socket.closed;
          counts.closes[code] = (counts.closes[code] ?? 0) + 1;
          counts.reconnects++;
          socket = await openSocket(path, token, json);
        }
        // /v1/stream and /v1/listen take JSON control text; their binary frames are audio
        const f = (path === '/v1/stream' || path.startsWith('/v1/listen')) && rand.int(4) > 0 ? (frame(true) as string).toString() : frame(json);
        socket.ws.send(f);
        counts.frames++;
        if (i % 100 === 99) await new Promise((r) => setTimeout(r, 5)); // let answers flow
      }
      await new Promise((r) => setTimeout(r, 100));
      counts.answers += socket.answers();
      socket.ws.terminate();
    }
  }
  t.ok(hub.proc.exitCode === null, `the hub is up after ${counts.frames} frames`);
});

t.test('socket churn: open and drop at once, with and without tokens', async (t) => {
  for (let i = 0; i < 300; i++) {
    const path = rand.pick(['/v1/ws', '/v1/admin', '/v1/stream', '/v1/stream?format=webm', '/v1/stream?rate=1', '/v1/nowhere']);
    const ws = new WebSocket(`${wsUrl}${path}${path.includes('?') ? '&' : '?'}token=${rand.pick([ALICE, BOB, ADMIN, 'wrong', ''])}`);
    ws.on('error', () => {});
    if (rand.int(2)) ws.on('open', () => ws.terminate());
    else setTimeout(() => ws.terminate(), rand.int(20));
    counts.churn++;
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(hub.proc.exitCode === null);
});

t.test('malformed uploads of every kind get coded answers', async (t) => {
  const auth = { Authorization: `Bearer ${ALICE}` };
  const garbage = Uint8Array.from({ length: 4096 }, () => rand.int(256));
  const wav = await readFile(join(FIXTURES, 'speech.wav'));
  // `cut`: the hub answers 413 before reading the body and closes, which a client still sending may see only as a broken pipe
  const attempts: { path: string; init: RequestInit; cut?: boolean }[] = [
    { path: '/v1/tasks', init: { method: 'POST', headers: auth } },
    { path: '/v1/tasks', init: { method: 'POST', headers: auth, body: garbage } },
    { path: '/v1/tasks', init: { method: 'POST', headers: auth, body: wav.subarray(0, 100) } },
    { path: '/v1/tasks?language=xx', init: { method: 'POST', headers: auth, body: wav } },
    { path: `/v1/tasks?name=${'n'.repeat(5000)}`, init: { method: 'POST', headers: auth, body: wav } },
    { path: '/v1/tasks?language=%E0%A4%A', init: { method: 'POST', headers: auth, body: wav } },
    { path: '/v1/tasks', init: { method: 'POST', headers: { Authorization: 'Bearer nope' }, body: wav } },
    { path: '/v1/tasks', init: { method: 'POST', headers: auth, body: new Uint8Array(9 * 1024 * 1024) }, cut: true },
    { path: '/v1/tasks/%ZZ', init: { headers: auth } },
    { path: `/v1/tasks/${'a'.repeat(3000)}`, init: { headers: auth } },
    { path: '/v1/tasks?limit=-1&status=nope&before=yesterday', init: { headers: auth } },
    { path: '/v1/tasks/x/transcript?format=exe', init: { headers: auth } },
    { path: '/v1/uploads', init: { method: 'POST', headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': '-5' } } },
    { path: '/v1/uploads', init: { method: 'POST', headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': '99999999999999999999' } } },
    { path: '/v1/uploads', init: { method: 'POST', headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': '10', 'Upload-Metadata': '%%%,,, a' } } },
    { path: '/v1/uploads/../../etc/passwd', init: { method: 'PATCH', headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' }, body: 'x' } },
    { path: '/v1/uploads/not-a-uuid', init: { method: 'HEAD', headers: { ...auth, 'Tus-Resumable': '1.0.0' } } },
    { path: '/v1/uploads/not-a-uuid', init: { method: 'DELETE', headers: { ...auth, 'Tus-Resumable': '1.0.0' } } },
  ];
  const failed: string[] = [];
  for (let round = 0; round < 3; round++) {
    for (const { path, init, cut } of attempts) {
      const res = await fetch(`${hub.url}${path}`, init).catch((e: Error) => e);
      if (res instanceof Error) {
        if (cut) continue;
        failed.push(`${init.method ?? 'GET'} ${path.slice(0, 40)}: ${res.message}`);
        continue;
      }
      counts.uploads[res.status] = (counts.uploads[res.status] ?? 0) + 1;
      if (res.status >= 500 && res.status !== 503) failed.push(`${init.method ?? 'GET'} ${path.slice(0, 40)}: ${res.status}`);
      await res.arrayBuffer().catch(() => {});
    }
  }
  t.same(failed, [], 'every request got an answer that is not a server error');
});

t.test('afterwards: the hub answered quickly throughout, did not grow, and still transcribes', async (t) => {
  const h = await health.finish();
  const rssAfter = await rssMb();
  console.log(
    `# fuzz seed ${SEED}: ${counts.frames} frames (${counts.answers} answers, ${counts.reconnects} reconnects, closes ${JSON.stringify(counts.closes)}), ` +
      `${counts.churn} churned sockets, uploads by status ${JSON.stringify(counts.uploads)}; ` +
      `/healthz ${h.samples} probes p50 ${h.p50.toFixed(1)} ms p99 ${h.p99.toFixed(1)} ms, ${h.failures} failed; RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MB`,
  );
  t.equal(h.failures, 0, '/healthz never failed');
  // The goal is p99 < 20 ms (printed above); asserted with room for a loaded CI machine.
  t.ok(h.p99 < 250, `/healthz p99 ${h.p99.toFixed(1)} ms`);
  t.ok(rssAfter - rssBefore < 50, `RSS grew ${(rssAfter - rssBefore).toFixed(1)} MB`);
  const res = await fetch(`${hub.url}/v1/tasks?name=after.wav`, { method: 'POST', headers: { Authorization: `Bearer ${ALICE}` }, body: await readFile(join(FIXTURES, 'speech.wav')) });
  t.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  let status = '';
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && !['completed', 'failed'].includes(status); await new Promise((r) => setTimeout(r, 100))) {
    status = ((await (await fetch(`${hub.url}/v1/tasks/${id}`, { headers: { Authorization: `Bearer ${ALICE}` } })).json()) as { status: string }).status;
  }
  t.equal(status, 'completed', 'a normal upload completes');
});
