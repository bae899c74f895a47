// Cluster mode: every upload is also kept in a JetStream object store, so the
// hub that takes a task over (its owner died) reads the recording from there
// rather than from a disk only the dead hub could see. The spool stays the
// working copy; this is the shared one, written before the task is recorded
// (a task on record always has its upload here) and removed with the task.
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { NatsConnection } from '@nats-io/transport-node';
import { StorageType } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';

export const UPLOADS_BUCKET = 'hub-uploads';

export class SharedUploads {
  private constructor(private readonly bucket: ObjectStore) {}

  /** Opens the bucket, creating it (file storage: it outlives a restart of the NATS server) if it is not there. */
  static async open(nc: NatsConnection): Promise<SharedUploads> {
    return new SharedUploads(await new Objm(nc).create(UPLOADS_BUCKET, { storage: StorageType.File, description: "the hub's uploads, readable by every hub" }));
  }

  /** Copies the upload of task `taskId` from `path` into the bucket. */
  async put(taskId: string, path: string): Promise<void> {
    await this.bucket.put({ name: taskId }, Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>);
  }

  /** Writes the upload of task `taskId` to `path`; false when the bucket does not have it. The digest is checked. */
  async fetch(taskId: string, path: string): Promise<boolean> {
    const found = await this.bucket.get(taskId);
    if (!found) return false;
    const partial = `${path}.fetching`;
    try {
      await pipeline(Readable.fromWeb(found.data as unknown as WebReadableStream<Uint8Array>), createWriteStream(partial));
      const error = await found.error;
      if (error) throw error;
      await rename(partial, path);
      return true;
    } finally {
      await rm(partial, { force: true });
    }
  }

  /** Removes the upload of task `taskId`; one already gone is fine. */
  async remove(taskId: string): Promise<void> {
    await this.bucket.delete(taskId).catch((error: unknown) => {
      if (!/not found/i.test(String(error))) throw error;
    });
  }
}
