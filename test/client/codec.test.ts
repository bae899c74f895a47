import t from 'tap';
import { decode as referenceDecode, encode as referenceEncode } from '@msgpack/msgpack';
import { decode, encode, encodeFor } from '../../client/protocol/codec.ts';

const frame = { type: 'segments', id: 'abc', seq: 7, chunk: 0, segments: [{ start: 0, end: 1.5, text: 'hi', chunk: 0 }] };

t.test('frames are standard msgpack: another implementation reads them', async (t) => {
  t.same(referenceDecode(encode(frame)), frame);
  // repeated shapes must not switch to msgpackr's record extension
  for (let i = 0; i < 100; i++) t.same(referenceDecode(encode({ ...frame, seq: i })), { ...frame, seq: i });
});

t.test('decodes what another implementation wrote, maps as plain objects', async (t) => {
  const decoded = decode(referenceEncode({ type: 'subscribe', id: 'x', since: 3 }));
  t.same(decoded, { type: 'subscribe', id: 'x', since: 3 });
  t.notOk(decoded instanceof Map);
});

t.test('json encoding gives text frames', async (t) => {
  t.same(encodeFor('json', { type: 'pong' }), { data: '{"type":"pong"}', binary: false });
  t.equal(encodeFor('msgpack', { type: 'pong' }).binary, true);
});

t.test('truncated input does not decode', async (t) => {
  t.throws(() => decode(new Uint8Array([0x92, 0x01])));
  t.throws(() => decode(new Uint8Array([0x81, 0xa4, 0x74])));
});
