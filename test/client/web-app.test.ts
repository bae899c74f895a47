// The web app in a real browser (Debian's Chromium, driven by playwright-core)
// against a real hub: sign in, upload to a finished transcript, the
// microphone (Chromium's fake capture device playing espeak speech), and the
// admin page following a task. Screenshots of each page go to test/artifacts.
// No page may log a console error.
import t, { type Test } from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ADMIN, ALICE, BOB, fixture, startTestHub, upload } from '../helpers/hub.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;

if (!existsSync(CHROMIUM)) {
  t.comment('Chromium is not installed (apt-get install chromium): browser tests skipped');
  t.pass('skipped');
} else {
  mkdirSync(ARTIFACTS, { recursive: true });
  const { url } = await startTestHub(t);
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${join(FIXTURES, 'long.wav')}`,
    ],
  });
  t.teardown(() => browser.close());

  /** A fresh browser context on the app; `done()` asserts no console error happened, then closes it. */
  async function open(t: Test, token?: string, viewport = { width: 1100, height: 800 }, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; done: () => Promise<void> }> {
    const context = await browser.newContext({ viewport, colorScheme, permissions: ['microphone', 'clipboard-read', 'clipboard-write'] });
    if (token) await context.addInitScript((value) => localStorage.setItem('hub-token', value), token);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => void problems.push(e.message));
    await page.goto(url);
    return {
      page,
      done: async () => {
        t.same(problems, [], 'no console errors');
        t.same(await unlabelled(page), [], 'every control on the page has an accessible name');
        await context.close();
      },
    };
  }

  t.test('sign in, upload, and watch the transcript arrive', async (t) => {
    const { page, done } = await open(t);
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That token was refused.').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'sign-in.png') });
    await page.getByLabel('Token').fill(ALICE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Transcribe recordings' }).waitFor();

    await page.setInputFiles('#file', join(FIXTURES, 'long.wav'));
    const row = page.locator('#tasks li', { hasText: 'long.wav' });
    await row.waitFor();
    await row.locator('a').click();
    await page.locator('#task-status', { hasText: 'completed' }).waitFor({ timeout: 60_000 });
    const segments = await page.locator('#segments li').count();
    t.ok(segments >= 4, `${segments} segments on the page`);
    t.match(await page.locator('#segments li').first().innerText(), /00:00\s+The quick brown fox/);
    for (const format of ['TXT', 'SRT', 'VTT', 'JSON']) t.match(await page.getByRole('link', { name: format }).getAttribute('href'), new RegExp(`format=${format.toLowerCase()}`));
    await page.screenshot({ path: join(ARTIFACTS, 'transcript.png'), fullPage: true });
    await page.goto(`${url}/#/`);
    await page.locator('#tasks li', { hasText: 'completed' }).first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'tasks.png'), fullPage: true });
    await done();
  });

  t.test('several recordings in one drop; older tasks a page at a time', async (t) => {
    for (let i = 0; i < 31; i++) t.equal((await upload(url, BOB, silentWav(1), `?name=old-${i}.wav`)).status, 201);
    const { page, done } = await open(t, BOB);
    await page.locator('#tasks li', { hasText: 'old-30.wav' }).waitFor();
    t.equal(await page.locator('#tasks li').count(), 30, 'the newest 30 first');
    await page.getByRole('button', { name: 'Show older' }).click();
    await page.locator('#tasks li', { hasText: 'old-0.wav' }).waitFor();
    t.ok(await page.getByRole('button', { name: 'Show older' }).isHidden(), 'nothing older left');

    await page.setInputFiles('#file', [join(FIXTURES, 'speech.wav'), join(FIXTURES, 'speech.mp3')]);
    await page.locator('#tasks li', { hasText: 'speech.mp3' }).waitFor();
    t.same(await page.locator('#tasks li .name').evaluateAll((names) => names.slice(0, 2).map((n) => n.textContent)), ['speech.mp3', 'speech.wav'], 'both uploaded, newest on top');

    // A task from another client (the CLI, another tab) shows up at once, and goes when deleted.
    const { id } = (await (await upload(url, BOB, silentWav(1), '?name=from-the-cli.wav')).json()) as { id: string };
    const elsewhere = page.locator('#tasks li', { hasText: 'from-the-cli.wav' });
    await elsewhere.waitFor({ timeout: 5000 });
    await page.locator('#tasks li', { hasText: 'from-the-cli.wav' }).locator('.status', { hasText: 'completed' }).waitFor({ timeout: 30_000 });
    t.equal((await fetch(`${url}/v1/tasks/${id}`, { method: 'DELETE', headers: { Authorization: `Bearer ${BOB}` } })).status, 204);
    await elsewhere.waitFor({ state: 'detached', timeout: 5000 });
    await done();
  });

  t.test('the microphone: partials while speaking, finals after', async (t) => {
    const { page, done } = await open(t, ALICE);
    await page.goto(`${url}/#/live`);
    await page.getByRole('button', { name: 'Start' }).click();
    const partial = page.locator('#live-text .partial').first();
    await partial.waitFor({ timeout: 30_000 });
    t.equal(await partial.evaluate((el) => getComputedStyle(el).fontStyle), 'italic', 'partials look different from finals');
    await page.locator('#live-text .final').first().waitFor({ timeout: 30_000 });
    t.equal(await page.locator('#live-text .final').first().evaluate((el) => getComputedStyle(el).fontStyle), 'normal');
    t.ok((await page.locator('#live-text .final').count()) >= 1, 'final text on the page');
    t.ok(Number(await page.locator('#level').getAttribute('value')) >= 0, 'the level meter moves');
    await page.screenshot({ path: join(ARTIFACTS, 'live.png'), fullPage: true });
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.locator('#live-status', { hasText: 'Done' }).waitFor({ timeout: 30_000 });
    await done();
  });

  t.test('the admin page follows a task changing state', async (t) => {
    const { page, done } = await open(t, ADMIN);
    await page.goto(`${url}/#/admin`);
    await page.locator('#actors tr[data-kind="worker"]').first().waitFor();
    const res = await upload(url, ALICE, await fixture('long.wav'), '?language=en');
    const { id } = (await res.json()) as { id: string };
    const row = page.locator(`#actors tr[data-id="${id}"]`);
    await row.waitFor();
    await page.locator(`#actors tr[data-id="${id}"] td.state`, { hasText: 'transcribing' }).waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'admin.png'), fullPage: true });
    await row.getByRole('button', { name: 'Inspect' }).click();
    await page.locator('#snapshot', { hasText: '"status"' }).waitFor();
    await row.waitFor({ state: 'detached', timeout: 60_000 });
    t.pass('the row went away when the task finished');
    await done();
  });

  t.test('on a phone-sized screen', async (t) => {
    const { page, done } = await open(t, ALICE, { width: 390, height: 844 });
    await page.getByRole('heading', { name: 'Transcribe recordings' }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    t.ok(overflow <= 0, 'nothing wider than the screen');
    await page.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
    await done();
  });

  t.test('in dark mode', async (t) => {
    const { page, done } = await open(t, ALICE, { width: 390, height: 844 }, 'dark');
    await page.getByRole('heading', { name: 'Transcribe recordings' }).waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    t.equal(background, 'rgb(15, 20, 25)', 'the dark palette');
    await page.screenshot({ path: join(ARTIFACTS, 'phone-dark.png'), fullPage: true });
    await done();
  });
}

/** A WAV of silence (16 kHz mono s16le): a task that completes at once, with no text. */
function silentWav(seconds: number): Uint8Array {
  const data = 16_000 * 2 * seconds;
  const wav = Buffer.alloc(44 + data);
  wav.write('RIFF', 0);
  wav.writeUInt32LE(36 + data, 4);
  wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(16_000, 24);
  wav.writeUInt32LE(32_000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36);
  wav.writeUInt32LE(data, 40);
  return wav;
}

/** Controls on the page a screen reader could not name (no aria-label, <label>, text or title). */
function unlabelled(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('button, input:not([type=hidden]), select, textarea, meter, progress, a[href]')]
      .filter((el) => !(el.getAttribute('aria-label') || (el as HTMLInputElement).labels?.[0]?.textContent?.trim() || el.textContent?.trim() || el.title))
      .map((el) => el.outerHTML.slice(0, 80)),
  );
}
