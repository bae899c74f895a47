// @napi-rs/whisper as an engine backend: CPU only, one run at a time, no
// abort (the pool kills the process instead), segments only after the run, no
// words. `full()` blocks the worker's loop; its segment callbacks arrive a
// turn or two after.
import { Whisper, WhisperFullParams, WhisperSamplingStrategy, type Segment as NativeSegment } from '@napi-rs/whisper';
import type { Backend, BackendParams, BackendRun } from './backend.ts';
import type { EngineInfo } from './types.ts';

export function openNapiRs(modelPath: string, fallbackReason?: string): Backend {
  const whisper = new Whisper(modelPath);
  const info: EngineInfo = { impl: 'napi-rs', version: '0.0.4', backend: 'cpu', ...(fallbackReason ? { fallbackReason } : {}) };
  return {
    info,
    multilingual: whisper.isMultilingual === 1,
    concurrent: false, // one context, and full() holds the process's loop
    run(input: Float32Array, p: BackendParams): BackendRun {
      const done = (async () => {
        // (beam search is the addon's: this backend decodes greedily whatever `beam` says)
        const params = new WhisperFullParams(WhisperSamplingStrategy.Greedy);
        params.nThreads = p.threads;
        if (p.translate) params.translate = true;
        if (p.prompt) params.initialPrompt = p.prompt;
        if (p.temperature !== undefined) params.temperature = p.temperature;
        if (p.audioCtx) params.audioCtx = p.audioCtx;
        if (p.maxTokens) params.maxTokens = p.maxTokens;
        params.language = p.language;
        params.printProgress = false;
        params.printRealtime = false;
        params.printTimestamps = false;
        params.printSpecial = false;
        const received: NativeSegment[] = [];
        params.onNewSegment = (s) => received.push(s);
        const text = whisper.full(params, input);
        const native = (await collectSegments(received, text)) ?? [{ start: 0, end: Math.round((input.length / 16_000) * 100), text }];
        return {
          segments: native.map((s) => ({ start: s.start / 100, end: s.end / 100, text: s.text })),
          language: Whisper.lang(whisper.fullLangId) ?? null,
          aborted: false,
        };
      })();
      return { done, abort: () => false };
    },
  };
}

const squash = (s: string) => s.replace(/\s+/g, '');

/**
 * Segment callbacks arrive on the event loop after `full()` returns: wait until
 * they add up to the returned text (a turn or two), but never long.
 */
async function collectSegments(received: NativeSegment[], text: string): Promise<NativeSegment[] | undefined> {
  const want = squash(text);
  const deadline = performance.now() + 500;
  while (squash(received.map((s) => s.text).join('')) !== want) {
    if (performance.now() > deadline) return undefined;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return received;
}
