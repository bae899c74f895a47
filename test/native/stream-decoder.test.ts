// The live Opus decoder: end() resolves only after every sample is handed
// over, and undecodable input is reported before it resolves, so a session
// can close knowing its audio is all in (or that it was bad).
import t from 'tap';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { StreamDecoder } from '../../native/audio/stream-decoder.ts';
import { readAudioFile } from '../../client/sdk/audio-file.ts';
import { FIXTURES } from '../fixtures/make-fixtures.ts';
import { findFfmpeg } from '../../native/audio/ffmpeg.ts';

const ffmpeg = (await findFfmpeg())!;

for (const format of ['webm', 'ogg'] as const) {
  t.test(`${format}: every sample is out when end() resolves`, async (t) => {
    const opus = await readAudioFile(join(FIXTURES, 'speech.wav'), format);
    let samples = 0;
    const errors: string[] = [];
    const decoder = new StreamDecoder(ffmpeg, format, (s) => (samples += s.length), (m) => errors.push(m));
    for (let at = 0; at < opus.length; at += 4096) decoder.write(opus.subarray(at, at + 4096));
    await decoder.end();
    t.same(errors, []);
    t.ok(Math.abs(samples / 16_000 - 6.3) < 0.1, `${(samples / 16_000).toFixed(2)} s decoded`);
  });
}

t.test('garbage is reported before end() resolves', async (t) => {
  const errors: string[] = [];
  const decoder = new StreamDecoder(ffmpeg, 'webm', () => {}, (m) => errors.push(m));
  decoder.write(await readFile(join(FIXTURES, 'garbage.bin')));
  await decoder.end();
  t.equal(errors.length, 1);
  t.match(errors[0], /could not be decoded as webm/);
});
