// The web client at `/`, read into memory once at start (no disk reads per
// request), and the explicit 404 for every unmatched route.
import { readFile } from 'node:fs/promises';
import type { HttpResponse, TemplatedApp } from '../uws.ts';
import { Reply } from './reply.ts';

export async function loadWebClient(): Promise<Map<string, { type: string; body: Buffer }>> {
  const dir = new URL('../../client/web/', import.meta.url);
  const files: [string, string, string][] = [['/', 'index.html', 'text/html; charset=utf-8']];
  const pages = new Map<string, { type: string; body: Buffer }>();
  for (const [route, file, type] of files) pages.set(route, { type, body: await readFile(new URL(file, dir)) });
  return pages;
}

export function registerStaticRoutes(app: TemplatedApp, pages: Map<string, { type: string; body: Buffer }>): void {
  for (const [route, page] of pages) {
    app.get(route, (res: HttpResponse) => new Reply(res).send(200, page.body, [['Content-Type', page.type], ['Cache-Control', 'no-cache']]));
  }
  app.options('/*', (res: HttpResponse) => new Reply(res).send(204, ''));
  app.any('/*', (res: HttpResponse, req) => {
    const what = `${req.getMethod().toUpperCase()} ${req.getUrl()}`;
    new Reply(res).json(404, { error: { code: 'not_found', message: `no route ${what}` } });
  });
}
