// The web client: `index.html` and the app bundled by esbuild from
// client/web/app.ts, both built into memory once at start (esbuild runs in its
// own process; no disk reads per request). And the explicit 404 for every
// unmatched route.
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { build } from 'esbuild';
import type { HttpResponse, TemplatedApp } from '../uws.ts';
import { Reply } from './reply.ts';

interface Page {
  type: string;
  body: Buffer;
  etag: string;
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
  const page = (type: string, body: Buffer): Page => ({ type, body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` });
  return new Map([
    ['/', page('text/html; charset=utf-8', await readFile(new URL('index.html', dir)))],
    ['/app.js', page('text/javascript; charset=utf-8', Buffer.from(bundle.outputFiles[0]!.contents))],
  ]);
}

export function registerStaticRoutes(app: TemplatedApp, pages: Map<string, Page>): void {
  for (const [route, page] of pages) {
    app.get(route, (res: HttpResponse, req) => {
      const reply = new Reply(res);
      if (req.getHeader('if-none-match') === page.etag) return reply.send(304, '', [['ETag', page.etag]]);
      reply.send(200, page.body, [['Content-Type', page.type], ['Cache-Control', 'no-cache'], ['ETag', page.etag]]);
    });
  }
  app.options('/*', (res: HttpResponse) => new Reply(res).send(204, ''));
  app.any('/*', (res: HttpResponse, req) => {
    const what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
    new Reply(res).json(404, { error: { code: 'not_found', message: `no route ${what}` } });
  });
}
