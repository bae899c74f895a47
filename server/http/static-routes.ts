// The web client: one page, `index.html` with the app (bundled by esbuild from
// client/web/app.ts) inlined so a first load costs one round trip, built and
// compressed (brotli, gzip) into memory once at start (esbuild runs in its own
// process, zlib on libuv's pool; no disk reads or compression per request).
// And the explicit 404 for every unmatched route.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { build } from 'esbuild';
import type { HttpResponse } from '../uws.ts';
import type { HttpRoutes } from '../guard.ts';
import { Reply } from './reply.ts';

type Encoding = 'br' | 'gzip' | 'identity';

interface Page {
  type: string;
  /** the body in each encoding, best first */
  bodies: [Encoding, Buffer][];
  etag: string;
}

const compressBrotli = promisify(brotliCompress);
const compressGzip = promisify(gzip);

async function page(type: string, body: Buffer): Promise<Page> {
  const [br, gz] = await Promise.all([
    compressBrotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }),
    compressGzip(body, { level: 9 }),
  ]);
  return { type, bodies: [['br', br], ['gzip', gz], ['identity', body]], etag: createHash('sha1').update(body).digest('base64url') };
}

export async function loadWebClient(): Promise<Map<string, Page>> {
  const dir = new URL('../../client/web/', import.meta.url);
  const bundle = await build({
    entryPoints: [new URL('app.ts', dir).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    external: ['ws', 'node:*'], // the SDK's Node-only parts (ws fallback, file reading), never reached in a browser
    logLevel: 'silent',
  });
  const script = new TextDecoder().decode(bundle.outputFiles[0]!.contents).replace(/<\/(script)/gi, '<\\/$1'); // cannot end the tag early
  const template = await readFile(new URL('index.html', dir), 'utf8');
  const tag = '<script type="module" src="/app.js"></script>';
  if (!template.includes(tag)) throw new Error(`client/web/index.html must hold ${tag}, where the app is inlined`);
  const html = template.replace(tag, () => `<script type="module">${script}</script>`);
  return new Map([['/', await page('text/html; charset=utf-8', Buffer.from(html))]]);
}

export function registerStaticRoutes(app: HttpRoutes, pages: Map<string, Page>): void {
  for (const [route, page] of pages) {
    app.get(route, (res: HttpResponse, req) => {
      const reply = new Reply(res);
      const accepted = new Set(req.getHeader('accept-encoding').split(',').map((part) => part.split(';')[0]!.trim()));
      const [encoding, body] = page.bodies.find(([e]) => e === 'identity' || accepted.has(e))!;
      const etag = `"${page.etag}${encoding === 'identity' ? '' : `-${encoding}`}"`; // one tag per representation
      const headers: [string, string][] = [['ETag', etag], ['Vary', 'Accept-Encoding'], ['Cache-Control', 'no-cache']];
      if (req.getHeader('if-none-match') === etag) return reply.send(304, '', headers);
      if (encoding !== 'identity') headers.push(['Content-Encoding', encoding]);
      reply.send(200, body, [['Content-Type', page.type], ...headers]);
    });
  }
  app.options('/*', (res: HttpResponse) => new Reply(res).send(204, ''));
  app.any('/*', (res: HttpResponse, req) => {
    const what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
    new Reply(res).json(404, { error: { code: 'not_found', message: `no route ${what}` } });
  });
}
