// Speakers from speaker embeddings: agglomerative clustering with average
// linkage on cosine distance, merging the closest pair of clusters until the
// closest is further apart than a threshold, or until `speakers` clusters are
// left when the caller knows the count. The nearest-neighbour chain makes it
// O(n²) in time and memory (n regions); it runs in the engine process, never
// on the hub's loop. Labels are numbered in order of first appearance.
import { dot } from './vectors.ts';

/** Cosine distance above which two clusters are different speakers (measured: docs/decisions.md). */
export const SPEAKER_DISTANCE = 0.35;
/** A cluster with less speech than this is not a speaker of its own but the noise of one: it joins its nearest cluster (measured: docs/decisions.md). */
export const MIN_SPEAKER_SEC = 2.5;
/** Beyond this many regions the clustering would need too much memory: a spread-out sample is clustered and the rest join their nearest cluster. */
const MAX_CLUSTERED = 3000;

/** `embeddings`: n rows of `dim` unit-length values. Returns a label per row: 0, 1, … in order of first appearance. */
export function clusterSpeakers(embeddings: Float32Array, dim: number, options: { speakers?: number; threshold?: number; seconds?: number[] } = {}): number[] {
  const n = embeddings.length / dim;
  if (n === 0) return [];
  const stride = Math.max(1, Math.ceil(n / MAX_CLUSTERED));
  const sampled = Array.from({ length: Math.ceil(n / stride) }, (_, i) => i * stride);
  const rows = sampled.map((row) => embeddings.subarray(row * dim, (row + 1) * dim));
  const clustered = agglomerate(rows, options);
  const sampleLabels = options.speakers === undefined ? absorbSmall(rows, clustered, dim, sampled.map((row) => options.seconds?.[row] ?? 1)) : clustered;
  if (stride === 1) return inOrderOfAppearance(sampleLabels);
  // The rest: the cluster whose mean is nearest.
  const centroids = means(sampled.map((row) => embeddings.subarray(row * dim, (row + 1) * dim)), sampleLabels, dim);
  const labels = Array.from({ length: n }, (_, row) => nearest(centroids, embeddings.subarray(row * dim, (row + 1) * dim)));
  return inOrderOfAppearance(labels);
}

/**
 * The whole dendrogram by the nearest-neighbour chain, then cut: the merges
 * sorted by height (average linkage has no inversions, so a merge never
 * comes before those that formed its two clusters), applied up to the
 * threshold, or until `speakers` clusters are left.
 */
function agglomerate(rows: Float32Array[], { speakers, threshold = SPEAKER_DISTANCE }: { speakers?: number; threshold?: number }): number[] {
  const n = rows.length;
  const distance = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) distance[i * n + j] = distance[j * n + i] = 1 - dot(rows[i]!, rows[j]!);
  const size = new Array<number>(n).fill(1);
  const active = new Set(Array.from({ length: n }, (_, i) => i));
  const merges: { a: number; b: number; height: number }[] = [];
  const chain: number[] = [];
  while (active.size > 1) {
    if (chain.length === 0) chain.push(active.values().next().value!);
    const a = chain[chain.length - 1]!;
    const previous = chain.length > 1 ? chain[chain.length - 2]! : -1;
    let b = previous;
    let best = previous >= 0 ? distance[a * n + previous]! : Infinity;
    for (const c of active) if (c !== a && distance[a * n + c]! < best) [best, b] = [distance[a * n + c]!, c];
    if (b !== previous) {
      chain.push(b);
      continue;
    }
    // a and b are each other's nearest: merge b into a (Lance–Williams update for average linkage).
    chain.splice(-2);
    merges.push({ a, b, height: best });
    for (const c of active) {
      if (c === a || c === b) continue;
      const merged = (size[a]! * distance[a * n + c]! + size[b]! * distance[b * n + c]!) / (size[a]! + size[b]!);
      distance[a * n + c] = distance[c * n + a] = merged;
    }
    size[a]! += size[b]!;
    active.delete(b);
  }
  merges.sort((x, y) => x.height - y.height);
  const parent = Array.from({ length: n }, (_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const wanted = speakers === undefined ? merges.filter((m) => m.height <= threshold).length : Math.max(0, n - Math.max(1, speakers));
  for (const { a, b } of merges.slice(0, wanted)) parent[root(b)] = root(a);
  return Array.from({ length: n }, (_, i) => root(i));
}

/** Clusters with too little speech to be a speaker join the nearest of the others (by their means); with no large one, nothing changes. */
function absorbSmall(rows: Float32Array[], labels: number[], dim: number, seconds: number[]): number[] {
  const counts = new Map<number, number>();
  labels.forEach((l, i) => counts.set(l, (counts.get(l) ?? 0) + seconds[i]!));
  const large = [...counts].filter(([, sec]) => sec >= MIN_SPEAKER_SEC).map(([l]) => l);
  if (large.length === 0 || large.length === counts.size) return labels;
  const centroids = means(rows, labels, dim);
  const targets = new Map([...centroids].filter(([l]) => large.includes(l)));
  return labels.map((l) => (large.includes(l) ? l : nearest(targets, centroids.get(l)!)));
}

function means(rows: Float32Array[], labels: number[], dim: number): Map<number, Float32Array> {
  const sums = new Map<number, Float32Array>();
  rows.forEach((row, i) => {
    const sum = sums.get(labels[i]!) ?? new Float32Array(dim);
    for (let k = 0; k < dim; k++) sum[k]! += row[k]!;
    sums.set(labels[i]!, sum);
  });
  for (const sum of sums.values()) {
    const norm = Math.sqrt(dot(sum, sum)) || 1;
    for (let k = 0; k < dim; k++) sum[k]! /= norm;
  }
  return sums;
}

function nearest(centroids: Map<number, Float32Array>, row: Float32Array): number {
  let best = -Infinity;
  let label = 0;
  for (const [l, c] of centroids) {
    const similarity = dot(c, row);
    if (similarity > best) [best, label] = [similarity, l];
  }
  return label;
}

/** Renumbers labels 0, 1, … in the order they first appear. */
function inOrderOfAppearance(labels: number[]): number[] {
  const order = new Map<number, number>();
  return labels.map((l) => {
    if (!order.has(l)) order.set(l, order.size);
    return order.get(l)!;
  });
}
