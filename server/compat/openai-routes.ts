// OpenAI's audio API on the hub: `POST /v1/audio/transcriptions` and
// `/v1/audio/translations`, multipart as OpenAI defines them, answered in
// OpenAI's shapes and errors, so code written against OpenAI works with the
// base URL and key changed. Translation only: each request becomes an
// ordinary task (fair, durable, cancellable, in the caller's task list) and
// the answer is made from its frames; `stream=true` sends
// `transcript.text.delta` as chunks finish, then `transcript.text.done`. A
// client that goes away cancels its task, unless it sent `keep=true`.
import { randomUUID } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { z } from 'zod';
import type { HttpRequest, HttpResponse } from '../uws.ts';
import type { HttpRoutes } from '../guard.ts';
import type { HubContext } from '../context.ts';
import type { Caller } from '../auth.ts';
import { Reply, STATUS_OF_CODE } from '../http/reply.ts';
import { receiveMultipart, type MultipartBody } from '../http/multipart.ts';
import { checkUpload, recordUpload } from '../http/task-routes.ts';
import { uploadExtension } from '../spool.ts';
import { HubError } from '../../actors/hub-error.ts';
import { LANGUAGES, type Task, type TranscribeOptions } from '../../client/protocol/types.ts';
import { failureOf, finished } from './task-outcome.ts';
import { RESPONSE_FORMATS, formatResult, openAiError, sseEvent, textOf } from './openai-format.ts';

/** OpenAI's model names: unchanged code asks for these, and gets the hub's default model. */
export const OPENAI_MODELS = ['whisper-1', 'gpt-4o-transcribe', 'gpt-4o-transcribe-diarize', 'gpt-4o-mini-transcribe', 'gpt-4o-mini-transcribe-2025-03-20', 'gpt-4o-transcribe-latest'];

const flag = (name: string) => z.enum(['true', 'false', '1', '0'], { message: `${name} must be true or false` }).transform((v) => v === 'true' || v === '1');

const form = z.object({
  model: z.string({ message: 'model is required' }).trim().min(1, 'model is required'),
  language: z
    .string()
    .trim()
    .toLowerCase()
    .refine((l) => LANGUAGES.includes(l), 'language must be an ISO-639-1 code whisper knows (en, de, fr, ...)')
    .optional(),
  prompt: z.string().max(800, 'prompt is limited to 800 characters').optional(),
  temperature: z.coerce.number({ message: 'temperature must be a number' }).min(0, 'temperature must be between 0 and 1').max(1, 'temperature must be between 0 and 1').optional(),
  response_format: z.enum(RESPONSE_FORMATS, { message: `response_format must be one of ${RESPONSE_FORMATS.join(', ')}` }).default('json'),
  timestamp_granularities: z.array(z.enum(['word', 'segment'], { message: 'timestamp_granularities[] must be word or segment' })).default([]),
  stream: flag('stream').default(false),
  keep: flag('keep').default(false),
});
type Form = z.infer<typeof form>;

/** OpenAI's fields that change nothing here, accepted so that code sending them works. */
const IGNORED = new Set(['chunking_strategy', 'include[]', 'include', 'known_speaker_names[]', 'known_speaker_references[]']);

/** An error that names the request field it is about, as OpenAI's do. */
class FieldError extends HubError {
  constructor(
    code: string,
    message: string,
    readonly param: string,
  ) {
    super(code as HubError['code'], message);
  }
}

export function registerOpenAiRoutes(app: HttpRoutes, ctx: HubContext): void {
  app.post('/v1/audio/transcriptions', handler(ctx, false));
  app.post('/v1/audio/translations', handler(ctx, true));
}

function handler(ctx: HubContext, translate: boolean) {
  return (res: HttpResponse, req: HttpRequest) => {
    const reply = new Reply(res, (error) => ctx.log.error({ err: error, url: req.getUrl() }, 'request failed'));
    const length = req.getHeader('content-length');
    const query = new URLSearchParams(req.getQuery() ?? '');
    const request = {
      caller: ctx.auth.identify(req.getHeader('authorization'), null),
      contentType: req.getHeader('content-type'),
      contentLength: /^\d+$/.test(length) ? Number(length) : undefined,
      keep: query.get('keep') === 'true' || query.get('keep') === '1',
    };
    transcribe(ctx, reply, request, translate).catch((error: unknown) => answerError(ctx, reply, error));
  };
}

/** OpenAI's error body with the status the hub's code maps to (bad audio is OpenAI's 400). */
function answerError(ctx: HubContext, reply: Reply, error: unknown): void {
  if (!(error instanceof HubError)) {
    ctx.log.error({ err: error }, 'OpenAI-compatible request failed');
    return reply.json(500, openAiError(500, 'internal', 'something went wrong on our side; it has been logged'), [], true);
  }
  const status = error.code === 'unsupported_audio' || error.code === 'audio_too_long' ? 400 : (STATUS_OF_CODE[error.code] ?? 500);
  const code = error.code === 'unauthorized' ? 'invalid_api_key' : error.code === 'unknown_model' ? 'model_not_found' : error.code;
  const param = error instanceof FieldError ? error.param : null;
  // An answer before the whole body was read closes the connection (the rest is not worth reading).
  reply.json(status, openAiError(status, code, error.message, param), [], status === 413 || status === 401);
}

async function transcribe(ctx: HubContext, reply: Reply, request: { caller: Caller | undefined; contentType: string; contentLength: number | undefined; keep: boolean }, translate: boolean): Promise<void> {
  const caller = request.caller;
  if (!caller) throw new HubError('unauthorized', 'a valid API key is required (Authorization: Bearer <one of the hub\'s tokens>)');
  checkUpload(ctx, caller, request.contentLength);
  if (!request.contentType.toLowerCase().startsWith('multipart/form-data')) throw new HubError('bad_request', 'the body must be multipart/form-data, as OpenAI\'s audio API takes it');
  const id = randomUUID();
  let path = ctx.spool.uploadPath(id);
  const quota = ctx.spool.receiving();
  let body: MultipartBody;
  try {
    body = await receiveMultipart(reply, request.contentType, path, ctx.config.maxUploadBytes, quota);
  } finally {
    quota.done();
  }
  let fields: Form;
  try {
    if (!body.file || body.file.field !== 'file') throw new FieldError('bad_request', 'the audio must be sent as the form field "file"', 'file');
    if (body.file.bytes === 0) throw new FieldError('bad_request', 'the file is empty', 'file');
    fields = parseForm(ctx, body.fields, translate);
    const extension = uploadExtension(body.file.filename);
    if (extension) await rename(path, (path = ctx.spool.uploadPath(id, extension)));
  } catch (error) {
    await rm(path, { force: true });
    throw error;
  }
  const options: TranscribeOptions = {
    ...(translate ? { translate: true } : {}),
    ...(fields.prompt ? { prompt: fields.prompt } : {}),
    ...(fields.temperature !== undefined ? { temperature: fields.temperature } : {}),
    ...(OPENAI_MODELS.includes(fields.model) ? {} : { model: fields.model }),
    ...(fields.response_format === 'diarized_json' ? { diarize: true } : {}),
  };
  const name = body.file.filename.slice(0, 300);
  const task = await recordUpload(ctx, {
    id, userId: caller.userId, uploadPath: path, ...(name ? { name } : {}), ...(fields.language ? { language: fields.language } : {}), ...(Object.keys(options).length ? { options } : {}),
  });
  ctx.log.info({ taskId: id, userId: caller.userId, bytes: body.file.bytes, api: 'openai', stream: fields.stream }, 'upload accepted');
  const keep = request.keep || fields.keep;
  reply.onAbort(() => {
    if (!keep && ctx.registry.cancel(id)) ctx.log.info({ taskId: id, userId: caller.userId }, 'client went away: task cancelled');
  });
  const format = { translate, granularities: fields.timestamp_granularities };
  if (fields.stream) return streamEvents(ctx, reply, task);
  const done = await finished(ctx, task);
  if (reply.abandoned) return;
  if (done.status !== 'completed') throw failureOf(done);
  const { body: text, contentType } = formatResult(done, fields.response_format, format);
  reply.send(200, text, [['Content-Type', contentType], ['X-Hub-Task-Id', id]]);
}

function parseForm(ctx: HubContext, fields: Map<string, string[]>, translate: boolean): Form {
  const last = (name: string) => fields.get(name)?.at(-1);
  const unknown = [...fields.keys()].find((k) => !IGNORED.has(k) && !['model', 'language', 'prompt', 'temperature', 'response_format', 'timestamp_granularities[]', 'timestamp_granularities', 'stream', 'keep'].includes(k));
  if (unknown) throw new FieldError('bad_request', `unknown field ${unknown.slice(0, 60)}`, unknown.slice(0, 60));
  if (translate && fields.has('language')) throw new FieldError('bad_request', 'translations take no language: they are always into English', 'language');
  const raw = {
    model: last('model'),
    language: last('language'),
    prompt: last('prompt'),
    temperature: last('temperature'),
    response_format: last('response_format'),
    timestamp_granularities: [...(fields.get('timestamp_granularities[]') ?? []), ...(fields.get('timestamp_granularities') ?? [])],
    stream: last('stream'),
    keep: last('keep'),
  };
  const parsed = form.safeParse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined && v !== '')));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FieldError('bad_request', issue.message, String(issue.path[0] ?? ''));
  }
  const f = parsed.data;
  if (f.timestamp_granularities.length && f.response_format !== 'verbose_json') throw new FieldError('bad_request', 'timestamp_granularities[] needs response_format verbose_json', 'timestamp_granularities');
  if (translate && f.stream) throw new FieldError('bad_request', 'translations do not stream', 'stream');
  if (!OPENAI_MODELS.includes(f.model) && !ctx.engine.knowsModel(f.model)) {
    throw new FieldError('unknown_model', `the model ${f.model.slice(0, 100)} does not exist here: use ${OPENAI_MODELS[0]} (the hub's default model) or one of ${ctx.engine.modelNames.join(', ')}`, 'model');
  }
  return f;
}

/** Server-sent events: a delta per chunk as its text is final (in chunk order), then the whole text. */
async function streamEvents(ctx: HubContext, reply: Reply, task: Task): Promise<void> {
  const sse = reply.startStream(200, [['Content-Type', 'text/event-stream; charset=utf-8'], ['Cache-Control', 'no-cache'], ['X-Hub-Task-Id', task.id]]);
  let said = '';
  const say = (segments: Task['segments']) => {
    const text = textOf(segments);
    if (!text) return;
    sse.write(sseEvent({ type: 'transcript.text.delta', delta: said ? ` ${text}` : text }));
    said += said ? ` ${text}` : text;
  };
  say(ctx.registry.get(task.id)?.segments ?? []);
  const done = await finished(ctx, task, (_, frame) => frame.type === 'segments' && say(frame.segments));
  if (done.status === 'completed') {
    sse.write(sseEvent({ type: 'transcript.text.done', text: textOf(done.segments), usage: { type: 'duration', seconds: Math.ceil(done.durationSec ?? 0) } }));
  } else {
    const error = failureOf(done);
    sse.write(sseEvent(openAiError(500, error.code, error.message)));
  }
  sse.end();
}
