// Loudness per 20 ms frame, computed while audio streams past, so the chunk
// planner can find pauses without holding the whole recording in memory.
export const FRAME_SAMPLES = 320; // 20 ms at 16 kHz

export class FrameEnergy {
  private readonly rms: number[] = [];
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
    return Float32Array.from(this.rms);
  }

  private closeFrame(): void {
    this.rms.push(Math.sqrt(this.sum / this.count));
    this.sum = 0;
    this.count = 0;
  }
}
