// Speakers of a live session (`diarize=1` on /v1/stream), told apart online:
// the session's recent audio is kept (the last RING_SEC), each final with
// text is embedded on an engine slot (live priority) and joins the speaker
// whose running mean is nearest, or starts a new one when none is within
// SPEAKER_DISTANCE. When two speakers' means come that close, the later one
// joins the earlier, and its finals are relabelled. Labels reach the client
// in `speakers` frames, `{segId: speaker}`: a final never changes, so its
// speaker comes (and may be corrected) that way. When the engines fall
// behind, at most MAX_QUEUED_SEC of finals wait to be embedded (memory stays
// bounded); the finals past that stay without a speaker.
import { SPEAKER_DISTANCE } from '../native/diarize/cluster.ts';
import { SAMPLE_RATE } from '../native/audio/pcm.ts';
import { cosine } from '../native/diarize/vectors.ts';

/** Audio kept for the finals still to embed. */
const RING_SEC = 60;
/** Finals shorter than this give no steady embedding: they stay without a speaker. */
const MIN_FINAL_SEC = 0.8;
/** Audio of finals waiting to be embedded, at most: when the engines fall this far behind, later finals stay without a speaker. */
const MAX_QUEUED_SEC = 30;

export interface LiveSpeakersDeps {
  embed(samples: Float32Array, signal: AbortSignal): Promise<Float32Array>;
  /** new or changed labels, by segId, with the finals' places among the session's finals */
  onLabels(labels: { segId: string; chunk: number; speaker: string }[]): void;
  onError(message: string): void;
}

interface Voice {
  sum: Float32Array;
  count: number;
  /** finals said in this voice */
  finals: { segId: string; chunk: number }[];
  name: string;
}

export class LiveSpeakers {
  private ring: Float32Array;
  /** samples received in the whole session (the ring holds the last of them) */
  private received: number;
  private readonly voices: Voice[] = [];
  private named = 0;
  private queue = Promise.resolve();
  private queuedSamples = 0;
  private readonly abort = new AbortController();
  private failed = false;

  constructor(
    private readonly deps: LiveSpeakersDeps,
    startAt: number,
  ) {
    this.ring = new Float32Array(RING_SEC * SAMPLE_RATE);
    this.received = startAt;
  }

  /** Keeps the newest audio: sample number `s` of the session lives at `s % ring.length` (no copying of what is kept). */
  push(samples: Float32Array): void {
    const n = this.ring.length;
    const tail = samples.length > n ? samples.subarray(samples.length - n) : samples;
    const at = (this.received + samples.length - tail.length) % n;
    const first = Math.min(tail.length, n - at);
    this.ring.set(tail.subarray(0, first), at);
    this.ring.set(tail.subarray(first), 0);
    this.received += samples.length;
  }

  /** A final with text was made: its speaker follows (finals are embedded one after another, in order). */
  final(segId: string, chunk: number, start: number, end: number): void {
    if (this.failed || end - start < MIN_FINAL_SEC) return;
    if (this.queuedSamples + Math.round(end * SAMPLE_RATE) - Math.round(start * SAMPLE_RATE) > MAX_QUEUED_SEC * SAMPLE_RATE) return; // (before copying it out)
    const samples = this.slice(start, end);
    if (!samples) return;
    this.queuedSamples += samples.length;
    this.queue = this.queue.then(async () => {
      if (this.abort.signal.aborted || this.failed) return;
      try {
        this.assign(segId, chunk, await this.deps.embed(samples, this.abort.signal));
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.failed = true; // (one message, not one per final)
        this.deps.onError((error as Error).message);
      } finally {
        this.queuedSamples -= samples.length;
      }
    });
  }

  stop(): void {
    this.abort.abort();
  }

  /** The samples of [start, end) seconds of the session, if still in the ring. */
  private slice(start: number, end: number): Float32Array | undefined {
    const n = this.ring.length;
    const from = Math.round(start * SAMPLE_RATE);
    const to = Math.round(end * SAMPLE_RATE);
    if (from < this.received - n || to > this.received || to <= from) return undefined;
    const out = new Float32Array(to - from);
    const at = from % n;
    const first = Math.min(out.length, n - at);
    out.set(this.ring.subarray(at, at + first));
    out.set(this.ring.subarray(0, out.length - first), first);
    return out;
  }

  private assign(segId: string, chunk: number, embedding: Float32Array): void {
    let best: Voice | undefined;
    let bestSimilarity = -Infinity;
    for (const voice of this.voices) {
      const similarity = cosine(voice.sum, embedding);
      if (similarity > bestSimilarity) [best, bestSimilarity] = [voice, similarity];
    }
    if (!best || 1 - bestSimilarity > SPEAKER_DISTANCE) {
      best = { sum: new Float32Array(embedding.length), count: 0, finals: [], name: `S${++this.named}` };
      this.voices.push(best);
    }
    for (let k = 0; k < embedding.length; k++) best.sum[k]! += embedding[k]!;
    best.count++;
    best.finals.push({ segId, chunk });
    const changed = [{ segId, chunk, speaker: best.name }];
    // Two voices that turn out to be one: the later joins the earlier, its finals relabelled.
    for (let i = 0; i < this.voices.length; i++) {
      for (let j = i + 1; j < this.voices.length; j++) {
        const [a, b] = [this.voices[i]!, this.voices[j]!];
        if (1 - cosine(a.sum, b.sum) > SPEAKER_DISTANCE) continue;
        for (let k = 0; k < a.sum.length; k++) a.sum[k]! += b.sum[k]!;
        a.count += b.count;
        a.finals.push(...b.finals);
        for (const f of b.finals) changed.push({ ...f, speaker: a.name });
        this.voices.splice(j--, 1);
      }
    }
    const latest = new Map(changed.map((c) => [c.segId, c]));
    this.deps.onLabels([...latest.values()]);
  }
}
