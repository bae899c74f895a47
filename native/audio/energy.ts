// Loudness per 20 ms frame, computed while audio streams past, so the chunk
// planner can find pauses without holding the whole recording in memory.
export const FRAME_SAMPLES = 320; // 20 ms at 16 kHz

export class FrameEnergy {
  /** grown by doubling: 4 bytes per frame (12 hours: 8.6 MB) */
  private rms = new Float32Array(1024);
  private frames = 0;
  private sum = 0;
  private count = 0;

  push(samples: Float32Array): void {
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      this.sum += s * s;
      if (++this.count === FRAME_SAMPLES) this.closeFrame();
    }
  }

  /** RMS of each frame; the last partial frame counts as a frame. */
  finish(): Float32Array {
    if (this.count > 0) this.closeFrame();
    return this.rms.slice(0, this.frames);
  }

  private closeFrame(): void {
    if (this.frames === this.rms.length) {
      const grown = new Float32Array(this.rms.length * 2);
      grown.set(this.rms);
      this.rms = grown;
    }
    this.rms[this.frames++] = Math.sqrt(this.sum / this.count);
    this.sum = 0;
    this.count = 0;
  }
}
