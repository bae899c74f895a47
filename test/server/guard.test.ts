// The boundary around uWS callbacks, with doubles standing for uWS's response
// and socket objects (they record what a handler wrote): an escaped exception
// becomes a 500 or an `internal` error frame and a log line, never a throw.
import t from 'tap';
import { pino } from 'pino';
import type { HttpRequest, HttpResponse, WebSocket } from 'uWebSockets.js';
import { guardHttp, guardSocket } from '../../server/guard.ts';

function recordingLog() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

/** stands for uWS's HttpResponse: records status and body */
function fakeResponse() {
  const written = { status: '', body: '' };
  const res = {
    cork: (f: () => void) => (f(), res),
    writeStatus: (s: string) => ((written.status = s), res),
    writeHeader: () => res,
    end: (b: string) => ((written.body = b), res),
  };
  return { res: res as unknown as HttpResponse, written };
}

t.test('an HTTP handler that throws, or rejects, answers 500 internal and is logged with its route', async (t) => {
  for (const handler of [() => { throw new Error('boom'); }, async () => { throw new Error('later'); }]) {
    const { log, lines } = recordingLog();
    const { res, written } = fakeResponse();
    t.doesNotThrow(() => guardHttp('GET /v1/x', log, handler)(res, {} as HttpRequest));
    await new Promise((r) => setImmediate(r));
    t.match(written, { status: /^500/, body: /"code":"internal"/ });
    t.match(lines[0], { route: 'GET /v1/x', msg: 'request handler failed' });
  }
});

t.test('a socket handler that throws sends an internal error frame; close errors are only logged', async (t) => {
  const { log, lines } = recordingLog();
  const sent: string[] = [];
  const data = { caller: { userId: 'alice', admin: false }, encoding: 'json' as const, closed: false };
  const ws = { getUserData: () => data, send: (d: string) => (sent.push(d), 1) } as unknown as WebSocket<typeof data>;
  const behavior = guardSocket('/v1/ws', log, {
    message: () => {
      throw new RangeError('Maximum call stack size exceeded');
    },
    close: () => {
      throw new Error('teardown');
    },
  });
  t.doesNotThrow(() => behavior.message!(ws, new ArrayBuffer(0), false));
  t.match(JSON.parse(sent[0]!), { type: 'error', code: 'internal' });
  t.match(lines[0], { route: '/v1/ws', where: 'message', userId: 'alice' });
  t.doesNotThrow(() => behavior.close!(ws, 1000, new ArrayBuffer(0)));
  t.equal(sent.length, 1, 'nothing is sent to a closing socket');
  t.match(lines[1], { where: 'close' });
});
