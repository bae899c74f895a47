// The speaker-embedding model for diarization: resemblyzer's GE2E voice
// encoder, converted once from its PyPI package into the model cache by
// `npm run model:import-voice` (scripts/import-voice-encoder.py). Read and
// checked here — its magic, its header, every tensor's name and shape, the
// checksum of the weights — before the engine hands the weights to the addon.
// Any fault is one clear error: diarization is then left out, never a task.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const MAGIC = 'WHVE';
const VERSION = 1;
/** The network the addon runs: a 3-layer LSTM (40 mel bands in, 256 hidden), then a 256 x 256 linear layer. */
const EXPECTED: [string, number[]][] = [
  ...[0, 1, 2].flatMap((l): [string, number[]][] => [
    [`lstm.weight_ih_l${l}`, [1024, l === 0 ? 40 : 256]],
    [`lstm.weight_hh_l${l}`, [1024, 256]],
    [`lstm.bias_ih_l${l}`, [1024]],
    [`lstm.bias_hh_l${l}`, [1024]],
  ]),
  ['linear.weight', [256, 256]],
  ['linear.bias', [256]],
];

const headerSchema = z.object({
  source: z.string().max(500),
  sourceSha256: z.string().regex(/^[0-9a-f]{64}$/),
  dataSha256: z.string().regex(/^[0-9a-f]{64}$/),
  tensors: z.array(z.object({ name: z.string().max(100), shape: z.array(z.number().int().positive()).max(4) })).max(100),
});

export interface VoiceEncoderWeights {
  source: string;
  /** every tensor's values, in the order the addon reads them */
  weights: Float32Array;
}

/** Where the hub looks for the converted model unless HUB_VOICE_MODEL says otherwise. */
export const defaultVoiceModelPath = (dataDir: string) => join(dataDir, 'models', 'voice-encoder.bin');

export class VoiceModelError extends Error {}

/** Reads and checks a converted voice encoder; throws a VoiceModelError saying what is wrong. */
export async function readVoiceEncoder(path: string): Promise<VoiceEncoderWeights> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => {
    throw new VoiceModelError(error.code === 'ENOENT' ? `no speaker model at ${path} (npm run model:import-voice)` : `cannot read the speaker model at ${path}: ${error.message}`);
  });
  const bad = (why: string) => new VoiceModelError(`the speaker model at ${path} is not usable: ${why} (convert it again: npm run model:import-voice)`);
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== MAGIC) throw bad('not a voice-encoder file');
  if (bytes.readUInt32LE(4) !== VERSION) throw bad(`version ${bytes.readUInt32LE(4)}, expected ${VERSION}`);
  const headerLength = bytes.readUInt32LE(8);
  if (12 + headerLength > bytes.length) throw bad('truncated header');
  let header;
  try {
    header = headerSchema.parse(JSON.parse(bytes.toString('utf8', 12, 12 + headerLength)));
  } catch {
    throw bad('its header is malformed');
  }
  const names = header.tensors.map((t) => `${t.name}${JSON.stringify(t.shape)}`);
  const expected = EXPECTED.map(([name, shape]) => `${name}${JSON.stringify(shape)}`);
  if (names.join() !== expected.join()) throw bad(`its tensors are not the GE2E encoder's (${names.join(', ')})`);
  const data = bytes.subarray(12 + headerLength);
  const floats = EXPECTED.reduce((n, [, shape]) => n + shape.reduce((a, b) => a * b, 1), 0);
  if (data.length !== floats * 4) throw bad(`${data.length} bytes of weights, expected ${floats * 4}`);
  if (createHash('sha256').update(data).digest('hex') !== header.dataSha256) throw bad('its weights do not match their checksum');
  const weights = new Float32Array(floats);
  new Uint8Array(weights.buffer).set(data); // (little-endian, as every machine the hub runs on)
  return { source: header.source, weights };
}
