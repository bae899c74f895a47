// Reads a multipart/form-data request body (as OpenAI's audio API takes it)
// as it arrives: the one file part streams to a file in the spool with
// backpressure and the upload limit, never held in memory; the text fields are
// kept, bounded in number and size. Parsing is busboy's. Over the limit,
// malformed or aborted, the partial file is removed and a coded HubError says why.
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import busboy from 'busboy';
import type { Reply } from './reply.ts';
import { HubError } from '../../actors/hub-error.ts';

export interface MultipartBody {
  /** every text field, by name, in the order sent (a name may repeat: `timestamp_granularities[]`) */
  fields: Map<string, string[]>;
  /** the file part, when there was one: its bytes are at the path given */
  file?: { field: string; filename: string; bytes: number };
}

const MAX_FIELDS = 32;
const MAX_FIELD_BYTES = 16 * 1024;

export async function receiveMultipart(
  reply: Reply,
  contentType: string,
  path: string,
  maxBytes: number,
  quota: { add(bytes: number): void },
): Promise<MultipartBody> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, limits: { files: 1, fileSize: maxBytes, fields: MAX_FIELDS, fieldSize: MAX_FIELD_BYTES, parts: MAX_FIELDS + 1 } });
  } catch (error) {
    throw new HubError('bad_request', `the body must be multipart/form-data: ${(error as Error).message}`);
  }
  const res = reply.raw;
  const body: MultipartBody = { fields: new Map() };
  let out: WriteStream | undefined;
  let failure: Error | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error) => {
        if (failure) return;
        failure = error;
        reject(error);
      };
      let fileDone: Promise<void> = Promise.resolve();
      parser.on('field', (name, value, info) => {
        if (info.valueTruncated) return fail(new HubError('bad_request', `the field ${name.slice(0, 40)} is longer than ${MAX_FIELD_BYTES} bytes`));
        body.fields.set(name, [...(body.fields.get(name) ?? []), value]);
      });
      parser.on('file', (field, stream, info) => {
        const file = { field, filename: info.filename ?? '', bytes: 0 };
        body.file = file;
        out = createWriteStream(path, { flush: true });
        const written = out;
        fileDone = new Promise<void>((done) => written.once('close', () => done()));
        written.on('error', fail);
        stream.on('data', (data: Buffer) => {
          file.bytes += data.length;
          try {
            quota.add(data.length);
          } catch (error) {
            return fail(error as Error);
          }
          if (!written.write(data)) {
            stream.pause();
            written.once('drain', () => stream.resume());
          }
        });
        stream.on('limit', () => fail(new HubError('payload_too_large', `the file is larger than ${Math.floor(maxBytes / 1048576)} MB`)));
        stream.on('end', () => written.end());
      });
      parser.on('filesLimit', () => fail(new HubError('bad_request', 'send one file only')));
      parser.on('fieldsLimit', () => fail(new HubError('bad_request', `at most ${MAX_FIELDS} form fields`)));
      parser.on('partsLimit', () => fail(new HubError('bad_request', `at most ${MAX_FIELDS + 1} form parts`)));
      parser.on('error', (error: Error) => fail(new HubError('bad_request', `malformed multipart body: ${error.message}`)));
      parser.on('close', () => void fileDone.then(() => (failure ? undefined : resolve())));
      parser.on('drain', () => reply.open && res.resume());
      reply.onAbort(() => fail(new HubError('bad_request', 'the upload was aborted')));
      res.onData((chunk, isLast) => {
        if (failure) return;
        // (uWS reuses the chunk's memory once this returns: copy it)
        if (!parser.write(Buffer.from(chunk.slice(0))) && !isLast) res.pause();
        if (isLast) parser.end();
      });
    });
    return body;
  } catch (error) {
    parser.destroy();
    out?.destroy();
    await rm(path, { force: true });
    throw error;
  }
}
