// The browser's microphone as 16 kHz s16le frames for a LiveSession: an
// AudioWorklet in an AudioContext running at 16 kHz (the browser resamples),
// posting 100 ms frames and their level (for a meter). Browser only.
const WORKLET = `
class Capture extends AudioWorkletProcessor {
  constructor() { super(); this.buffer = new Int16Array(1600); this.at = 0; this.sum = 0; }
  process(inputs) {
    const input = inputs[0] && inputs[0][0];
    if (!input) return true;
    for (let i = 0; i < input.length; i++) {
      const s = Math.max(-1, Math.min(1, input[i]));
      this.sum += s * s;
      this.buffer[this.at++] = s < 0 ? s * 32768 : s * 32767;
      if (this.at === this.buffer.length) {
        this.port.postMessage({ pcm: this.buffer.buffer, level: Math.sqrt(this.sum / this.at) }, [this.buffer.buffer]);
        this.buffer = new Int16Array(1600); this.at = 0; this.sum = 0;
      }
    }
    return true;
  }
}
registerProcessor('hub-capture', Capture);
`;

export interface Microphone {
  stop(): Promise<void>;
}

/** Captures the microphone (or the given stream); `onAudio` gets 100 ms of s16le 16 kHz mono and its RMS level (0–1). */
export async function captureMicrophone(onAudio: (pcm: Uint8Array, level: number) => void, given?: MediaStream): Promise<Microphone> {
  const media = given ?? (await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } }));
  const context = new AudioContext({ sampleRate: 16_000 });
  const url = URL.createObjectURL(new Blob([WORKLET], { type: 'application/javascript' }));
  await context.audioWorklet.addModule(url);
  URL.revokeObjectURL(url);
  const source = context.createMediaStreamSource(media);
  const node = new AudioWorkletNode(context, 'hub-capture');
  node.port.onmessage = (e: MessageEvent<{ pcm: ArrayBuffer; level: number }>) => onAudio(new Uint8Array(e.data.pcm), e.data.level);
  source.connect(node);
  return {
    async stop() {
      source.disconnect();
      node.disconnect();
      if (!given) media.getTracks().forEach((t) => t.stop()); // a stream the caller gave stays theirs
      await context.close();
    },
  };
}
