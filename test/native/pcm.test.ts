// Reading sample ranges of the spool's pcm files.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readPcmRange, readPcmRanges } from '../../native/audio/pcm.ts';

t.test('ranges are read in order through one open file; a range past the end is cut short', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'pcm-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'a.pcm');
  const samples = Float32Array.from({ length: 1000 }, (_, i) => i);
  await writeFile(path, new Uint8Array(samples.buffer));
  const ranges = Array.from({ length: 3000 }, (_, i) => [i % 900, (i % 900) + 50] as const); // more windows than a process may have files open
  const read = await readPcmRanges(path, [...ranges, [980, 1100], [10, 10]]);
  t.equal(read.length, 3002);
  t.ok(ranges.every(([start], i) => read[i]!.length === 50 && read[i]![0] === start && read[i]![49] === start + 49), 'each range its own samples');
  t.same([...read[3000]!], [...samples.subarray(980)], 'cut at the end of the file');
  t.equal(read[3001]!.length, 0, 'an empty range');
  t.same([...(await readPcmRange(path, 5, 8))], [5, 6, 7]);
});
