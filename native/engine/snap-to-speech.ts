// Whisper dates segments coarsely: a chunk's first segment starts at 0.00
// whatever the chunk opens with, and a segment after a pause often starts
// inside the pause. Where a segment starts in silence, its start moves to
// where the speech resumes (the audio is right here, in the engine worker), a
// tenth of a second early. Ends and text are untouched. Pure.
import { FRAME_SAMPLES, FrameEnergy } from '../audio/energy.ts';
import { SAMPLE_RATE } from '../audio/pcm.ts';
import type { EngineSegment } from './types.ts';

/** Speech: a frame within 30 dB of the audio's loudest, and above -50 dBFS. */
const BELOW_PEAK = 10 ** (-30 / 20);
const FLOOR_RMS = 0.003;
const MARGIN_SEC = 0.1;

export function snapStartsToSpeech(segments: EngineSegment[], audio: Float32Array): EngineSegment[] {
  if (segments.length === 0) return segments;
  const energy = new FrameEnergy();
  energy.push(audio);
  const frames = energy.finish();
  const peak = frames.reduce((a, b) => Math.max(a, b), 0);
  const threshold = Math.max(FLOOR_RMS, peak * BELOW_PEAK);
  const frameSec = FRAME_SAMPLES / SAMPLE_RATE;
  return segments.map((s) => {
    let f = Math.floor(s.start / frameSec);
    const last = Math.min(frames.length, Math.ceil(s.end / frameSec));
    if (f >= last || frames[f]! >= threshold) return s;
    while (f < last && frames[f]! < threshold) f++;
    if (f >= last) return s; // no speech in it at all: leave whisper's times
    const start = Math.max(s.start, f * frameSec - MARGIN_SEC);
    return { ...s, start: Math.min(start, s.end) };
  });
}
