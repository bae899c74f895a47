import t from 'tap';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeToPcm } from '../../native/audio/decode.ts';
import { findFfmpeg } from '../../native/audio/ffmpeg.ts';
import { BYTES_PER_SAMPLE, SAMPLE_RATE } from '../../native/audio/pcm.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';

const dir = await mkdtemp(join(tmpdir(), 'decode-test-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const ffmpeg = await findFfmpeg();
const withFfmpeg = { maxSamples: 3600 * SAMPLE_RATE, ffmpeg };
const withoutFfmpeg = { maxSamples: 3600 * SAMPLE_RATE, ffmpeg: undefined };

// espeak's sentence is 6.3 s; lossy codecs pad a little
const formats = ['speech.wav', 'speech-stereo-44k.wav', 'speech.mp3', 'speech.flac', 'speech.ogg', 'speech.opus', 'speech.webm', 'speech.m4a', 'speech.mp4'];
/** what the in-process decoder (no ffmpeg) reads */
const inProcess = ['speech.wav', 'speech-stereo-44k.wav', 'speech.mp3', 'speech.flac', 'speech.ogg', 'speech.m4a'];

for (const [decoder, options, names] of [['ffmpeg', withFfmpeg, formats], ['symphonia', withoutFfmpeg, inProcess]] as const) {
  for (const name of names) {
    t.test(`${name} decodes to 16 kHz mono of the right length (${decoder})`, async (t) => {
      const pcm = join(dir, `${name}.${decoder}.pcm`);
      const decoded = await decodeToPcm(join(FIXTURES, name), pcm, options);
      const seconds = decoded.samples / SAMPLE_RATE;
      t.equal(decoded.decoder, decoder);
      t.ok(seconds > 6.2 && seconds < 6.5, `${seconds.toFixed(3)} s via ${decoded.decoder}`);
      t.equal((await stat(pcm)).size, decoded.samples * BYTES_PER_SAMPLE);
      t.equal(decoded.energies.length, Math.ceil(decoded.samples / 320));
      t.ok(Math.max(...decoded.energies) > 0.01, 'there is sound in it');
    });
  }
}

t.test('without ffmpeg, Opus is refused with a message that says to install it', async (t) => {
  await t.rejects(decodeToPcm(join(FIXTURES, 'speech.webm'), join(dir, 'no-ffmpeg.pcm'), withoutFfmpeg), { code: 'unsupported_audio', message: /ffmpeg/ });
});

t.test('a recording over the length limit is refused as audio_too_long, by either decoder', async (t) => {
  const limit = { maxSamples: 5 * SAMPLE_RATE };
  for (const options of [{ ...limit, ffmpeg }, { ...limit, ffmpeg: undefined }]) {
    const pcm = join(dir, 'too-long.pcm');
    await t.rejects(decodeToPcm(join(FIXTURES, 'speech.flac'), pcm, options), { code: 'audio_too_long', message: /longer than/ });
  }
});

t.test('garbage and empty files are unsupported audio', async (t) => {
  await t.rejects(decodeToPcm(join(FIXTURES, 'garbage.bin'), join(dir, 'garbage.pcm'), withFfmpeg), { code: 'unsupported_audio' });
  await t.rejects(decodeToPcm(join(FIXTURES, 'garbage.bin'), join(dir, 'garbage.pcm'), withoutFfmpeg), { code: 'unsupported_audio' });
  const empty = join(dir, 'empty.wav');
  await writeFile(empty, '');
  await t.rejects(decodeToPcm(empty, join(dir, 'empty.pcm'), withFfmpeg), { code: 'unsupported_audio', message: /empty/ });
});

t.test('a decode can be aborted', async (t) => {
  const abort = new AbortController();
  abort.abort();
  await t.rejects(decodeToPcm(join(FIXTURES, 'speech.webm'), join(dir, 'aborted.pcm'), withFfmpeg, abort.signal));
});
