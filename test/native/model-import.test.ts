// Importing CTranslate2 (faster-whisper) models: the mel filter bank against
// whisper's own (values from openai-whisper's assets/mel_filters.npz), bad
// directories and files refused with a message that names the problem and
// nothing left behind, and — with the real model .ci/run provides
// (WHISPER_TEST_CT2_DIR) — a conversion the engine loads and that
// WHISPER_MODEL=<dir> makes once and then reuses.
import t from 'tap';
import { mkdtemp, mkdir, readdir, rm, writeFile, copyFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { melFilters } from '../../native/models/mel-filters.ts';
import { importCt2 } from '../../native/models/import-ct2.ts';
import { resolveModel } from '../../native/models/resolve.ts';
import { N_FFT_BINS } from '../../native/models/ggml-writer.ts';

const dir = await mkdtemp(join(tmpdir(), 'model-import-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

t.test('the mel filter bank is whisper’s (80 and 128 bands)', async (t) => {
  const m80 = melFilters(80);
  const at = (m: Float32Array, row: number, col: number) => m[row * N_FFT_BINS + col]!;
  // [row, column, value] read from mel_filters.npz
  const known: [number, number, number][] = [[0, 1, 0.024862595], [1, 1, 0.0019908219], [1, 2, 0.022871772], [10, 10, 0.019908218], [10, 11, 0.0049543749], [40, 42, 0.0054111048], [40, 43, 0.014735566], [40, 44, 0.0065181898], [79, 186, 0.00036674167]];
  for (const [row, col, value] of known) t.ok(Math.abs(at(m80, row, col) - value) < 1e-7, `mel_80[${row}][${col}] = ${at(m80, row, col)} (${value})`);
  t.ok(Math.abs(m80.reduce((a, b) => a + b, 0) - 1.9990241527557373) < 1e-5, 'the sum matches');
  const m128 = melFilters(128);
  t.ok(Math.abs(at(m128, 0, 1) - 0.012373987) < 1e-7);
  t.ok(Math.abs(at(m128, 127, 191) - 0.00047569509) < 1e-7);
  t.ok(Math.abs(m128.reduce((a, b) => a + b, 0) - 3.190985679626465) < 1e-5);
});

/** A CTranslate2 model.bin with the given spec and variables (name → float32 dims and dtype code), as ModelSpec writes it. */
function ct2File(spec: string, variables: { name: string; dims: number[]; dtype?: number }[]): Buffer {
  const parts: Buffer[] = [];
  const u8 = (v: number) => parts.push(Buffer.from([v]));
  const u16 = (v: number) => parts.push(Buffer.from(new Uint16Array([v]).buffer));
  const u32 = (v: number) => parts.push(Buffer.from(new Uint32Array([v]).buffer));
  const text = (s: string) => (u16(Buffer.byteLength(s) + 1), parts.push(Buffer.from(`${s}\0`)));
  u32(6);
  text(spec);
  u32(3);
  u32(variables.length);
  for (const v of variables) {
    text(v.name);
    u8(v.dims.length);
    v.dims.forEach(u32);
    const dtype = v.dtype ?? 0;
    u8(dtype);
    const bytes = v.dims.reduce((a, b) => a * b, 1) * [4, 1, 2, 4, 2, 2][dtype]!;
    u32(bytes);
    parts.push(Buffer.alloc(bytes));
  }
  u32(0);
  return Buffer.concat(parts);
}

t.test('bad input is refused with a message that names the problem, and leaves nothing behind', async (t) => {
  const out = join(dir, 'out');
  await mkdir(out);
  const model = async (name: string, bytes?: Buffer) => {
    const d = join(dir, name);
    await mkdir(d, { recursive: true });
    if (bytes) await writeFile(join(d, 'model.bin'), bytes);
    return d;
  };
  const cases: [string, string, RegExp][] = [
    ['a missing directory', join(dir, 'nowhere'), /is not a directory/],
    ['a directory without model.bin', await model('empty'), /no model\.bin/],
    ['not a CTranslate2 file', await model('garbage', Buffer.from('GGUF this is something else entirely')), /not a CTranslate2 model/],
    ['another kind of model', await model('t5', ct2File('TransformerSpec', [{ name: 'encoder/x', dims: [2] }])), /not a Whisper model/],
    ['a truncated file', await model('cut', ct2File('WhisperSpec', [{ name: 'decoder/embeddings/weight', dims: [1000, 64] }]).subarray(0, 4000)), /truncated/],
    ['an int8 model', await model('int8', ct2File('WhisperSpec', [
      { name: 'decoder/embeddings/weight', dims: [51864, 4], dtype: 1 }, { name: 'encoder/position_encodings/encodings', dims: [1500, 4] },
      { name: 'decoder/position_encodings/encodings', dims: [448, 4] }, { name: 'encoder/conv1/weight', dims: [4, 80, 3] },
    ])), /int8-quantized/],
  ];
  for (const [what, source, message] of cases) t.throws(() => importCt2(source, join(out, 'model.bin')), { message }, what);
  t.same(await readdir(out), [], 'no half-written model anywhere');
});

const real = process.env.WHISPER_TEST_CT2_DIR;
t.test('the real tiny.en: converted once into the cache by WHISPER_MODEL=<dir>, then reused', { skip: real ? false : 'set WHISPER_TEST_CT2_DIR (.ci/run does)' }, async (t) => {
  const source = join(dir, 'faster-whisper-tiny.en');
  await mkdir(source);
  for (const f of ['model.bin', 'config.json', 'tokenizer.json']) await copyFile(join(real!, f), join(source, f));
  const cache = join(dir, 'cache');
  const logs: string[] = [];
  const first = await resolveModel(source, cache, (_level, message) => void logs.push(message));
  t.match(first, { name: source, synthetic: false, path: /ct2-[0-9a-f]{16}\.bin$/ });
  t.ok(logs.some((l) => l.startsWith('imported the CTranslate2 model')), 'converted the first time');
  t.ok((await stat(first.path)).size > 70e6, 'a whole tiny model');
  logs.length = 0;
  const second = await resolveModel(source, cache, (_level, message) => void logs.push(message));
  t.equal(second.path, first.path);
  t.notOk(logs.some((l) => l.startsWith('imported')), 'the second start reuses it');
  // The vocabulary alone may be given as vocabulary.txt instead of tokenizer.json.
  await rm(join(source, 'tokenizer.json'));
  await copyFile(join(real!, 'vocabulary.txt'), join(source, 'vocabulary.txt'));
  const fromList = importCt2(source, join(dir, 'from-vocabulary.bin'));
  t.match(fromList, { tokens: 50256, hparams: { nVocab: 51864, nAudioLayer: 4, nTextLayer: 4, nAudioHead: 6, nMels: 80 } });
  t.ok((await readdir(cache)).every((f) => !f.endsWith('.tmp')), 'no temporary files left');
});
