// The model downloader against a local HTTP server that stands for a model
// host: a slow transfer longer than every timeout still completes (only
// silence is a failure), a transfer cut mid-body is resumed with a Range
// request, a server that ignores Range starts it over, a wrong checksum or a
// 404 fails with a clear error and leaves nothing behind.
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { downloadVerified, type DownloadProgress } from '../../native/models/download.ts';

const body = randomBytes(200_000);
const sha1 = createHash('sha1').update(body).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function serve(t: Test, handle: (req: IncomingMessage, res: ServerResponse, n: number) => Promise<void>) {
  let n = 0;
  const ranges: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    ranges.push(req.headers.range);
    handle(req, res, ++n).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const dir = await mkdtemp(join(tmpdir(), 'download-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/model.bin`, dir, ranges };
}

async function sendSlowly(res: ServerResponse, data: Buffer, pieces: number, gapMs: number) {
  for (let i = 0; i < pieces; i++) {
    res.write(data.subarray(Math.floor((i * data.length) / pieces), Math.floor(((i + 1) * data.length) / pieces)));
    await sleep(gapMs);
  }
  res.end();
}

const fast = { connectTimeoutMs: 500, idleTimeoutMs: 300 };

t.test('a transfer longer than every timeout completes: only silence fails', async (t) => {
  const { url, dir } = await serve(t, async (_req, res) => {
    res.writeHead(200, { 'Content-Length': body.length });
    await sendSlowly(res, body, 20, 60); // 1.2 s in all
  });
  const progress: DownloadProgress[] = [];
  await downloadVerified(url, join(dir, 'model.bin'), sha1, (p) => progress.push(p), fast);
  t.same(await readFile(join(dir, 'model.bin')), body);
  t.ok(progress.length >= 10 && progress.at(-1)!.received === body.length && progress.at(-1)!.total === body.length, `${progress.length} progress reports`);
  t.same(await readdir(dir), ['model.bin'], 'no partial file left');
});

t.test('a transfer that stalls is resumed where it stopped', async (t) => {
  const { url, dir, ranges } = await serve(t, async (req, res, n) => {
    if (n === 1) {
      res.writeHead(200, { 'Content-Length': body.length });
      res.write(body.subarray(0, 80_000));
      await sleep(2_000); // silence: the client gives up and comes back
      res.destroy();
      return;
    }
    const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
    res.writeHead(206, { 'Content-Length': body.length - from, 'Content-Range': `bytes ${from}-${body.length - 1}/${body.length}` });
    res.end(body.subarray(from));
  });
  await downloadVerified(url, join(dir, 'model.bin'), sha1, () => {}, fast);
  t.same(await readFile(join(dir, 'model.bin')), body);
  t.same(ranges, [undefined, 'bytes=80000-'], 'the second request asks for the rest only');
});

t.test('a server that ignores Range: the transfer starts over', async (t) => {
  const { url, dir, ranges } = await serve(t, async (_req, res, n) => {
    res.writeHead(200, { 'Content-Length': body.length });
    if (n === 1) {
      res.write(body.subarray(0, 50_000));
      await sleep(20);
      res.destroy(); // cut
      return;
    }
    res.end(body);
  });
  await downloadVerified(url, join(dir, 'model.bin'), sha1, () => {}, fast);
  t.same(await readFile(join(dir, 'model.bin')), body);
  t.equal(ranges.length, 2);
});

t.test('a wrong checksum, and a 404, fail clearly and leave nothing', async (t) => {
  const { url, dir, ranges } = await serve(t, async (req, res) => {
    if (req.url?.includes('missing')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Length': body.length }).end(body);
  });
  await t.rejects(downloadVerified(url, join(dir, 'model.bin'), '0'.repeat(40), () => {}, fast), { code: 'download_failed', message: /checksum mismatch/ });
  await t.rejects(downloadVerified(url.replace('model', 'missing'), join(dir, 'missing.bin'), sha1, () => {}, fast), { code: 'download_failed', message: /answered 404/ });
  t.equal(ranges.length, 2, 'a 404 is not retried');
  t.same(await readdir(dir), [], 'nothing in the cache');
});
