// Child-process entry of the Silero VAD: one ONNX Runtime session (Silero v5,
// the file @ricky0123/vad-web ships) serving every live stream of the hub,
// each with its own recurrent state. Reached through Comlink over IPC, so the
// hub's loop never runs inference and a native crash here cannot touch it.
// Input comes in whole 32 ms frames (512 samples); as Silero's own wrapper
// does, each frame is given with the last 64 samples of the one before it.
import ort from 'onnxruntime-node';
import { exposeToParent } from '../endpoints.ts';
import { SILERO_FRAME } from './silero-vad.ts';
import { SAMPLE_RATE } from './pcm.ts';

const CONTEXT = 64;
const STATE_SIZE = 2 * 1 * 128;

interface StreamState {
  state: ort.Tensor;
  context: Float32Array;
}

// One thread: per stream a frame costs well under a millisecond, and the cores belong to the engines.
// Loaded after the channel is served, so a call sent at once is not lost; a load failure rejects every call.
const loading = ort.InferenceSession.create(process.env.SILERO_MODEL_PATH ?? '', { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
loading.catch(() => {});
const rate = new ort.Tensor('int64', BigInt64Array.from([BigInt(SAMPLE_RATE)]), []);
const streams = new Map<string, StreamState>();

const api = {
  /** Speech probability (0..1) of each 512-sample frame in `frames`; a stream not seen before starts fresh. */
  async probabilities(streamId: string, frames: Float32Array): Promise<Float32Array> {
    const session = await loading;
    if (frames.length % SILERO_FRAME !== 0) throw new Error(`frames must be a multiple of ${SILERO_FRAME} samples`);
    let s = streams.get(streamId);
    if (!s) streams.set(streamId, (s = { state: new ort.Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 128]), context: new Float32Array(CONTEXT) }));
    const out = new Float32Array(frames.length / SILERO_FRAME);
    const input = new Float32Array(CONTEXT + SILERO_FRAME);
    for (let i = 0; i < out.length; i++) {
      const frame = frames.subarray(i * SILERO_FRAME, (i + 1) * SILERO_FRAME);
      input.set(s.context);
      input.set(frame, CONTEXT);
      const result = await session.run({ input: new ort.Tensor('float32', input, [1, CONTEXT + SILERO_FRAME]), state: s.state, sr: rate });
      s.state = result.stateN!;
      s.context = frame.slice(SILERO_FRAME - CONTEXT);
      out[i] = (result.output!.data as Float32Array)[0]!;
    }
    return out;
  },

  forget(streamId: string): void {
    streams.delete(streamId);
  },

  /** Resolves once the model is loaded (rejects with the reason it cannot be). */
  async ready(): Promise<void> {
    await loading;
  },
};

export type SileroWorkerApi = typeof api;

exposeToParent(api);
