// The hub's whisper.cpp addon as an engine backend: one model, runs on
// threads of their own (the worker's loop stays free to hear an abort),
// abort inside the run, segments as whisper emits them, words with
// probabilities, the no-speech probability. Several runs share the model.
// A CUDA build uses the GPU when there is one, else the CPU.
import type { Backend, BackendParams, BackendRun } from './backend.ts';
import type { EngineInfo, EngineSegment } from './types.ts';
import type { AddonSegment, WhisperAddon } from './whisper-cpp-addon.ts';

/** `dtw`: words dated by DTW over the model's alignment heads (flash attention off) instead of token timestamps. */
export function openWhisperCpp(addon: WhisperAddon, modelPath: string, options: { dtw?: boolean } = {}): Backend {
  const model = new addon.Model(modelPath, { useGpu: true, ...(options.dtw ? { dtw: true } : {}) });
  const gpu = addon.backend === 'cuda' ? addon.devices().find((d) => d.type === 'gpu') : undefined;
  const info: EngineInfo = { impl: 'whisper.cpp', version: addon.version, backend: gpu ? 'cuda' : 'cpu', ...(gpu ? { device: gpu.description } : {}) };
  return {
    info,
    multilingual: model.multilingual,
    concurrent: true,
    run(input: Float32Array, p: BackendParams, onSegment?: (segment: EngineSegment) => void): BackendRun {
      const run = model.transcribe(input, {
        threads: p.threads,
        language: p.language === 'auto' ? '' : p.language,
        ...(p.audioCtx ? { audioCtx: p.audioCtx } : {}),
        ...(p.maxTokens ? { maxTokens: p.maxTokens } : {}),
        ...(p.translate ? { translate: true } : {}),
        ...(p.prompt ? { prompt: p.prompt } : {}),
        ...(p.temperature !== undefined ? { temperature: p.temperature } : {}),
        ...(p.beamSize && p.beamSize > 1 ? { beamSize: p.beamSize } : {}),
        ...(p.fallback === false ? { temperatureInc: 0 } : {}),
      }, onSegment && ((s) => onSegment(inSeconds(s))));
      const done = run.done.then((r) => ({ segments: r.segments.map(inSeconds), language: r.language || null, aborted: r.aborted }));
      return { done, abort: () => (run.abort(), true) };
    },
    deviceMemoryUsedBytes() {
      const device = gpu && addon.devices().find((d) => d.name === gpu.name);
      return device ? device.memoryTotal - device.memoryFree : undefined;
    },
  };
}

function inSeconds(s: AddonSegment): EngineSegment {
  return {
    start: s.t0 / 100,
    end: s.t1 / 100,
    text: s.text,
    words: s.words.map((w) => ({ word: w.text.trim(), start: w.t0 / 100, end: w.t1 / 100, p: Math.round(w.p * 1000) / 1000 })).filter((w) => w.word),
    avgLogprob: Math.round(s.avgLogprob * 1000) / 1000,
    noSpeechProb: Math.round(s.noSpeechProb * 1000) / 1000,
  };
}
