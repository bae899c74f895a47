// Compressed live audio (Opus in WebM or Ogg, as browsers' MediaRecorder makes
// it) decoded as it arrives: one ffmpeg process per connection,
// fed the stream from its first byte (its header is what makes the rest
// decodable), giving 16 kHz mono float32. Its stderr is drained; a non-zero
// exit or unreadable input is reported once. `end()` waits for ffmpeg to hand
// over its last samples (or to fail), never longer than FLUSH_LIMIT_MS.
import { spawnFfmpeg, type FfmpegInfo, type FfmpegProcess } from './ffmpeg.ts';

/** `auto`: whatever container ffmpeg recognises from the stream's first bytes (wav, flac, mp3, webm, ogg, ...). */
export type CompressedFormat = 'webm' | 'ogg' | 'auto';

/** A decoder that has not finished this long after its input ended is killed. */
const FLUSH_LIMIT_MS = 5000;

export class StreamDecoder {
  private readonly child: FfmpegProcess;
  private carry: Buffer = Buffer.alloc(0);
  private stderr = '';
  private failed = false;
  private ended = false;
  private killed = false;
  private readonly exited: Promise<void>;

  constructor(
    ffmpeg: FfmpegInfo,
    format: CompressedFormat,
    private readonly onSamples: (samples: Float32Array) => void,
    private readonly onError: (message: string) => void,
  ) {
    const input = format === 'auto' ? ['-probesize', '32768'] : ['-probesize', '4096', '-f', format];
    const child = spawnFfmpeg(ffmpeg, ['-fflags', '+nobuffer', '-flags', 'low_delay', '-analyzeduration', '0', ...input, '-i', 'pipe:0', '-vn', '-ac', '1', '-ar', '16000', '-flush_packets', '1', '-f', 'f32le', 'pipe:1']);
    this.child = child;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (this.stderr.length < 2000) this.stderr += d;
    });
    child.stdout.on('data', (data: Buffer) => this.deliver(data));
    child.stdin.on('error', () => {}); // ffmpeg gone: its exit says why
    this.exited = new Promise((resolve) => (child.once('close', () => resolve()), child.once('error', () => resolve())));
    child.once('close', (code: number | null) => {
      if (this.failed) return;
      if (code !== 0 && !this.killed) this.fail(`the audio could not be decoded${format === 'auto' ? '' : ` as ${format}`}: ${this.stderr.trim().split('\n').pop() || `ffmpeg exited with ${code}`}`);
    });
    child.once('error', (e: Error) => this.fail(`ffmpeg is not available: ${e.message}`));
  }

  write(bytes: Uint8Array): void {
    if (this.failed || this.ended) return;
    this.child.stdin.write(bytes);
  }

  /** No more input: resolves once ffmpeg has handed over what it held and exited (or failed). */
  async end(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      this.child.stdin.end();
    }
    let limit: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (limit = setTimeout(() => (this.fail('the audio decoder did not finish in time'), resolve()), FLUSH_LIMIT_MS)));
    await Promise.race([this.exited, late]);
    clearTimeout(limit);
  }

  kill(): void {
    this.ended = true;
    this.killed = true;
    this.child.kill('SIGKILL');
  }

  private deliver(data: Buffer): void {
    const bytes = this.carry.length ? Buffer.concat([this.carry, data]) : data;
    const whole = bytes.length - (bytes.length % 4);
    this.carry = bytes.subarray(whole);
    if (whole > 0) this.onSamples(new Float32Array(Uint8Array.prototype.slice.call(bytes, 0, whole).buffer));
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    this.child.kill('SIGKILL');
    this.onError(message);
  }
}
