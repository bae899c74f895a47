// Starts a real hub in-process for a test (real uWS, real engine workers on the
// micro synthetic model, real embedded store in a temporary data dir), and the
// clients the tests use against it: fetch for HTTP, `ws` for sockets, with
// frames decoded by an independent msgpack implementation (@msgpack/msgpack)
// to prove any decoder reads them.
import { mkdtemp, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodeMsgpack, encode as encodeMsgpack } from '@msgpack/msgpack';
import WebSocket from 'ws';
import type { Test } from 'tap';
import { loadConfig } from '../../server/config.ts';
import { startHub, type Hub, type HubOverrides } from '../../server/hub.ts';
import type { Task } from '../../client/protocol/types.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

export const ALICE = 'alice-token-0001';
export const BOB = 'bob-token-0002';
export const ADMIN = 'admin-token-0003';

export interface TestHub {
  hub: Hub;
  url: string;
  wsUrl: string;
  dataDir: string;
}

export async function startTestHub(t: Test, env: Record<string, string> = {}, overrides: HubOverrides = {}): Promise<TestHub> {
  const dataDir = env.HUB_DATA_DIR ?? (await mkdtemp(join(tmpdir(), 'hub-test-')));
  const config = loadConfig(
    {
      HUB_PORT: '0',
      HUB_DATA_DIR: dataDir,
      WHISPER_MODEL: 'synthetic:micro',
      HUB_VAD: 'energy', // mechanics: tones and synthetic speech; the real-speech tests ask for Silero
      HUB_ENDPOINTING: 'words', // the rule the hub runs by default (with Silero), not the energy detector's default
      HUB_WORKERS: '1',
      HUB_TOKENS: `${ALICE}=alice,${BOB}=bob,${ADMIN}=root:admin`,
      HUB_LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...env,
    },
    [],
  );
  const hub = await startHub(config, overrides);
  await hub.context.engine.ready();
  t.teardown(async () => {
    await hub.close();
    if (!env.HUB_DATA_DIR) await rm(dataDir, { recursive: true, force: true });
  });
  return { hub, url: hub.url, wsUrl: hub.url.replace(/^http/, 'ws'), dataDir };
}

export const fixture = (name: string) => readFile(join(FIXTURES, name));

/** A 16-bit PCM WAV `times` over (its 44-byte header rewritten): a longer recording of the same speech. */
export function repeatWav(wav: Buffer, times: number): Buffer {
  const data = wav.subarray(44);
  const header = Buffer.from(wav.subarray(0, 44));
  header.writeUInt32LE(36 + data.length * times, 4);
  header.writeUInt32LE(data.length * times, 40);
  return Buffer.concat([header, ...Array.from({ length: times }, () => data)]);
}

/** The uploads in a hub's spool (decoded pcm files come and go with running tasks). */
export const uploads = async (dataDir: string) => (await readdir(join(dataDir, 'spool'))).filter((f) => f.endsWith('.upload')).sort();

export async function upload(url: string, token: string | undefined, body: Uint8Array | string, query = ''): Promise<Response> {
  return fetch(`${url}/v1/tasks${query}`, {
    method: 'POST',
    body: body as BodyInit,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

export async function getJson<T = unknown>(url: string, token: string | undefined): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}

/** Polls GET /v1/tasks/{id} until the task's status is one of `statuses`. */
export async function waitForStatus(url: string, token: string, id: string, statuses: string[], timeoutMs = 60_000): Promise<Task> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await getJson<Task>(`${url}/v1/tasks/${id}`, token);
    if (statuses.includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`task ${id} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export type Frame = Record<string, unknown> & { type: string };

/** A test client socket: collects decoded frames and waits for the ones a test wants. */
export class TestSocket {
  readonly frames: Frame[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiters: (() => void)[] = [];

  private constructor(
    readonly ws: WebSocket,
    private readonly json: boolean,
  ) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push((isBinary ? decodeMsgpack(data) : JSON.parse(data.toString('utf8'))) as Frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static async open(wsUrl: string, path: string, token?: string, opts: { json?: boolean; queryToken?: boolean } = {}): Promise<TestSocket> {
    const params = new URLSearchParams();
    if (opts.json) params.set('encoding', 'json');
    if (token && opts.queryToken) params.set('token', token);
    const headers: Record<string, string> = token && !opts.queryToken ? { Authorization: `Bearer ${token}` } : {};
    const joiner = path.includes('?') ? '&' : '?';
    const ws = new WebSocket(`${wsUrl}${path}${params.size ? `${joiner}${params}` : ''}`, { headers });
    const socket = new TestSocket(ws, Boolean(opts.json));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => resolve());
    });
    return socket;
  }

  send(message: object): void {
    this.ws.send(this.json ? JSON.stringify(message) : encodeMsgpack(message));
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** Waits for the first frame (at or after index `from`) that matches. */
  async next(match: (f: Frame) => boolean, timeoutMs = 30_000, from = 0): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(match);
      if (found) return found;
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<{ code: number; reason: string }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('socket did not close');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closed;
  }

  close(): void {
    this.ws.close();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
