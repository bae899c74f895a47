// Messages built to break a parser or a handler: deep nesting (a frame that
// once killed the hub through JSON.stringify), huge maps, odd types. Each gets
// a coded error frame, the hub stays up, and the socket keeps working.
import t from 'tap';
import { encode as encodeMsgpack } from '@msgpack/msgpack';
import { ADMIN, ALICE, TestSocket, getJson, startTestHub } from '../helpers/hub.ts';

const { url, wsUrl } = await startTestHub(t);

const deepJson = (n: number) => `{"type":${'['.repeat(n)}${']'.repeat(n)}}`;
/** msgpack of {type: [[[...]]]} nested n deep, written by hand (encoders refuse such depth) */
function deepMsgpack(n: number): Uint8Array {
  const bytes = new Uint8Array(n + 7);
  bytes.set([0x81, 0xa4, 0x74, 0x79, 0x70, 0x65]); // map of 1, "type"
  bytes.fill(0x91, 6, 6 + n); // fixarray of 1, n times
  bytes[6 + n] = 0x90; // the innermost: an empty array
  return bytes;
}

const hostile: [string, string | Uint8Array][] = [
  ['JSON type nested 5,000 deep', deepJson(5000)],
  ['msgpack type nested 5,000 deep', deepMsgpack(5000)],
  ['JSON nested 9 deep', deepJson(9)],
  ['a map with 1,000 keys', JSON.stringify({ type: 'ping', ...Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`k${i}`, i])) })],
  ['a type that is a map', JSON.stringify({ type: { toString: 1 }, ref: 'r' })],
  ['a type too long to echo', JSON.stringify({ type: 'x'.repeat(500) })],
  ['a __proto__ key', '{"__proto__":{"polluted":1},"type":"ping"}'],
  ['a bare string', '"ping"'],
  ['null', 'null'],
  ['msgpack nil', new Uint8Array([0xc0])],
];

for (const [path, token] of [['/v1/ws', ALICE], ['/v1/admin', ADMIN]] as const) {
  t.test(`${path}: hostile messages get bad_request and change nothing`, async (t) => {
    const ws = await TestSocket.open(wsUrl, path, token, { json: true });
    for (const [what, message] of hostile) {
      const from = ws.frames.length;
      ws.sendRaw(message);
      ws.send({ type: 'ping', ref: what });
      const pong = await ws.next((f) => f.type === 'pong' && f.ref === what, 5000, from);
      const answers = ws.frames.slice(from, ws.frames.indexOf(pong));
      const error = answers.find((f) => f.type === 'error');
      if (what === 'a __proto__ key') t.ok(error === undefined || error.code === 'bad_request', what);
      else t.match(error, { type: 'error', code: 'bad_request' }, what);
      t.notOk(JSON.stringify(error ?? {}).includes('x'.repeat(100)), `${what}: client input is not echoed`);
    }
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
    t.equal((await getJson(`${url}/healthz`, undefined)).status, 200, 'the hub is up');
    ws.close();
  });
}

t.test('/v1/stream: a deeply nested control message is a bad_request, the session goes on', async (t) => {
  const ws = await TestSocket.open(wsUrl, '/v1/stream', ALICE, { json: true });
  await ws.next((f) => f.type === 'ready');
  ws.sendRaw(deepJson(5000));
  t.match(await ws.next((f) => f.type === 'error'), { code: 'bad_request' });
  ws.send({ type: 'close' });
  t.equal((await ws.waitClosed()).code, 1000, 'it still closes cleanly');
});

t.test('msgpack sockets get the same answers in msgpack', async (t) => {
  const ws = await TestSocket.open(wsUrl, '/v1/ws', ALICE);
  ws.sendRaw(deepMsgpack(5000));
  ws.sendRaw(encodeMsgpack({ type: 'ping', ref: 1 }));
  t.match(await ws.next((f) => f.type === 'error'), { code: 'bad_request', message: /not valid MessagePack|nests at most/ });
  t.ok(await ws.next((f) => f.type === 'pong'));
  ws.close();
});

t.test('an oversized message is answered, then its socket closed with 1009; other sockets carry on', async (t) => {
  for (const [path, token] of [['/v1/ws', ALICE], ['/v1/admin', ADMIN], ['/v1/stream', ALICE]] as const) {
    const bystander = await TestSocket.open(wsUrl, '/v1/ws', ALICE, { json: true });
    const ws = await TestSocket.open(wsUrl, path, token, { json: true });
    if (path === '/v1/stream') await ws.next((f) => f.type === 'ready');
    ws.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(20_000) }));
    t.equal((await ws.waitClosed()).code, 1009, path);
    t.match(ws.frames.find((f) => f.type === 'error'), { code: 'payload_too_large' }, path);
    bystander.send({ type: 'ping', ref: 'still' });
    t.ok(await bystander.next((f) => f.type === 'pong'), 'another socket is unaffected');
    bystander.close();
  }
});
