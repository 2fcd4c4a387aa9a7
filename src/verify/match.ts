/**
 * Descriptor matching kernel: mutual nearest neighbours between two sets of L2-normalised descriptors with a
 * Euclidean distance threshold (DELF uses 0.8). Similarities are computed as blocked dot products over
 * Float32Array (4 query rows per pass over the candidate set), tracking row and column maxima in the same pass,
 * so the n x m similarity matrix is never stored. Pure; an ONNX Runtime GEMM backend with the same contract
 * lives in `onnx_matcher.ts` for speed.
 *
 * @module
 */
import { invalid } from "../errors.ts";

/** Best neighbour of every row of A in B and of every row of B in A (by inner product). */
export interface NearestNeighbours {
  /** For each row of A: index of its most similar row of B (-1 when B is empty). */
  rowIndex: Int32Array;
  /** For each row of A: that similarity. */
  rowSim: Float32Array;
  /** For each row of B: index of its most similar row of A (-1 when A is empty). */
  colIndex: Int32Array;
}

/** Tentative correspondences: `queryIndex[k]` (row of A) matches `candidateIndex[k]` (row of B). */
export interface Matches {
  count: number;
  queryIndex: Int32Array;
  candidateIndex: Int32Array;
  /** Euclidean distance of each match (unit descriptors: sqrt(2 - 2 cos)). */
  distance: Float32Array;
}

/** Options of {@link matchDescriptors}. */
export interface MatchOptions {
  /** Largest accepted Euclidean distance between unit descriptors. Default 0.8 (DELF). */
  maxDistance?: number;
}

function checkShapes(a: Float32Array, b: Float32Array, dim: number): void {
  if (!Number.isInteger(dim) || dim <= 0) {
    throw invalid("match descriptors", "dim", "a positive integer", dim);
  }
  if (a.length % dim !== 0) {
    throw invalid("match descriptors", "a.length", `a multiple of dim ${dim}`, a.length);
  }
  if (b.length % dim !== 0) {
    throw invalid("match descriptors", "b.length", `a multiple of dim ${dim}`, b.length);
  }
}

/**
 * Nearest neighbours both ways by maximum inner product (= minimum distance for unit vectors).
 * Rows of A are processed 4 at a time so each candidate row is loaded once per 4 dot products.
 */
export function nearestNeighbours(a: Float32Array, b: Float32Array, dim: number): NearestNeighbours {
  checkShapes(a, b, dim);
  const n = a.length / dim;
  const m = b.length / dim;
  const rowIndex = new Int32Array(n).fill(-1);
  const rowSim = new Float32Array(n).fill(-Infinity);
  const colIndex = new Int32Array(m).fill(-1);
  const colSim = new Float64Array(m).fill(-Infinity);
  if (n === 0 || m === 0) return { rowIndex, rowSim, colIndex };
  const n4 = n - (n % 4);
  for (let i = 0; i < n4; i += 4) {
    const i0 = i * dim, i1 = i0 + dim, i2 = i1 + dim, i3 = i2 + dim;
    let b0 = -Infinity, b1 = -Infinity, b2 = -Infinity, b3 = -Infinity;
    let j0 = -1, j1 = -1, j2 = -1, j3 = -1;
    for (let j = 0; j < m; j++) {
      const jb = j * dim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < dim; k++) {
        const bk = b[jb + k];
        s0 += a[i0 + k] * bk;
        s1 += a[i1 + k] * bk;
        s2 += a[i2 + k] * bk;
        s3 += a[i3 + k] * bk;
      }
      if (s0 > b0) b0 = s0, j0 = j;
      if (s1 > b1) b1 = s1, j1 = j;
      if (s2 > b2) b2 = s2, j2 = j;
      if (s3 > b3) b3 = s3, j3 = j;
      let cs = colSim[j], ci = colIndex[j];
      if (s0 > cs) cs = s0, ci = i;
      if (s1 > cs) cs = s1, ci = i + 1;
      if (s2 > cs) cs = s2, ci = i + 2;
      if (s3 > cs) cs = s3, ci = i + 3;
      colSim[j] = cs;
      colIndex[j] = ci;
    }
    rowIndex[i] = j0, rowSim[i] = b0;
    rowIndex[i + 1] = j1, rowSim[i + 1] = b1;
    rowIndex[i + 2] = j2, rowSim[i + 2] = b2;
    rowIndex[i + 3] = j3, rowSim[i + 3] = b3;
  }
  for (let i = n4; i < n; i++) {
    const ia = i * dim;
    let bs = -Infinity, bj = -1;
    for (let j = 0; j < m; j++) {
      const jb = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += a[ia + k] * b[jb + k];
      if (s > bs) bs = s, bj = j;
      if (s > colSim[j]) colSim[j] = s, colIndex[j] = i;
    }
    rowIndex[i] = bj, rowSim[i] = bs;
  }
  return { rowIndex, rowSim, colIndex };
}

/** Keep the pairs that are each other's nearest neighbour and closer than `maxDistance`. */
export function mutualMatches(nn: NearestNeighbours, maxDistance = 0.8): Matches {
  const n = nn.rowIndex.length;
  const minSim = 1 - (maxDistance * maxDistance) / 2;
  const q = new Int32Array(n), c = new Int32Array(n), d = new Float32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    const j = nn.rowIndex[i];
    if (j < 0 || nn.colIndex[j] !== i) continue;
    const s = nn.rowSim[i];
    if (s < minSim) continue;
    q[count] = i;
    c[count] = j;
    d[count] = Math.sqrt(Math.max(0, 2 - 2 * s));
    count++;
  }
  return {
    count,
    queryIndex: q.slice(0, count),
    candidateIndex: c.slice(0, count),
    distance: d.slice(0, count),
  };
}

/**
 * Mutual nearest-neighbour matches between unit descriptors `a` (query, n x dim) and `b` (candidate, m x dim).
 *
 * @example
 * ```ts
 * import { matchDescriptors } from "./match.ts";
 * const a = new Float32Array([1, 0, 0, 1]);
 * const b = new Float32Array([0, 1, 1, 0]);
 * const m = matchDescriptors(a, b, 2);
 * console.assert(m.count === 2 && m.candidateIndex[0] === 1);
 * ```
 */
export function matchDescriptors(
  a: Float32Array,
  b: Float32Array,
  dim: number,
  options: MatchOptions = {},
): Matches {
  const maxDistance = options.maxDistance ?? 0.8;
  if (!(maxDistance > 0) || !Number.isFinite(maxDistance)) {
    throw invalid("match descriptors", "maxDistance", "a positive number", maxDistance);
  }
  return mutualMatches(nearestNeighbours(a, b, dim), maxDistance);
}
