// The one MessagePack codec of server and clients. Standard msgpack only: the
// msgpackr record extension is off both ways so any decoder can read our frames,
// and maps decode to plain objects.
import { Packr, Unpackr } from 'msgpackr';

const packr = new Packr({ useRecords: false, moreTypes: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export function encode(value: unknown): Uint8Array {
  return packr.pack(value);
}

/** Throws on bytes that are not one msgpack value. */
export function decode(bytes: Uint8Array): unknown {
  return unpackr.unpack(bytes);
}

export type Encoding = 'msgpack' | 'json';

/** A frame as the socket's encoding wants it: bytes and whether they are binary. */
export function encodeFor(encoding: Encoding, value: unknown): { data: Uint8Array | string; binary: boolean } {
  return encoding === 'json' ? { data: JSON.stringify(value), binary: false } : { data: encode(value), binary: true };
}
