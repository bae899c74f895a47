// Spectral clustering with an estimated speaker count, measured against the
// agglomerative clustering the hub uses (bench:diarize; docs/decisions.md):
// the cosine affinity of the windows, each row pruned to its strongest
// neighbours and made symmetric, the normalised Laplacian's leading
// eigenvectors (subspace iteration), the count where the eigenvalues drop
// most, then k-means on the rows of those eigenvectors.
import { dot } from './vectors.ts';

const MAX_SPEAKERS = 10;
/** Each window keeps its strongest affinities to this share of the others (the rest are noise). */
const KEEP = 0.2;

/** `embeddings`: n rows of `dim` unit-length values. Labels 0.. (not yet in order of appearance). */
export function spectralSpeakers(embeddings: Float32Array, dim: number, speakers?: number): number[] {
  const n = embeddings.length / dim;
  if (n <= 2) return new Array<number>(n).fill(0);
  const affinity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += embeddings[i * dim + k]! * embeddings[j * dim + k]!;
      affinity[i * n + j] = Math.max(0, s);
    }
  }
  // Prune each row to its strongest neighbours, then symmetrise.
  const keep = Math.max(2, Math.ceil(n * KEEP));
  for (let i = 0; i < n; i++) {
    const row = Array.from(affinity.subarray(i * n, (i + 1) * n)).sort((a, b) => b - a);
    const floor = row[keep - 1]!;
    for (let j = 0; j < n; j++) if (affinity[i * n + j]! < floor) affinity[i * n + j] = 0;
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) affinity[i * n + j] = affinity[j * n + i] = (affinity[i * n + j]! + affinity[j * n + i]!) / 2;
  // Normalised affinity D^-1/2 A D^-1/2 (its top eigenvectors are the Laplacian's bottom ones).
  const degree = Array.from({ length: n }, (_, i) => Math.sqrt(affinity.subarray(i * n, (i + 1) * n).reduce((a, b) => a + b, 0)) || 1);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) affinity[i * n + j]! /= degree[i]! * degree[j]!;
  const m = Math.min(MAX_SPEAKERS + 1, n);
  const { values, vectors } = topEigen(affinity, n, m);
  let k = speakers ?? 1;
  if (speakers === undefined) {
    let gap = -Infinity;
    for (let i = 0; i < m - 1; i++) if (values[i]! - values[i + 1]! > gap) [gap, k] = [values[i]! - values[i + 1]!, i + 1];
  }
  // Rows of the k leading eigenvectors, normalised, clustered by k-means.
  const rows = Array.from({ length: n }, (_, i) => {
    const r = Array.from({ length: k }, (_, c) => vectors[c]![i]!);
    const norm = Math.hypot(...r) || 1;
    return r.map((x) => x / norm);
  });
  return kMeans(rows, k);
}

/** The m largest eigenvalues and their eigenvectors of a symmetric n x n matrix, by subspace iteration. */
function topEigen(a: Float64Array, n: number, m: number): { values: number[]; vectors: Float64Array[] } {
  let q: Float64Array<ArrayBuffer>[] = Array.from({ length: m }, (_, c) => Float64Array.from({ length: n }, (_, i) => Math.sin((i + 1) * (c + 1) * 12.9898) + (i === c ? 1 : 0)));
  orthonormalise(q);
  for (let iteration = 0; iteration < 200; iteration++) {
    q = q.map((v) => multiply(a, v, n));
    orthonormalise(q);
  }
  const values = q.map((v) => dot(v, multiply(a, v, n)));
  const order = values.map((_, i) => i).sort((x, y) => values[y]! - values[x]!);
  return { values: order.map((i) => values[i]!), vectors: order.map((i) => q[i]!) };
}

function multiply(a: Float64Array, v: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += a[i * n + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

function orthonormalise(vectors: Float64Array[]): void {
  vectors.forEach((v, c) => {
    for (let p = 0; p < c; p++) {
      const d = dot(v, vectors[p]!);
      for (let i = 0; i < v.length; i++) v[i]! -= d * vectors[p]![i]!;
    }
    const norm = Math.sqrt(dot(v, v)) || 1;
    for (let i = 0; i < v.length; i++) v[i]! /= norm;
  });
}

/** k-means, seeded with the farthest-first points (deterministic). */
function kMeans(rows: number[][], k: number): number[] {
  const centres = [rows[0]!];
  while (centres.length < k) {
    let far = 0;
    let farthest = -Infinity;
    rows.forEach((r, i) => {
      const near = Math.min(...centres.map((c) => distance(r, c)));
      if (near > farthest) [farthest, far] = [near, i];
    });
    centres.push(rows[far]!);
  }
  let labels = rows.map(() => 0);
  for (let iteration = 0; iteration < 50; iteration++) {
    const next = rows.map((r) => centres.map((c) => distance(r, c)).reduce((best, d, i, all) => (d < all[best]! ? i : best), 0));
    if (next.every((l, i) => l === labels[i]) && iteration > 0) break;
    labels = next;
    for (let c = 0; c < k; c++) {
      const members = rows.filter((_, i) => labels[i] === c);
      if (members.length) centres[c] = members[0]!.map((_, d) => members.reduce((s, r) => s + r[d]!, 0) / members.length);
    }
  }
  return labels;
}

const distance = (a: number[], b: number[]) => a.reduce((s, x, i) => s + (x - b[i]!) ** 2, 0);
