// Synthetic whisper models: real whisper.cpp ggml files (the legacy format that
// `whisper_model_load` reads) with seeded random weights, so the engine loads and
// runs them at the real cost of a model of that shape. They exist because no real
// weights can be downloaded on our build machines.
//
// The decoder is rigged rather than random: its blocks' output projections are
// zero, so the residual stream is token embedding + positional embedding, and the
// positional embeddings point (orthogonally) at the token due next. Whatever the
// audio, every 30 s window therefore decodes to the same script, three timestamped
// pangrams, one per 10 s:
//   <|0.00|> The quick brown fox ... <|10.00|><|10.00|> Pack my box ... <|20.00|> ...
// whisper.cpp stops at the first timestamp past the end of the audio, so a short
// chunk yields only the first sentence(s). The text is deterministic (tests can
// assert stitching and order), confident (no temperature fallback, so the cost is
// a single decoding pass, as with a real model on clean speech), and obviously fake.
//
// Synchronous on purpose: call it from a worker or a CLI, never the hub's loop.
import { randomUUID } from 'node:crypto';
import { closeSync, openSync, renameSync } from 'node:fs';
import { GgmlWriter, TYPE_F16, TYPE_F32, toFloat16Bytes } from './ggml-writer.ts';
import { melFilters } from './mel-filters.ts';

export interface SyntheticShape {
  nState: number;
  nHead: number;
  nAudioLayer: number;
  nTextLayer: number;
  /** store the big matrices as f16 (as real models do) rather than f32 */
  f16: boolean;
}

export const SYNTHETIC_SHAPES = {
  /** 8 MB, loads in ~50 ms: for unit tests */
  micro: { nState: 64, nHead: 2, nAudioLayer: 1, nTextLayer: 1, f16: true },
  /** the shape of whisper `tiny` (39 M parameters, 78 MB): realistic timing */
  tiny: { nState: 384, nHead: 6, nAudioLayer: 4, nTextLayer: 4, f16: true },
} as const satisfies Record<string, SyntheticShape>;

export type SyntheticName = keyof typeof SYNTHETIC_SHAPES;

export function isSyntheticName(name: string): name is SyntheticName {
  return Object.hasOwn(SYNTHETIC_SHAPES, name);
}

const N_VOCAB = 51865; // multilingual: language options behave as with real models
const N_TEXT_TOKENS = 50257; // whisper.cpp names the special tokens after these itself
const N_AUDIO_CTX = 1500;
const N_TEXT_CTX = 448;
const N_MELS = 80;

/** Writes the model to `path` (atomically, through a temporary file). */
export function writeSyntheticModel(path: string, shape: SyntheticShape, seed = 1): void {
  const tmp = `${path}.${randomUUID()}.tmp`;
  const fd = openSync(tmp, 'w');
  const out = new GgmlWriter(fd);
  try {
    const tokens = syntheticTokens();
    const random = xorshift(seed);
    writeHeader(out, shape);
    writeMelFilters(out);
    writeVocabulary(out, tokens);
    for (const tensor of tensorList(shape, tokens, random)) writeTensor(out, tensor, random);
    out.flush();
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function writeHeader(out: GgmlWriter, s: SyntheticShape): void {
  out.header({
    nVocab: N_VOCAB, nAudioCtx: N_AUDIO_CTX, nAudioState: s.nState, nAudioHead: s.nHead, nAudioLayer: s.nAudioLayer,
    nTextCtx: N_TEXT_CTX, nTextState: s.nState, nTextHead: s.nHead, nTextLayer: s.nTextLayer, nMels: N_MELS, ftype: s.f16 ? 1 : 0,
  });
}

/** Whisper's own mel filter bank, so the log-mel input looks like speech features. */
function writeMelFilters(out: GgmlWriter): void {
  out.melFilters(N_MELS, melFilters(N_MELS));
}

/** What every 30 s window decodes to; one sentence per 10 s. */
export const SYNTHETIC_SENTENCES = [
  ' The quick brown fox jumps over the lazy dog.',
  ' Pack my box with five dozen liquor jugs.',
  ' How vexingly quick daft zebras jump!',
] as const;

const wordPieces = (sentence: string) => sentence.match(/ ?[A-Za-z]+|[.,!]/g) ?? [];

/**
 * The vocabulary: the script's word pieces, printable single characters
 * (including " ", which the decoder's blank suppression looks up by name), then
 * made-up " "-prefixed syllables. whisper.cpp names the special tokens itself.
 */
export function syntheticTokens(): string[] {
  const tokens: string[] = [];
  const seen = new Set<string>();
  const add = (t: string) => {
    if (!seen.has(t) && tokens.length < N_TEXT_TOKENS - 1) {
      seen.add(t);
      tokens.push(t);
    }
  };
  for (const sentence of SYNTHETIC_SENTENCES) wordPieces(sentence).forEach(add);
  for (let c = 32; c < 127; c++) add(String.fromCharCode(c));
  const onsets = ['', 'b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z', 'br', 'ch', 'cl', 'dr', 'fl', 'gr', 'pl', 'sh', 'st', 'th', 'tr'];
  const vowels = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'oo'];
  const codas = ['', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'st', 'ck'];
  const syllables = onsets.flatMap((o) => vowels.flatMap((v) => codas.map((c) => o + v + c)));
  for (const a of syllables) add(` ${a}`);
  for (const a of syllables) add(a);
  for (let i = 0; tokens.length < N_TEXT_TOKENS - 1; i++) {
    add(` ${syllables[i % syllables.length]}${syllables[Math.floor(i / syllables.length) % syllables.length]}`);
  }
  tokens.push('<|endoftext|>');
  return tokens;
}

function writeVocabulary(out: GgmlWriter, tokens: string[]): void {
  const enc = new TextEncoder();
  out.vocabulary(tokens.map((t) => enc.encode(t)));
}

const TOKEN_BEG = 50364; // first timestamp token of a multilingual vocabulary (<|0.00|>)
const PROMPT_LENGTH = 3; // <|startoftranscript|> <|lang|> <|transcribe|>
const timestamp = (seconds: number) => TOKEN_BEG + Math.round(seconds / 0.02);

/** The token ids the decoder must emit, in order. */
function scriptTokenIds(tokens: string[]): number[] {
  const id = new Map(tokens.map((t, i) => [t, i]));
  const script: number[] = [];
  SYNTHETIC_SENTENCES.forEach((sentence, i) => {
    script.push(timestamp(i * 10));
    for (const piece of wordPieces(sentence)) script.push(id.get(piece)!);
    script.push(timestamp((i + 1) * 10));
  });
  return script;
}

/**
 * Rows overriding the random ones in the decoder's token and positional
 * embeddings: one orthonormal, zero-mean direction per distinct script token;
 * the token's embedding is that direction (scaled so its logit wins by far), and
 * the position that predicts it carries the same direction, much larger, so it
 * dominates the residual stream.
 */
function rigDecoder(nState: number, script: number[], random: () => number) {
  const distinct = [...new Set(script)];
  if (distinct.length >= nState) throw new Error('synthetic script needs more dimensions than the model has');
  const directions = new Map<number, Float32Array>();
  const basis: Float32Array[] = [];
  for (const token of distinct) {
    const v = Float32Array.from({ length: nState }, () => random() * 2 - 1);
    const mean = v.reduce((a, b) => a + b, 0) / nState;
    for (let i = 0; i < nState; i++) v[i]! -= mean;
    for (const b of basis) {
      let dot = 0;
      for (let i = 0; i < nState; i++) dot += v[i]! * b[i]!;
      for (let i = 0; i < nState; i++) v[i]! -= dot * b[i]!;
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < nState; i++) v[i]! /= norm;
    basis.push(v);
    directions.set(token, v);
  }
  const scaled = (v: Float32Array, k: number) => v.map((x) => x * k);
  const logitMargin = 40; // logit of the scripted token: e^-40 leaves nothing for the other 51,864
  const tokenRows = new Map([...directions].map(([t, v]) => [t, scaled(v, logitMargin / Math.sqrt(nState))]));
  const positionRows = new Map(script.map((t, i) => [PROMPT_LENGTH - 1 + i, scaled(directions.get(t)!, 200)]));
  return { tokenRows, positionRows };
}

interface TensorSpec {
  name: string;
  /** ggml order: ne[0] is the fastest-varying dimension (one row) */
  ne: number[];
  type: typeof TYPE_F32 | typeof TYPE_F16;
  init: 'ones' | 'zeros' | { scale: number; rows?: Map<number, Float32Array> };
}

function tensorList(s: SyntheticShape, tokens: string[], random: () => number): TensorSpec[] {
  const n = s.nState;
  const big = s.f16 ? TYPE_F16 : TYPE_F32;
  const matrix = (name: string, nIn: number, nOut: number): TensorSpec => ({ name, ne: [nIn, nOut], type: big, init: { scale: Math.sqrt(3 / nIn) } });
  const vector = (name: string, len: number, init: TensorSpec['init'] = 'zeros'): TensorSpec => ({ name, ne: [len], type: TYPE_F32, init });
  const norm = (prefix: string) => [vector(`${prefix}.weight`, n, 'ones'), vector(`${prefix}.bias`, n)];
  // In the decoder, `silent` blocks compute at full cost but add nothing to the residual.
  const attention = (prefix: string, silent = false) => [
    ...norm(`${prefix}_ln`),
    matrix(`${prefix}.query.weight`, n, n), vector(`${prefix}.query.bias`, n),
    matrix(`${prefix}.key.weight`, n, n),
    matrix(`${prefix}.value.weight`, n, n), vector(`${prefix}.value.bias`, n),
    silent ? { ...matrix(`${prefix}.out.weight`, n, n), init: 'zeros' as const } : matrix(`${prefix}.out.weight`, n, n),
    vector(`${prefix}.out.bias`, n),
  ];
  const mlp = (prefix: string, silent = false) => [
    ...norm(`${prefix}.mlp_ln`),
    matrix(`${prefix}.mlp.0.weight`, n, 4 * n), vector(`${prefix}.mlp.0.bias`, 4 * n),
    silent ? { ...matrix(`${prefix}.mlp.2.weight`, 4 * n, n), init: 'zeros' as const } : matrix(`${prefix}.mlp.2.weight`, 4 * n, n),
    vector(`${prefix}.mlp.2.bias`, n),
  ];
  const list: TensorSpec[] = [
    { name: 'encoder.positional_embedding', ne: [n, N_AUDIO_CTX], type: TYPE_F32, init: { scale: 0.1 } },
    { name: 'encoder.conv1.weight', ne: [3, N_MELS, n], type: big, init: { scale: Math.sqrt(1 / (3 * N_MELS)) } },
    { name: 'encoder.conv1.bias', ne: [1, n], type: TYPE_F32, init: 'zeros' },
    { name: 'encoder.conv2.weight', ne: [3, n, n], type: big, init: { scale: Math.sqrt(1 / (3 * n)) } },
    { name: 'encoder.conv2.bias', ne: [1, n], type: TYPE_F32, init: 'zeros' },
    ...norm('encoder.ln_post'),
  ];
  for (let i = 0; i < s.nAudioLayer; i++) list.push(...attention(`encoder.blocks.${i}.attn`), ...mlp(`encoder.blocks.${i}`));
  const { tokenRows, positionRows } = rigDecoder(n, scriptTokenIds(tokens), random);
  list.push(
    { name: 'decoder.positional_embedding', ne: [n, N_TEXT_CTX], type: TYPE_F32, init: { scale: 0.01, rows: positionRows } },
    { name: 'decoder.token_embedding.weight', ne: [n, N_VOCAB], type: big, init: { scale: 0.01, rows: tokenRows } },
    ...norm('decoder.ln'),
  );
  for (let i = 0; i < s.nTextLayer; i++) {
    const block = `decoder.blocks.${i}`;
    list.push(...attention(`${block}.attn`, true), ...attention(`${block}.cross_attn`, true), ...mlp(block, true));
  }
  return list;
}

function writeTensor(out: GgmlWriter, t: TensorSpec, random: () => number): void {
  out.tensorHeader(t.name, t.ne, t.type);
  const rowLength = t.ne[0]!;
  const rowCount = t.ne.slice(1).reduce((a, b) => a * b, 1);
  const rowsPerBlock = Math.max(1, Math.floor((1 << 16) / rowLength));
  const values = new Float32Array(rowsPerBlock * rowLength);
  for (let row0 = 0; row0 < rowCount; row0 += rowsPerBlock) {
    const rows = Math.min(rowsPerBlock, rowCount - row0);
    for (let r = 0; r < rows; r++) {
      const at = r * rowLength;
      const fixed = typeof t.init === 'object' ? t.init.rows?.get(row0 + r) : undefined;
      if (fixed) values.set(fixed, at);
      else if (t.init === 'ones' || t.init === 'zeros') values.fill(t.init === 'ones' ? 1 : 0, at, at + rowLength);
      else for (let i = 0; i < rowLength; i++) values[at + i] = (random() * 2 - 1) * t.init.scale;
    }
    const part = values.subarray(0, rows * rowLength);
    out.bytes(t.type === TYPE_F16 ? toFloat16Bytes(part) : new Uint8Array(part.buffer, 0, part.length * 4));
  }
}

/** Small, fast, seeded PRNG: the same seed always gives the same model. */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}
