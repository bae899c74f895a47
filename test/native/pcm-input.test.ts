import t from 'tap';
import { Resampler } from '../../native/audio/resampler.ts';
import { PcmInput, pcmToMono } from '../../native/audio/pcm-input.ts';

const tone = (hz: number, rate: number, seconds: number, amplitude = 0.5) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) => amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
const crossings = (x: Float32Array) => x.reduce((n, v, i) => n + (i > 0 && x[i - 1]! < 0 && v >= 0 ? 1 : 0), 0);
/** the steady middle of a signal, past the filter's start-up */
const middle = (x: Float32Array) => x.subarray(Math.floor(x.length * 0.1), Math.floor(x.length * 0.9));

for (const rate of [8000, 22050, 44100, 48000]) {
  t.test(`${rate} Hz to 16 kHz keeps a 1 kHz tone, its pitch and its level`, async (t) => {
    const out = new Resampler(rate).push(tone(1000, rate, 1));
    t.ok(Math.abs(out.length - 16_000) <= 40, `${out.length} samples for 1 s`);
    const mid = middle(out);
    t.ok(Math.abs(crossings(mid) / (mid.length / 16_000) - 1000) < 5, 'still 1 kHz');
    t.ok(Math.abs(rms(mid) - 0.5 / Math.SQRT2) < 0.01, `level kept (rms ${rms(mid).toFixed(4)})`);
  });
}

t.test('no aliasing: a 10 kHz tone at 48 kHz does not fold into the 16 kHz output', async (t) => {
  const out = middle(new Resampler(48_000).push(tone(10_000, 48_000, 1)));
  t.ok(rms(out) < 0.005, `rms ${rms(out).toFixed(5)}`);
});

t.test('streaming in odd pieces gives the same samples as one piece', async (t) => {
  const input = tone(440, 44_100, 0.5);
  const whole = new Resampler(44_100).push(input);
  const r = new Resampler(44_100);
  const parts: Float32Array[] = [];
  for (let at = 0; at < input.length; ) {
    const n = 1 + ((at * 7) % 997);
    parts.push(r.push(input.subarray(at, at + n)));
    at += n;
  }
  const joined = Float32Array.from(parts.flatMap((p) => [...p]));
  t.equal(joined.length, whole.length);
  t.ok(joined.every((v, i) => Math.abs(v - whole[i]!) < 1e-5));
});

t.test('raw PCM: s16le and f32le, channels averaged, frames split anywhere', async (t) => {
  const stereo = new Int16Array([16384, -16384, 8192, 8192, -32768, 0]);
  t.same([...pcmToMono(new Uint8Array(stereo.buffer), 's16le', 2)], [0, 0.25, -0.5]);
  const f32 = new Float32Array([0.5, 0.25]);
  t.same([...pcmToMono(new Uint8Array(f32.buffer), 'f32le', 1)], [0.5, 0.25]);
  const input = new PcmInput('s16le', 16_000, 1);
  const bytes = new Uint8Array(new Int16Array([1000, 2000, 3000]).buffer);
  const a = input.push(bytes.subarray(0, 3));
  const b = input.push(bytes.subarray(3));
  t.equal(a.length + b.length, 3, 'an odd byte waits for its other half');
});

for (const [format, encoding] of [['mulaw', 'u-law'], ['alaw', 'a-law']] as const) {
  t.test(`G.711 ${format} (sox's own encoder) decodes to the tone it was`, async (t) => {
    const { execFileSync } = await import('node:child_process');
    const bytes = new Uint8Array(execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-e', encoding, '-t', 'raw', '-', 'synth', '1', 'sine', '1000', 'vol', '0.5']));
    t.equal(bytes.length, 8000, 'one byte per sample');
    const decoded = pcmToMono(bytes, format, 1);
    t.ok(Math.abs(crossings(decoded) - 1000) < 5, 'still 1 kHz');
    t.ok(Math.abs(rms(decoded) - 0.5 / Math.SQRT2) < 0.01, `level kept (rms ${rms(decoded).toFixed(4)})`);
    // and sample for sample what sox's own decoder makes of the same bytes
    const reference = execFileSync('sox', ['-t', 'raw', '-r', '8000', '-c', '1', '-e', encoding, '-', '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-'], { input: bytes });
    const expected = new Int16Array(reference.buffer, reference.byteOffset, reference.length / 2);
    const worst = decoded.reduce((m, v, i) => Math.max(m, Math.abs(v * 32768 - expected[i]!)), 0);
    t.ok(worst <= 1, `equal to sox's decoding (worst ${worst} of 32768)`);
  });
}
