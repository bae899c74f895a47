// bench:web — how fast the web app is on first load: a fresh browser (no
// cache) opens the hub and signs in from a stored token, over a throttled
// mobile link (Chromium's network emulation: 150 ms RTT, 1.6 Mbit/s down,
// 750 kbit/s up) and over loopback. Baseline in the same run: the same page
// fetched with `Accept-Encoding: identity`, as a hub without compression serves it.
// Reported: bytes over the wire, time to the first paint of the page, and to
// the task list being on screen (the app loaded, signed in, its first API call done).
// Options: --runs N
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { spawnHub } from '../helpers/hub-process.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(values.runs);
const dir = await mkdtemp(join(tmpdir(), 'bench-web-'));
const hub = await spawnHub({ HUB_PORT: '0', HUB_DATA_DIR: dir, WHISPER_MODEL: 'synthetic:micro', HUB_TOKENS: 'bench-user-1=u' });
while (!(await fetch(`${hub.url}/readyz`)).ok) await new Promise((r) => setTimeout(r, 100));
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'] });

const MOBILE = { offline: false, latency: 150, downloadThroughput: (1.6 * 1024 * 1024) / 8, uploadThroughput: (750 * 1024) / 8 };

async function load(network: 'mobile' | 'loopback', compressed: boolean): Promise<{ bytes: number; paintMs: number; readyMs: number }> {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  await context.addInitScript(() => localStorage.setItem('hub-token', 'bench-user-1'));
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  if (network === 'mobile') await cdp.send('Network.emulateNetworkConditions', MOBILE);
  if (!compressed) await cdp.send('Network.setExtraHTTPHeaders', { headers: { 'Accept-Encoding': 'identity' } });
  let bytes = 0;
  cdp.on('Network.loadingFinished', (e: { encodedDataLength: number }) => (bytes += e.encodedDataLength));
  const started = performance.now();
  await page.goto(hub.url, { waitUntil: 'commit' });
  await page.getByRole('heading', { name: 'Your tasks' }).waitFor();
  await page.locator('#tasks li').first().waitFor();
  const readyMs = performance.now() - started;
  const paintMs = await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN);
  await context.close();
  return { bytes, paintMs, readyMs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`bench:web  first load of the web app in Chromium (no cache, phone viewport), ${RUNS} interleaved runs, medians`);
await load('loopback', true); // warm-up
for (const network of ['mobile', 'loopback'] as const) {
  const results: Record<string, { bytes: number; paintMs: number; readyMs: number }[]> = { identity: [], compressed: [] };
  for (let i = 0; i < RUNS; i++) {
    results.identity!.push(await load(network, false));
    results.compressed!.push(await load(network, true));
  }
  for (const [name, runs] of Object.entries(results)) {
    console.log(
      `${network.padEnd(8)} ${name.padEnd(10)}  ${(median(runs.map((r) => r.bytes)) / 1024).toFixed(1).padStart(6)} KB on the wire` +
        `   first paint ${median(runs.map((r) => r.paintMs)).toFixed(0).padStart(5)} ms   task list on screen ${median(runs.map((r) => r.readyMs)).toFixed(0).padStart(5)} ms` +
        `${name === 'identity' ? '   (baseline)' : ''}`,
    );
  }
}
await browser.close();
hub.proc.kill('SIGTERM');
await hub.exited;
await rm(dir, { recursive: true, force: true });
