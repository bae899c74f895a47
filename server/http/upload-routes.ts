// Resumable uploads on the tus 1.0 protocol (core, creation, termination) at
// /v1/uploads, so that a slow or broken link resumes where it stopped instead
// of starting over (plain POSTs are cut by uWS below ~16 KB/s). Creation
// takes `Upload-Length` and `Upload-Metadata` (filename or name, language);
// the upload's URL is /v1/uploads/<id>, and once its last byte is on disk the
// task <id> exists and is queued, exactly as after a 201 from POST /v1/tasks.
// Translation only: an upload in progress is a part file and a small JSON
// sidecar in the spool (so a resume works across hub restarts too); the task
// it becomes is the registry's.
import { randomUUID } from 'node:crypto';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../uws.ts';
import type { HttpRoutes } from '../guard.ts';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import { Reply } from './reply.ts';
import { uploadExtension } from '../spool.ts';
import { receiveBody } from './upload.ts';
import { HubError } from '../../actors/hub-error.ts';
import { unknownModel, uploadQuery } from './task-routes.ts';
import { optionsOf, transcribeOptionsSchema } from '../../client/protocol/messages.ts';

const TUS_VERSION = '1.0.0';
const EXTENSIONS = 'creation,termination';
/** unfinished resumable uploads one user may have at once */
const MAX_OPEN_PER_USER = 20;

const sidecarSchema = z.object({
  id: z.string().uuid(),
  userId: z.string().min(1),
  length: z.number().int().min(1),
  extension: z.string().max(6),
  name: z.string().max(300).optional(),
  language: z.string().max(10).optional(),
  options: transcribeOptionsSchema.optional(),
  createdAt: z.string(),
});
type Sidecar = z.infer<typeof sidecarSchema>;

interface OpenUpload extends Sidecar {
  offset: number;
  /** a PATCH is writing it now */
  busy: boolean;
  /** becoming a task (once, whoever noticed the last byte first) */
  finishing?: Promise<void>;
}

/** `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be absent). */
export function parseMetadata(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of header.split(',')) {
    const [key, value = '', extra] = pair.trim().split(' ');
    if (!key) continue;
    if (extra !== undefined || !/^[A-Za-z0-9+/=]*$/.test(value) || key in out) throw new HubError('bad_request', 'Upload-Metadata must be comma-separated "key base64value" pairs, each key once');
    out[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return out;
}

const isUploadId = (id: string) => z.string().uuid().safeParse(id).success;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type TusHeaders = { offset: string; length: string; metadata: string; contentType: string };
const TUS: [string, string][] = [['Tus-Resumable', TUS_VERSION]];

export function registerUploadRoutes(app: HttpRoutes, ctx: HubContext): void {
  const uploads = new ResumableUploads(ctx);
  /** Every tus request but OPTIONS names the protocol version it speaks. */
  const handle = (run: (reply: Reply, caller: Caller, id: string, headers: TusHeaders) => Promise<void>) =>
    (res: HttpResponse, req: HttpRequest) => {
      const reply = new Reply(res, (error) => ctx.log.error({ err: error, route: 'uploads' }, 'resumable upload failed'));
      const fail = (error: unknown) => {
        if (error instanceof HubError) reply.codedError(error, TUS);
        else reply.error(error);
      };
      const caller = ctx.auth.identify(req.getHeader('authorization'), new URLSearchParams(req.getQuery() ?? '').get('token'));
      const headers = { offset: req.getHeader('upload-offset'), length: req.getHeader('upload-length'), metadata: req.getHeader('upload-metadata'), contentType: req.getHeader('content-type') };
      const id = req.getParameter(0) ?? '';
      if (req.getHeader('tus-resumable') !== TUS_VERSION) {
        return reply.codedError(new HubError('bad_request', `this endpoint speaks tus ${TUS_VERSION}: send Tus-Resumable: ${TUS_VERSION}`), [['Tus-Version', TUS_VERSION]], 412);
      }
      if (!caller) return fail(new HubError('unauthorized', 'a valid token is required (Authorization: Bearer <token>)'));
      run(reply, caller, id, headers).catch(fail);
    };
  const options = (res: HttpResponse) =>
    new Reply(res).send(204, '', [...TUS, ['Tus-Version', TUS_VERSION], ['Tus-Extension', EXTENSIONS], ['Tus-Max-Size', String(ctx.config.maxUploadBytes)]]);
  app.options('/v1/uploads', options);
  app.options('/v1/uploads/:id', options);
  app.post('/v1/uploads', handle((reply, caller, _id, headers) => uploads.create(reply, caller, headers)));
  app.head('/v1/uploads/:id', handle((reply, caller, id) => uploads.head(reply, caller, id)));
  app.patch('/v1/uploads/:id', handle((reply, caller, id, headers) => uploads.append(reply, caller, id, headers)));
  app.del('/v1/uploads/:id', handle((reply, caller, id) => uploads.remove(reply, caller, id)));
}

/** The unfinished uploads (in memory, and their sidecars on disk) and what each tus request does to them. */
class ResumableUploads {
  private readonly open = new Map<string, OpenUpload>();

  constructor(private readonly ctx: HubContext) {}

  /** POST: a new upload of `Upload-Length` bytes, checked as a plain upload would be. */
  async create(reply: Reply, caller: Caller, headers: TusHeaders): Promise<void> {
    if (this.ctx.shuttingDown()) throw new HubError('shutting_down', 'the hub is shutting down; try again shortly');
    if (!/^\d{1,15}$/.test(headers.length)) throw new HubError('bad_request', 'Upload-Length is required: the size of the whole file in bytes (Upload-Defer-Length is not supported)');
    const length = Number(headers.length);
    if (length === 0) throw new HubError('bad_request', 'the file is empty');
    const limit = this.ctx.config.maxUploadBytes;
    if (length > limit) throw new HubError('payload_too_large', `the upload is larger than ${Math.floor(limit / 1048576)} MB`);
    const meta = parseMetadata(headers.metadata);
    const { translate, prompt, temperature, beam, model } = meta;
    const parsed = uploadQuery.safeParse(Object.fromEntries(Object.entries({ name: meta.name ?? meta.filename, language: meta.language, translate, prompt, temperature, beam, model }).filter(([, v]) => v)));
    if (!parsed.success) throw new HubError('bad_request', parsed.error.issues.map((i) => i.message).join('; '));
    if ([...this.open.values()].filter((u) => u.userId === caller.userId).length >= MAX_OPEN_PER_USER) {
      throw new HubError('overloaded', `you have ${MAX_OPEN_PER_USER} unfinished uploads; finish or delete some first`);
    }
    if (parsed.data.model && !this.ctx.engine.knowsModel(parsed.data.model)) throw unknownModel(this.ctx, parsed.data.model);
    this.ctx.registry.admit(caller.userId);
    this.ctx.spool.check(length);
    const { name, language } = parsed.data;
    const options = optionsOf(parsed.data);
    const extension = uploadExtension(name);
    const sidecar: Sidecar = {
      id: randomUUID(), userId: caller.userId, length, extension, createdAt: new Date().toISOString(),
      ...(name ? { name } : {}), ...(language && language !== 'auto' ? { language } : {}), ...(options ? { options } : {}),
    };
    await writeFile(this.ctx.spool.partPath(sidecar.id), '');
    await writeFile(this.ctx.spool.sidecarPath(sidecar.id), JSON.stringify(sidecar));
    this.open.set(sidecar.id, { ...sidecar, offset: 0, busy: false });
    reply.send(201, '', [...TUS, ['Location', `/v1/uploads/${sidecar.id}`], ['Upload-Offset', '0']]);
  }

  /** HEAD: where the upload stands (a finished one still answers). */
  async head(reply: Reply, caller: Caller, id: string): Promise<void> {
    const upload = await this.find(caller, id);
    const cacheless: [string, string][] = [...TUS, ['Cache-Control', 'no-store']];
    if (upload) {
      if (upload.offset === upload.length && !upload.busy) await this.finish(upload);
      return reply.send(200, undefined, [...cacheless, ['Upload-Offset', String(upload.offset)], ['Upload-Length', String(upload.length)]]);
    }
    const done = await this.finishedLength(caller, id);
    if (done === undefined) return reply.send(404, undefined, cacheless);
    reply.send(200, undefined, [...cacheless, ['Upload-Offset', String(done)], ['Upload-Length', String(done)]]);
  }

  /** PATCH: the next bytes, at the offset where the upload stands. */
  async append(reply: Reply, caller: Caller, id: string, headers: TusHeaders): Promise<void> {
    if (headers.contentType !== 'application/offset+octet-stream') {
      return reply.codedError(new HubError('bad_request', 'PATCH bodies are Content-Type: application/offset+octet-stream'), TUS, 415);
    }
    const upload = await this.find(caller, id);
    if (!upload) throw new HubError('not_found', `no unfinished upload ${id}`);
    if (upload.busy) return reply.codedError(new HubError('bad_request', 'another request is writing this upload; try again shortly'), TUS, 423);
    if (headers.offset !== String(upload.offset)) {
      return reply.codedError(new HubError('bad_request', `Upload-Offset must be ${upload.offset}, where the upload stands`), [...TUS, ['Upload-Offset', String(upload.offset)]], 409);
    }
    upload.busy = true;
    const quota = this.ctx.spool.receiving();
    try {
      await receiveBody(reply, this.ctx.spool.partPath(id), upload.length - upload.offset, quota, { append: true }).catch(async (error: unknown) => {
        upload.offset = await stat(this.ctx.spool.partPath(id)).then((s) => s.size, () => upload.offset);
        throw error;
      });
      upload.offset = await stat(this.ctx.spool.partPath(id)).then((s) => s.size);
    } finally {
      quota.done();
      upload.busy = false;
    }
    if (upload.offset === upload.length) await this.finish(upload);
    reply.send(204, '', [...TUS, ['Upload-Offset', String(upload.offset)]]);
  }

  /** DELETE: an unfinished upload is dropped with its files. */
  async remove(reply: Reply, caller: Caller, id: string): Promise<void> {
    const upload = await this.find(caller, id);
    if (!upload) throw new HubError('not_found', `no unfinished upload ${id} (a finished one is task ${id}: DELETE /v1/tasks/${id})`);
    if (upload.busy) return reply.codedError(new HubError('bad_request', 'the upload is being written; try again shortly'), TUS, 423);
    this.open.delete(id);
    await Promise.all([rm(this.ctx.spool.partPath(id), { force: true }), rm(this.ctx.spool.sidecarPath(id), { force: true })]);
    reply.send(204, '', TUS);
  }

  /** The caller's unfinished upload `id`, from memory or from its sidecar after a restart. */
  private async find(caller: Caller, id: string): Promise<OpenUpload | undefined> {
    if (!isUploadId(id)) return undefined;
    let upload = this.open.get(id);
    if (!upload) {
      const text = await readFile(this.ctx.spool.sidecarPath(id), 'utf8').catch(() => undefined);
      const parsed = text === undefined ? undefined : sidecarSchema.safeParse(parseJson(text)); // a torn or edited sidecar is no upload
      if (!parsed?.success) return undefined;
      const size = await stat(this.ctx.spool.partPath(id)).then((s) => s.size, () => undefined);
      if (size === undefined) return undefined;
      upload = { ...parsed.data, offset: size, busy: false };
      this.open.set(id, upload);
    }
    return upload.userId === caller.userId ? upload : undefined;
  }

  /** The last byte is on disk: the upload becomes task `id`, queued (once; a failure lets a later request try again). */
  private finish(upload: OpenUpload): Promise<void> {
    upload.finishing ??= this.becomeTask(upload).catch((error: unknown) => {
      upload.finishing = undefined;
      throw error;
    });
    return upload.finishing;
  }

  private async becomeTask(upload: OpenUpload): Promise<void> {
    const uploadPath = this.ctx.spool.uploadPath(upload.id, upload.extension);
    await rename(this.ctx.spool.partPath(upload.id), uploadPath);
    try {
      await this.ctx.registry.create({
        id: upload.id, userId: upload.userId, uploadPath,
        ...(upload.name ? { name: upload.name } : {}), ...(upload.language ? { language: upload.language } : {}), ...(upload.options ? { options: upload.options } : {}),
      });
    } catch (error) {
      await rename(uploadPath, this.ctx.spool.partPath(upload.id)); // a later HEAD or PATCH tries again
      if (error instanceof HubError) throw error;
      this.ctx.log.error({ err: error, taskId: upload.id }, 'could not record the task of a finished upload');
      throw new HubError('store_unavailable', 'the task could not be recorded (the database is not answering); try again shortly');
    }
    this.open.delete(upload.id);
    await rm(this.ctx.spool.sidecarPath(upload.id), { force: true });
    this.ctx.metrics.uploads.inc({ outcome: 'accepted' });
    this.ctx.log.info({ taskId: upload.id, userId: upload.userId, bytes: upload.length }, 'resumable upload complete');
  }

  /** A finished upload (now a task) still answers HEAD, so a client that lost the last answer knows it is done. */
  private async finishedLength(caller: Caller, id: string): Promise<number | undefined> {
    if (!isUploadId(id)) return undefined;
    const stored = await this.ctx.persistence.store.get(id).catch(() => undefined);
    if (!stored || stored.task.userId !== caller.userId || stored.task.kind !== 'file') return undefined;
    return stat(stored.audioPath).then((s) => s.size, () => undefined);
  }
}
