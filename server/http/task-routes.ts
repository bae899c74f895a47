// The tasks API: upload, read, list, export, cancel/delete. Translation only:
// it checks the request, asks the registry, and answers; task state lives in
// the actors. Everything a handler needs from uWS's request is read before its
// first await (uWS invalidates the request object after the handler returns).
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { z } from 'zod';
import { transcribeOptionsQuery, optionsOf } from '../../client/protocol/messages.ts';
import type { HttpRequest, HttpResponse } from '../uws.ts';
import type { HttpRoutes } from '../guard.ts';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import { Reply } from './reply.ts';
import { uploadExtension } from '../spool.ts';
import { receiveBody } from './upload.ts';
import { HubError } from '../../actors/hub-error.ts';
import { LANGUAGES, TASK_STATUSES, TRANSCRIPT_FORMATS, isFinished, type Task } from '../../client/protocol/types.ts';
import { TRANSCRIPT_CONTENT_TYPES, formatTranscript } from '../../client/transcript.ts';

interface Request {
  caller: Caller | undefined;
  query: URLSearchParams;
  params: string[];
  contentLength: number | undefined;
}

function readRequest(ctx: HubContext, req: HttpRequest, paramCount: number): Request {
  const query = new URLSearchParams(req.getQuery() ?? '');
  const length = req.getHeader('content-length');
  return {
    caller: ctx.auth.identify(req.getHeader('authorization'), query.get('token')),
    query,
    params: Array.from({ length: paramCount }, (_, i) => decodeURIComponent(req.getParameter(i) ?? '')),
    contentLength: /^\d+$/.test(length) ? Number(length) : undefined,
  };
}

const languageParam = z
  .string()
  .trim()
  .toLowerCase()
  .refine((l) => l === 'auto' || LANGUAGES.includes(l), 'language must be a whisper language code (en, de, fr, ...) or auto')
  .optional();

export const uploadQuery = z.object({
  ...transcribeOptionsQuery,
  language: languageParam,
  name: z.string().trim().max(300, 'name is limited to 300 characters').optional(),
  token: z.string().optional(),
});

const listQuery = z.object({
  status: z.enum(TASK_STATUSES, { message: `status must be one of ${TASK_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number({ message: 'limit must be a number' }).int('limit must be a whole number').min(1, 'limit must be 1 to 200').max(200, 'limit must be 1 to 200').default(50),
  before: z
    .string()
    .refine((s) => !Number.isNaN(Date.parse(s)), 'before must be an ISO-8601 time (the createdAt of the last task of the previous page)')
    .transform((s) => new Date(s).toISOString())
    .optional(),
  segments: z.enum(['0', '1'], { message: 'segments must be 0 or 1' }).optional(),
  token: z.string().optional(),
});

const transcriptQuery = z.object({
  words: z.enum(['0', '1'], { message: 'words must be 0 or 1' }).optional(),
  format: z.enum(TRANSCRIPT_FORMATS, { message: `format must be one of ${TRANSCRIPT_FORMATS.join(', ')}` }).default('json'),
  token: z.string().optional(),
});

function parseQuery<T extends z.ZodType>(schema: T, query: URLSearchParams): z.infer<T> {
  const raw = Object.fromEntries([...query.entries()].filter(([, v]) => v !== ''));
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HubError('bad_request', parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

function requireCaller(request: Request): Caller {
  if (!request.caller) throw new HubError('unauthorized', 'a valid token is required (Authorization: Bearer <token>)');
  return request.caller;
}

/** The caller's task, from memory or the store; another user's task does not exist. */
async function ownTask(ctx: HubContext, caller: Caller, id: string): Promise<Task> {
  const task = await ctx.tasks.find(id);
  if (!task || task.userId !== caller.userId) throw new HubError('not_found', `no task ${id}`);
  return task;
}

type Run = (reply: Reply, request: Request) => Promise<void>;

/** A route's handler: the request read (a malformed one is a 400), errors answered with their code. */
function handler(ctx: HubContext, paramCount: number, run: Run) {
  return (res: HttpResponse, req: HttpRequest) => {
    const reply = new Reply(res, (error) => ctx.log.error({ err: error, url: req.getUrl() }, 'request failed'));
    let request: Request;
    try {
      request = readRequest(ctx, req, paramCount);
    } catch (error) {
      reply.error(new HubError('bad_request', `malformed request: ${(error as Error).message}`));
      return;
    }
    run(reply, request).catch((error: unknown) => reply.error(error));
  };
}

export function registerTaskRoutes(app: HttpRoutes, ctx: HubContext): void {
  app.post('/v1/tasks', handler(ctx, 0, (reply, request) => createTask(ctx, reply, request)));
  app.get('/v1/me', handler(ctx, 0, async (reply, request) => me(ctx, reply, request)));
  app.get('/v1/tasks', handler(ctx, 0, (reply, request) => listTasks(ctx, reply, request)));
  app.get('/v1/tasks/:id', handler(ctx, 1, async (reply, request) => reply.json(200, await ownTask(ctx, requireCaller(request), request.params[0]!))));
  app.get('/v1/tasks/:id/transcript', handler(ctx, 1, (reply, request) => transcript(ctx, reply, request)));
  app.del('/v1/tasks/:id', handler(ctx, 1, (reply, request) => deleteTask(ctx, reply, request)));
}

/**
 * Why an upload is refused before a byte of its body is read, if it is: no
 * token, shutting down, a bad query, too large, too many tasks, no room.
 */
function refusalOf(ctx: HubContext, request: Request): { error: HubError } | { caller: Caller; query: z.infer<typeof uploadQuery> } {
  const caller = request.caller;
  if (!caller) return { error: new HubError('unauthorized', 'a valid token is required (Authorization: Bearer <token>)') };
  try {
    const query = parseQuery(uploadQuery, request.query);
    if (query.model && !ctx.engine.knowsModel(query.model)) throw unknownModel(ctx, query.model);
    checkUpload(ctx, caller, request.contentLength);
    return { caller, query };
  } catch (error) {
    if (error instanceof HubError) return { error };
    throw error;
  }
}

/** What refuses any upload before its body is read: shutting down, too large, too many tasks, no room in the spool. Throws a HubError. */
export function checkUpload(ctx: HubContext, caller: Caller, contentLength: number | undefined): void {
  if (ctx.shuttingDown()) throw new HubError('shutting_down', 'the hub is shutting down; try again shortly');
  const limit = ctx.config.maxUploadBytes;
  if (contentLength !== undefined && contentLength > limit) throw new HubError('payload_too_large', `the upload is larger than ${Math.floor(limit / 1048576)} MB`);
  ctx.registry.admit(caller.userId);
  ctx.spool.check(contentLength ?? 0);
}

/** Records the task for an upload already in the spool. Refused (a HubError), the upload is removed. */
export async function recordUpload(ctx: HubContext, input: Parameters<HubContext['registry']['create']>[0]): Promise<Task> {
  try {
    return await ctx.registry.create(input);
  } catch (error) {
    await rm(input.uploadPath, { force: true });
    if (error instanceof HubError) throw error;
    ctx.log.error({ err: error }, 'could not record a new task');
    throw new HubError('store_unavailable', 'the task could not be recorded (the database is not answering); try again shortly');
  }
}

/** `model=` naming a model this hub does not run. */
export function unknownModel(ctx: HubContext, name: string): HubError {
  return new HubError('unknown_model', `unknown model "${name.slice(0, 100)}": this hub runs ${ctx.engine.modelNames.join(', ') || 'its default model'}`);
}

async function createTask(ctx: HubContext, reply: Reply, request: Request): Promise<void> {
  const refuse = (error: HubError) => {
    ctx.metrics.uploads.inc({ outcome: error.code });
    reply.error(error, true);
  };
  const checked = refusalOf(ctx, request);
  if ('error' in checked) return refuse(checked.error);
  const { caller, query } = checked;
  const extension = uploadExtension(query.name);
  // Named by the task it will become: an upload without a task is an orphan (swept at boot).
  const id = randomUUID();
  const path = ctx.spool.uploadPath(id, extension);
  const quota = ctx.spool.receiving();
  let bytes: number;
  try {
    bytes = await receiveBody(reply, path, ctx.config.maxUploadBytes, quota);
  } catch (error) {
    if (error instanceof HubError) return refuse(error);
    throw error;
  } finally {
    quota.done();
  }
  if (bytes === 0) {
    await rm(path, { force: true });
    return refuse(new HubError('bad_request', 'the request body is empty: send the audio file as the body'));
  }
  const language = query.language === 'auto' ? undefined : query.language;
  let task;
  try {
    const options = optionsOf(query);
    task = await recordUpload(ctx, { id, userId: caller.userId, uploadPath: path, ...(query.name ? { name: query.name } : {}), ...(language ? { language } : {}), ...(options ? { options } : {}) });
  } catch (error) {
    if (error instanceof HubError) return refuse(error);
    throw error;
  }
  ctx.metrics.uploads.inc({ outcome: 'accepted' });
  ctx.log.info({ taskId: task.id, userId: caller.userId, bytes }, 'upload accepted');
  reply.json(201, task, [['Location', `/v1/tasks/${task.id}`]]);
}

/** Who the token belongs to. 200 even without one, so a client can check a token without an error (browsers log every 401). */
function me(ctx: HubContext, reply: Reply, request: Request): void {
  const c = request.caller;
  const limits = { maxUploadBytes: ctx.config.maxUploadBytes };
  reply.json(200, c ? { authenticated: true, userId: c.userId, admin: c.admin, open: ctx.auth.open, ...limits } : { authenticated: false, open: false, ...limits });
}

async function listTasks(ctx: HubContext, reply: Reply, request: Request): Promise<void> {
  const caller = requireCaller(request);
  const q = parseQuery(listQuery, request.query);
  // Transcripts only when asked: 200 long ones would be read and encoded on the loop.
  const tasks = await ctx.tasks.list({ userId: caller.userId, limit: q.limit, segments: q.segments === '1', ...(q.status ? { status: q.status } : {}), ...(q.before ? { before: q.before } : {}) });
  const next = tasks.length === q.limit ? tasks.at(-1)?.createdAt : undefined;
  reply.json(200, tasks, next ? [['X-Next-Before', next]] : []);
}

async function transcript(ctx: HubContext, reply: Reply, request: Request): Promise<void> {
  const caller = requireCaller(request);
  const { format, words } = parseQuery(transcriptQuery, request.query);
  const task = await ownTask(ctx, caller, request.params[0]!);
  const base = (task.name ?? task.id).replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_') || task.id;
  reply.send(200, formatTranscript(task, format, { words: words === '1' }), [
    ['Content-Type', TRANSCRIPT_CONTENT_TYPES[format]],
    ['Content-Disposition', `inline; filename="${base}.${format}"`],
  ]);
}

/** DELETE cancels a running task, and deletes a finished one with its audio. */
async function deleteTask(ctx: HubContext, reply: Reply, request: Request): Promise<void> {
  const caller = requireCaller(request);
  const id = request.params[0]!;
  const task = await ownTask(ctx, caller, id);
  if (!isFinished(task.status) && ctx.registry.cancel(id)) {
    ctx.log.info({ taskId: id, userId: caller.userId }, 'task cancelled');
    reply.json(200, ctx.registry.get(id) ?? task);
    return;
  }
  await ctx.registry.delete(id);
  ctx.log.info({ taskId: id, userId: caller.userId }, 'task deleted');
  reply.send(204, '');
}
