// Operational endpoints: liveness, readiness with the reasons behind it, and
// Prometheus metrics. Readiness asks the store with a short timeout; nothing
// here waits on anything slow.
import type { HttpResponse } from '../uws.ts';
import type { HttpRoutes } from '../guard.ts';
import type { HubContext } from '../context.ts';
import { Reply } from './reply.ts';

const STORE_PING_TIMEOUT_MS = 1000;

export function registerOpsRoutes(app: HttpRoutes, ctx: HubContext): void {
  app.get('/healthz', (res: HttpResponse) => {
    new Reply(res).json(200, { ok: true, uptimeSec: Math.round(process.uptime()) });
  });

  app.get('/readyz', (res: HttpResponse) => {
    const reply = new Reply(res, (error) => ctx.log.error({ err: error }, 'readiness failed'));
    readiness(ctx)
      .then((body) => reply.json(body.ready ? 200 : 503, body))
      .catch((error: unknown) => reply.error(error));
  });

  app.get('/metrics', (res: HttpResponse) => {
    const reply = new Reply(res, (error) => ctx.log.error({ err: error }, 'metrics failed'));
    ctx.metrics.registry
      .metrics()
      .then((text) => reply.send(200, text, [['Content-Type', ctx.metrics.registry.contentType]]))
      .catch((error: unknown) => reply.error(error));
  });
}

async function readiness(ctx: HubContext) {
  const engine = ctx.engine.status();
  const started = Date.now();
  const store = await Promise.race([
    ctx.persistence.store.ping().then(() => ({ ok: true })),
    new Promise<{ ok: false; error: string }>((resolve) => setTimeout(() => resolve({ ok: false, error: 'no answer within 1 s' }), STORE_PING_TIMEOUT_MS).unref()),
  ]).catch((error: Error) => ({ ok: false, error: error.message }));
  const persistence = ctx.persistence.stats();
  const shuttingDown = ctx.shuttingDown();
  const reasons = [
    ...(engine.state !== 'ready' ? [`engine ${engine.state}${engine.failure ? `: ${engine.failure}` : ''}`] : []),
    ...(!store.ok ? [`store unreachable: ${'error' in store ? store.error : ''}`] : []),
    ...(shuttingDown ? ['shutting down'] : []),
  ];
  const warnings = [
    ...(engine.synthetic ? [`SYNTHETIC MODEL ${engine.models.filter((m) => m.startsWith('synthetic:')).join(', ')}: transcripts are a fixed test script, not real speech recognition${engine.fallbackReason ? ` (${engine.fallbackReason})` : ''}`] : []),
    ...(engine.implFallback ? [`the whisper.cpp engine is not in use (${engine.implFallback}): @napi-rs/whisper runs instead, on the CPU, without abort inside a run or words`] : []),
    ...(ctx.vad.failure ? [`Silero VAD could not start (${ctx.vad.failure}): live streams use the energy detector, which misses speech in noise`] : []),
  ];
  return {
    ready: reasons.length === 0,
    reasons,
    warnings,
    engine,
    vad: { impl: ctx.vad.impl, ...(ctx.vad.failure ? { failure: ctx.vad.failure } : {}) },
    store: { kind: ctx.persistence.store.kind, ...store, pingMs: Date.now() - started, backlog: persistence.backlog, lastWriteAt: persistence.lastWriteAt, lastError: persistence.lastError },
    shuttingDown,
  };
}
