// Converts a CTranslate2 / faster-whisper Whisper model directory (model.bin,
// tokenizer.json or vocabulary.txt) into whisper.cpp's ggml file. CTranslate2's
// variables (python/ctranslate2/specs/whisper_spec.py, transformer_spec.py)
// map onto whisper.cpp's tensor names; its fused attention projections
// (self-attention q|k|v, cross-attention k|v) are split, the key's bias
// dropped (whisper has none). The vocabulary's byte-level BPE pieces are
// decoded back to bytes; the mel filter bank is computed. One tensor in memory
// at a time; the output is written to a temporary file and renamed, so a
// failure never leaves a half-written model behind. Synchronous: run it in a
// worker or from the CLI.
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Ct2FormatError, Ct2Model, type Ct2Variable } from './ctranslate2.ts';
import { GgmlWriter, TYPE_F16, TYPE_F32, fromFloat16, toFloat16Bytes, type GgmlType, type Hparams } from './ggml-writer.ts';
import { melFilters } from './mel-filters.ts';

export class ImportError extends Error {}

export interface ImportResult {
  hparams: Hparams;
  tensors: number;
  /** the ordinary tokens written (special ones follow them in whisper.cpp) */
  tokens: number;
}

/** True when `dir` looks like a CTranslate2 model directory. */
export function isCt2Dir(dir: string): boolean {
  return existsSync(join(dir, 'model.bin')) && statSync(dir).isDirectory();
}

export function importCt2(dir: string, outPath: string): ImportResult {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ImportError(`${dir} is not a directory`);
  if (!existsSync(join(dir, 'model.bin'))) throw new ImportError(`${dir} is not a CTranslate2 model directory: it has no model.bin`);
  let model: Ct2Model;
  try {
    model = Ct2Model.open(join(dir, 'model.bin'));
  } catch (error) {
    throw new ImportError(error instanceof Error ? error.message : String(error));
  }
  const tmp = `${outPath}.${randomUUID()}.tmp`;
  try {
    if (model.spec !== 'WhisperSpec') throw new ImportError(`${dir} holds a CTranslate2 ${model.spec || 'model'}, not a Whisper model (WhisperSpec)`);
    const hparams = hyperparameters(model);
    const tokens = vocabulary(dir, hparams.nVocab);
    const fd = openSync(tmp, 'w');
    let tensors = 0;
    try {
      const out = new GgmlWriter(fd);
      out.header(hparams);
      out.melFilters(hparams.nMels, melFilters(hparams.nMels));
      out.vocabulary(tokens);
      for (const t of tensorPlan(hparams)) {
        writeTensor(out, model, t);
        tensors++;
      }
      out.flush();
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, outPath);
    return { hparams, tensors, tokens: tokens.length };
  } catch (error) {
    rmSync(tmp, { force: true });
    if (error instanceof Ct2FormatError) throw new ImportError(error.message);
    throw error;
  } finally {
    model.close();
  }
}

function hyperparameters(m: Ct2Model): Hparams {
  const layers = (side: string) => {
    let n = 0;
    while (m.has(`${side}/layer_${n}/ffn/linear_0/weight`)) n++;
    if (n === 0) throw new ImportError(`the model has no ${side} layers: not a Whisper model this hub can import`);
    return n;
  };
  const dims = (name: string, rank: number) => {
    const v = m.variable(name);
    if (v.dims.length !== rank) throw new ImportError(`${name} has ${v.dims.length} dimensions, expected ${rank}`);
    return v.dims;
  };
  const [nVocab, nTextState] = dims('decoder/embeddings/weight', 2) as [number, number];
  const [nAudioCtx, nAudioState] = dims('encoder/position_encodings/encodings', 2) as [number, number];
  const [nTextCtx] = dims('decoder/position_encodings/encodings', 2) as [number];
  const [, nMels] = dims('encoder/conv1/weight', 3) as [number, number];
  if (nMels !== 80 && nMels !== 128) throw new ImportError(`the model takes ${nMels} mel bands; Whisper models take 80 (or 128, large-v3)`);
  for (const v of m.names().map((n) => m.variable(n))) {
    if (v.dtype === 'int8' && v.dims.length === 2) {
      throw new ImportError(`the model is int8-quantized (${v.name}); import a float16 or float32 one (ct2-transformers-converter --quantization float16)`);
    }
  }
  return {
    nVocab, nAudioCtx, nAudioState, nAudioHead: m.scalar('encoder/num_heads'), nAudioLayer: layers('encoder'),
    nTextCtx, nTextState, nTextHead: m.scalar('decoder/num_heads'), nTextLayer: layers('decoder'), nMels, ftype: 1,
  };
}

/** GPT-2's byte ↔ printable-character table, as byte-level BPE vocabularies spell bytes. */
function byteDecoder(): Map<string, number> {
  const printable = [...range(33, 126), ...range(161, 172), ...range(174, 255)];
  const decoder = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const code = printable.includes(b) ? b : 256 + extra++;
    decoder.set(String.fromCodePoint(code), b);
  }
  return decoder;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/**
 * The ordinary tokens, as bytes, in id order: everything before
 * `<|endoftext|>`. whisper.cpp gives the ids after them their special roles
 * itself, so `<|endoftext|>` and `<|startoftranscript|>` must sit where it
 * expects them; checked here.
 */
function vocabulary(dir: string, nVocab: number): Uint8Array[] {
  const byId = new Map<number, string>();
  const tokenizer = join(dir, 'tokenizer.json');
  const listed = ['vocabulary.txt', 'vocabulary.json'].map((f) => join(dir, f)).find((p) => existsSync(p));
  if (existsSync(tokenizer)) {
    let parsed: { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number; content: string }[] };
    try {
      parsed = JSON.parse(readFileSync(tokenizer, 'utf8'));
    } catch (error) {
      throw new ImportError(`${tokenizer} is not valid JSON (${(error as Error).message})`);
    }
    for (const [piece, id] of Object.entries(parsed.model?.vocab ?? {})) byId.set(id, piece);
    for (const t of parsed.added_tokens ?? []) byId.set(t.id, t.content);
  } else if (listed) {
    const text = readFileSync(listed, 'utf8');
    const pieces: unknown = listed.endsWith('.json') ? JSON.parse(text) : text.split('\n').filter((line, i, all) => line !== '' || i < all.length - 1);
    if (!Array.isArray(pieces)) throw new ImportError(`${listed} is not a list of tokens`);
    pieces.forEach((p, i) => byId.set(i, String(p)));
  } else {
    throw new ImportError(`${dir} has no tokenizer.json or vocabulary.txt: the vocabulary is needed`);
  }
  const eot = [...byId].find(([, piece]) => piece === '<|endoftext|>')?.[0];
  if (eot === undefined) throw new ImportError('the vocabulary has no <|endoftext|> token: not a Whisper vocabulary');
  const multilingual = nVocab >= 51865;
  const expectedEot = multilingual ? 50257 : 50256;
  if (eot !== expectedEot || byId.get(eot + 1) !== '<|startoftranscript|>') {
    throw new ImportError(`the vocabulary's special tokens are not where whisper.cpp expects them (<|endoftext|> at ${eot}, expected ${expectedEot}, then <|startoftranscript|>)`);
  }
  const decode = byteDecoder();
  const tokens: Uint8Array[] = [];
  for (let id = 0; id < eot; id++) {
    const piece = byId.get(id);
    if (piece === undefined) throw new ImportError(`the vocabulary has no token ${id}`);
    const bytes = [...piece].map((ch) => decode.get(ch));
    if (bytes.some((b) => b === undefined)) throw new ImportError(`token ${id} (${JSON.stringify(piece)}) is not byte-level BPE`);
    tokens.push(Uint8Array.from(bytes as number[]));
  }
  return tokens;
}

interface TensorPlan {
  name: string;
  source: string;
  /** rows [from, to) of the source's first dimension, for fused projections */
  rows?: [number, number];
  /** ggml order: ne[0] varies fastest */
  ne: number[];
  type: GgmlType;
}

function tensorPlan(h: Hparams): TensorPlan[] {
  const plan: TensorPlan[] = [];
  const matrix = (name: string, source: string, nIn: number, nOut: number, rows?: [number, number]) =>
    plan.push({ name, source, ne: [nIn, nOut], type: TYPE_F16, ...(rows ? { rows } : {}) });
  const vector = (name: string, source: string, length: number, rows?: [number, number]) =>
    plan.push({ name, source, ne: [length], type: TYPE_F32, ...(rows ? { rows } : {}) });
  const norm = (name: string, source: string, n: number) => (vector(`${name}.weight`, `${source}/gamma`, n), vector(`${name}.bias`, `${source}/beta`, n));
  const linear = (name: string, source: string, nIn: number, nOut: number, bias = true, rows?: [number, number]) => {
    matrix(`${name}.weight`, `${source}/weight`, nIn, nOut, rows);
    if (bias) vector(`${name}.bias`, `${source}/bias`, nOut, rows);
  };
  /** q|k|v fused in one projection (self-attention), or k|v (cross-attention) */
  const attention = (name: string, n: number, fused: string, query?: string) => {
    if (query) linear(`${name}.query`, query, n, n);
    const parts = query ? ['key', 'value'] : ['query', 'key', 'value'];
    parts.forEach((part, i) => linear(`${name}.${part}`, fused, n, n, part !== 'key', [i * n, (i + 1) * n]));
  };
  const ffn = (name: string, source: string, n: number) => {
    norm(`${name}.mlp_ln`, `${source}/layer_norm`, n);
    linear(`${name}.mlp.0`, `${source}/linear_0`, n, 4 * n);
    linear(`${name}.mlp.2`, `${source}/linear_1`, 4 * n, n);
  };

  const a = h.nAudioState;
  plan.push({ name: 'encoder.positional_embedding', source: 'encoder/position_encodings/encodings', ne: [a, h.nAudioCtx], type: TYPE_F32 });
  plan.push({ name: 'encoder.conv1.weight', source: 'encoder/conv1/weight', ne: [3, h.nMels, a], type: TYPE_F16 });
  plan.push({ name: 'encoder.conv1.bias', source: 'encoder/conv1/bias', ne: [1, a], type: TYPE_F32 });
  plan.push({ name: 'encoder.conv2.weight', source: 'encoder/conv2/weight', ne: [3, a, a], type: TYPE_F16 });
  plan.push({ name: 'encoder.conv2.bias', source: 'encoder/conv2/bias', ne: [1, a], type: TYPE_F32 });
  norm('encoder.ln_post', 'encoder/layer_norm', a);
  for (let i = 0; i < h.nAudioLayer; i++) {
    const [name, source] = [`encoder.blocks.${i}`, `encoder/layer_${i}`];
    norm(`${name}.attn_ln`, `${source}/self_attention/layer_norm`, a);
    attention(`${name}.attn`, a, `${source}/self_attention/linear_0`);
    linear(`${name}.attn.out`, `${source}/self_attention/linear_1`, a, a);
    ffn(name, `${source}/ffn`, a);
  }

  const t = h.nTextState;
  plan.push({ name: 'decoder.positional_embedding', source: 'decoder/position_encodings/encodings', ne: [t, h.nTextCtx], type: TYPE_F32 });
  plan.push({ name: 'decoder.token_embedding.weight', source: 'decoder/embeddings/weight', ne: [t, h.nVocab], type: TYPE_F16 });
  norm('decoder.ln', 'decoder/layer_norm', t);
  for (let i = 0; i < h.nTextLayer; i++) {
    const [name, source] = [`decoder.blocks.${i}`, `decoder/layer_${i}`];
    norm(`${name}.attn_ln`, `${source}/self_attention/layer_norm`, t);
    attention(`${name}.attn`, t, `${source}/self_attention/linear_0`);
    linear(`${name}.attn.out`, `${source}/self_attention/linear_1`, t, t);
    norm(`${name}.cross_attn_ln`, `${source}/attention/layer_norm`, t);
    attention(`${name}.cross_attn`, t, `${source}/attention/linear_1`, `${source}/attention/linear_0`);
    linear(`${name}.cross_attn.out`, `${source}/attention/linear_2`, t, t);
    ffn(name, `${source}/ffn`, t);
  }
  return plan;
}

function writeTensor(out: GgmlWriter, model: Ct2Model, t: TensorPlan): void {
  const source = model.variable(t.source);
  const elements = t.ne.reduce((x, y) => x * y, 1);
  const sourceElements = source.dims.reduce((x, y) => x * y, 1);
  const [from, to] = t.rows ?? [0, source.dims[0] ?? 1];
  const rowElements = sourceElements / (source.dims[0] ?? 1);
  if ((to - from) * rowElements !== elements) {
    throw new ImportError(`${t.source} is ${source.dims.join('x')}; ${t.name} needs ${t.ne.slice().reverse().join('x')}`);
  }
  const values = toFloat32(model, source).subarray(from * rowElements, to * rowElements);
  out.tensorHeader(t.name, t.ne, t.type);
  out.bytes(t.type === TYPE_F16 ? toFloat16Bytes(values) : new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

function toFloat32(model: Ct2Model, v: Ct2Variable): Float32Array {
  const raw = model.read(v.name);
  const aligned = new Uint8Array(raw).buffer; // a copy at offset 0, aligned for typed views
  if (v.dtype === 'float32') return new Float32Array(aligned);
  if (v.dtype === 'float16') return fromFloat16(new Uint16Array(aligned));
  if (v.dtype === 'bfloat16') {
    const half = new Uint16Array(aligned);
    const out = new Uint32Array(half.length);
    for (let i = 0; i < half.length; i++) out[i] = half[i]! << 16;
    return new Float32Array(out.buffer);
  }
  throw new ImportError(`${v.name} is ${v.dtype}: only float32, float16 and bfloat16 weights can be imported`);
}
