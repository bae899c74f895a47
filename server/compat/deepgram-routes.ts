// Deepgram's pre-recorded transcription, `POST /v1/listen`: the audio bytes
// as the body, Deepgram's query parameters, Deepgram's JSON response and
// errors, so code written for Deepgram works with the base URL and key changed.
// Translation only: the request becomes an ordinary task of the caller (fair,
// durable, cancellable, listed) and the answer is made from it once it has
// finished; a client that goes away cancels it. Remote URLs (`{"url": ...}`)
// are not fetched: the hub does not reach out to addresses its callers name.
import { randomUUID, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { HttpRequest, HttpResponse } from '../uws.ts';
import type { HttpRoutes } from '../guard.ts';
import type { HubContext } from '../context.ts';
import { Reply, STATUS_OF_CODE } from '../http/reply.ts';
import { receiveBody } from '../http/upload.ts';
import { checkUpload, recordUpload } from '../http/task-routes.ts';
import { HubError } from '../../actors/hub-error.ts';
import { deepgramError, isDeepgramModel, languageOf, listenParamsSchema, modelInfo, promptOf, prerecorded, queryObject, type ListenParams } from './deepgram-format.ts';
import { failureOf, finished } from './task-outcome.ts';

export function registerDeepgramRoutes(app: HttpRoutes, ctx: HubContext): void {
  app.post('/v1/listen', (res: HttpResponse, req: HttpRequest) => {
    const reply = new Reply(res, (error) => ctx.log.error({ err: error, url: '/v1/listen' }, 'request failed'));
    const length = req.getHeader('content-length');
    const token = /^(?:Token|Bearer)\s+(\S+)\s*$/i.exec(req.getHeader('authorization'))?.[1];
    const request = {
      caller: ctx.auth.identifyToken(token),
      contentType: req.getHeader('content-type').toLowerCase(),
      contentLength: /^\d+$/.test(length) ? Number(length) : undefined,
      query: new URLSearchParams(req.getQuery() ?? ''),
    };
    const id = randomUUID();
    transcribe(ctx, reply, request, id).catch((error: unknown) => answerError(ctx, reply, error, id));
  });
}

/** Deepgram's error body, with the status the hub's code maps to (audio that does not decode is Deepgram's 400). */
function answerError(ctx: HubContext, reply: Reply, error: unknown, id: string): void {
  if (!(error instanceof HubError)) {
    ctx.log.error({ err: error }, 'Deepgram-compatible request failed');
    const { body, headers } = deepgramError('INTERNAL_SERVER_ERROR', 'something went wrong on our side; it has been logged', id);
    return reply.send(500, body, headers, true);
  }
  const status = error.code === 'unsupported_audio' || error.code === 'audio_too_long' ? 400 : (STATUS_OF_CODE[error.code] ?? 500);
  const code = error.code === 'unauthorized' ? 'INVALID_AUTH' : error.code === 'unsupported_audio' ? 'Bad Request' : status === 400 ? 'Bad Request' : error.code.toUpperCase();
  const message = error.code === 'unsupported_audio' ? `Failed to process audio: corrupt or unsupported data (${error.message})` : error.message;
  const { body, headers } = deepgramError(code, message, id);
  // An answer before the body was read closes the connection (the rest is not worth reading).
  reply.send(status, body, headers, status === 413 || status === 401 || status === 400);
}

function parseParams(ctx: HubContext, query: URLSearchParams): ListenParams {
  const parsed = listenParamsSchema.safeParse(queryObject(query));
  if (!parsed.success) throw new HubError('bad_request', parsed.error.issues.map((i) => i.message).join('; '));
  const p = parsed.data;
  if (p.model && !isDeepgramModel(p.model) && !ctx.engine.knowsModel(p.model)) throw new HubError('bad_request', `No such model: ${p.model.slice(0, 100)} (use nova-3, which is this hub's default model, or one of ${ctx.engine.modelNames.join(', ')})`);
  return p;
}

async function transcribe(ctx: HubContext, reply: Reply, request: { caller: ReturnType<HubContext['auth']['identifyToken']>; contentType: string; contentLength: number | undefined; query: URLSearchParams }, id: string): Promise<void> {
  const caller = request.caller;
  if (!caller) throw new HubError('unauthorized', 'Invalid credentials.');
  const params = parseParams(ctx, request.query);
  if (request.contentType.startsWith('application/json')) throw new HubError('bad_request', 'this hub does not fetch remote URLs: send the audio bytes as the request body');
  checkUpload(ctx, caller, request.contentLength);
  const path = ctx.spool.uploadPath(id);
  const quota = ctx.spool.receiving();
  let bytes: number;
  try {
    bytes = await receiveBody(reply, path, ctx.config.maxUploadBytes, quota);
  } finally {
    quota.done();
  }
  if (bytes === 0) {
    await rm(path, { force: true });
    throw new HubError('bad_request', 'the request body is empty: send the audio as the body');
  }
  const sha256 = await hashFile(path);
  const language = languageOf(params);
  const prompt = promptOf(params);
  const wanted = params.model && !isDeepgramModel(params.model) ? params.model : undefined;
  const options = { ...(prompt ? { prompt } : {}), ...(wanted ? { model: wanted } : {}), ...(params.diarize ? { diarize: true } : {}) };
  const task = await recordUpload(ctx, { id, userId: caller.userId, uploadPath: path, name: 'Deepgram pre-recorded', ...(language ? { language } : {}), ...(Object.keys(options).length ? { options } : {}) });
  ctx.log.info({ taskId: id, userId: caller.userId, bytes, api: 'deepgram' }, 'upload accepted');
  reply.onAbort(() => {
    if (ctx.registry.cancel(id)) ctx.log.info({ taskId: id, userId: caller.userId }, 'client went away: task cancelled');
  });
  const done = await finished(ctx, task);
  if (reply.abandoned) return;
  if (done.status !== 'completed') throw failureOf(done);
  const model = modelInfo(ctx.engine.modelNameFor(wanted) ?? 'whisper', ctx.engine.status().version);
  const body = prerecorded({
    requestId: id,
    model,
    sha256,
    durationSec: done.durationSec ?? 0,
    segments: done.segments,
    language: done.language,
    detect: params.detect_language === true,
    punctuate: params.punctuate !== false || params.smart_format === true,
    utterances: params.utterances === true,
    diarize: params.diarize === true,
  });
  reply.json(200, body, [['dg-request-id', id], ['X-Hub-Task-Id', id]]);
}

/** The upload's SHA-256, read back from the spool in pieces (the loop hashes 64 KB at a time). */
function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('end', () => resolve(hash.digest('hex')))
      .on('error', reject);
  });
}
