/**
 * Seeded k-means: k-means++ initialisation then Lloyd iterations, over row-major float32 data, optionally
 * restarted from several k-means++ starts keeping the lowest inertia. Deterministic for a given seed. With
 * caller-given initial centres and pseudo-counts towards them it is maximum a posteriori k-means (a prior
 * vocabulary that a small data set moves little and a large one fully). Pure kernel: typed arrays only.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { mulberry32 } from "../_rng.ts";

/** Options of {@link kmeans}. */
export interface KMeansOptions {
  /** Random seed (k-means++ sampling, tie breaks). Default 1. */
  seed?: number;
  /** Maximum Lloyd iterations. Default 25. */
  maxIterations?: number;
  /** Stop when fewer than this fraction of points change cluster. Default 1e-3. */
  tolerance?: number;
  /** k-means++ runs on at most this many random points (cost is O(k * sample)). Default 20000. */
  initSample?: number;
  /**
   * Independent k-means++ starts (each followed by Lloyd iterations); the run of lowest inertia is returned.
   * Default 1.
   */
  restarts?: number;
  /**
   * Spherical k-means: every centroid is rescaled to unit length after each update (for unit-length data this
   * assigns by cosine similarity and keeps the centres on the sphere). Default false.
   */
  spherical?: boolean;
  /**
   * Initial centres (k * dim, row-major; copied, not modified) instead of k-means++: Lloyd iterations start
   * from them. No random draws are made, so `seed` does not matter and `restarts` must be 1.
   */
  init?: Float32Array;
  /**
   * Maximum a posteriori k-means (requires `init`): pseudo-counts per centre (one number for all, or k of
   * them, each >= 0) of points sitting at its initial centre. Every update makes centre c
   * `(sum of its points + p_c * init_c) / (count_c + p_c)`, so the prior's weight fades as data accumulates;
   * a centre with no points and p_c > 0 returns to its initial centre (an empty one with p_c = 0 is re-seeded
   * as in plain k-means). With `spherical` that mean is then rescaled to unit length. Default none (plain
   * k-means from `init`).
   */
  pseudoCounts?: number | ArrayLike<number>;
}

/** Result of {@link kmeans}. */
export interface KMeansResult {
  /** k * dim, row-major. */
  centroids: Float32Array;
  /** Cluster of each point. */
  assignments: Int32Array;
  /** Sum of squared distances of the points to their centroids. */
  inertia: number;
  iterations: number;
  /** Inertia of every restart, in the order they ran (length `restarts`). */
  restartInertias: number[];
}

/**
 * The seeded PRNG of k-means and of the model fitting that shares its seeds: mulberry32 from `src/_rng.ts`,
 * floats in [0, 1), with seed 0 taken as 0x9e3779b9 (as it always was: the same seeds give the same draws).
 */
export function seededRandom(seed: number): () => number {
  return mulberry32((seed >>> 0) || 0x9e3779b9);
}

function sqDist(a: Float32Array, ai: number, b: Float32Array, bi: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) {
    const d = a[ai + j] - b[bi + j];
    s += d * d;
  }
  return s;
}

/**
 * Cluster `n = data.length / dim` points into `k` clusters.
 *
 * @example
 * ```ts
 * import { kmeans } from "./kmeans.ts";
 * const data = new Float32Array([0, 0, 0, 1, 10, 10, 10, 11]);
 * const r = kmeans(data, 2, 2, { seed: 3 });
 * console.assert(r.assignments[0] === r.assignments[1] && r.assignments[0] !== r.assignments[2]);
 * ```
 */
export function kmeans(
  data: Float32Array,
  dim: number,
  k: number,
  options: KMeansOptions = {},
): KMeansResult {
  const action = "run k-means";
  if (!Number.isInteger(dim) || dim <= 0) throw invalid(action, "dim", "a positive integer", dim);
  if (data.length % dim !== 0) {
    throw invalid(action, "data.length", `a multiple of dim (${dim})`, data.length);
  }
  const n = data.length / dim;
  if (!Number.isInteger(k) || k <= 0) throw invalid(action, "k", "a positive integer", k);
  if (k > n) throw invalid(action, "k", `at most the number of points (${n})`, k);
  const seed = options.seed ?? 1;
  const maxIterations = options.maxIterations ?? 25;
  const tolerance = options.tolerance ?? 1e-3;
  const initSample = options.initSample ?? 20000;
  if (!Number.isInteger(maxIterations) || maxIterations < 0) {
    throw invalid(action, "maxIterations", "a non-negative integer", maxIterations);
  }
  const restarts = options.restarts ?? 1;
  if (!Number.isInteger(restarts) || restarts <= 0) {
    throw invalid(action, "restarts", "a positive integer", restarts);
  }
  const prior = priorOf(options, dim, k, restarts);
  const rand = seededRandom(seed);
  let best: KMeansResult | null = null;
  const restartInertias: number[] = [];
  for (let r = 0; r < restarts; r++) {
    const run = lloyd(
      data,
      dim,
      n,
      options.init ? new Float32Array(options.init) : kmeansPlusPlus(data, dim, n, k, initSample, rand),
      k,
      maxIterations,
      tolerance,
      options.spherical ?? false,
      prior,
    );
    restartInertias.push(run.inertia);
    // Strictly lower: ties keep the earlier run, so one restart is exactly the single-start result.
    if (!best || run.inertia < best.inertia) best = { ...run, restartInertias };
  }
  return best!;
}

/** Pseudo-counts towards the initial centres (validated `init` and `pseudoCounts`), or null for plain k-means. */
function priorOf(
  options: KMeansOptions,
  dim: number,
  k: number,
  restarts: number,
): { centres: Float32Array; pseudo: Float64Array } | null {
  const action = "run k-means";
  const { init, pseudoCounts } = options;
  if (init !== undefined) {
    if (!(init instanceof Float32Array) || init.length !== k * dim) {
      throw invalid(action, "init", `a Float32Array of k * dim = ${k * dim} values`, init?.length ?? init);
    }
    if (restarts !== 1) {
      throw invalid(action, "restarts", "1 when init is given (every start is init)", restarts);
    }
  }
  if (pseudoCounts === undefined) return null;
  if (init === undefined) throw invalid(action, "pseudoCounts", "given only with init", pseudoCounts);
  const pseudo = typeof pseudoCounts === "number"
    ? new Float64Array(k).fill(pseudoCounts)
    : Float64Array.from(pseudoCounts);
  if (pseudo.length !== k) throw invalid(action, "pseudoCounts", `a number or ${k} numbers`, pseudo.length);
  for (let c = 0; c < k; c++) {
    if (!(pseudo[c] >= 0) || !Number.isFinite(pseudo[c])) {
      throw invalid(action, `pseudoCounts[${c}]`, "a finite number >= 0", pseudo[c]);
    }
  }
  return { centres: init, pseudo };
}

/** k-means++ centres on a random subsample of at most `initSample` points (cost O(k * sample)). */
function kmeansPlusPlus(
  data: Float32Array,
  dim: number,
  n: number,
  k: number,
  initSample: number,
  rand: () => number,
): Float32Array {
  // ---- k-means++ on a random subsample
  const m = Math.min(n, Math.max(initSample, k));
  const sampleIdx = new Int32Array(m);
  if (m === n) { for (let i = 0; i < n; i++) sampleIdx[i] = i; }
  else {
    // Partial Fisher-Yates for a sample without replacement.
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(rand() * (n - i));
      const t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
      sampleIdx[i] = perm[i];
    }
  }
  const centroids = new Float32Array(k * dim);
  const minD = new Float64Array(m).fill(Infinity);
  let pick = sampleIdx[Math.floor(rand() * m)];
  for (let c = 0; c < k; c++) {
    centroids.set(data.subarray(pick * dim, pick * dim + dim), c * dim);
    if (c === k - 1) break;
    let total = 0;
    for (let i = 0; i < m; i++) {
      const d = sqDist(data, sampleIdx[i] * dim, centroids, c * dim, dim);
      if (d < minD[i]) minD[i] = d;
      total += minD[i];
    }
    if (total <= 0) {
      pick = sampleIdx[Math.floor(rand() * m)];
      continue;
    }
    let r = rand() * total;
    let chosen = m - 1;
    for (let i = 0; i < m; i++) {
      r -= minD[i];
      if (r <= 0) {
        chosen = i;
        break;
      }
    }
    pick = sampleIdx[chosen];
  }
  return centroids;
}

/**
 * Lloyd iterations from `centroids` (updated in place) until under `tolerance` of the points move; with
 * `prior`, each update is the MAP mean with the prior's pseudo-counts (see `KMeansOptions.pseudoCounts`).
 */
function lloyd(
  data: Float32Array,
  dim: number,
  n: number,
  centroids: Float32Array,
  k: number,
  maxIterations: number,
  tolerance: number,
  spherical: boolean,
  prior: { centres: Float32Array; pseudo: Float64Array } | null,
): Omit<KMeansResult, "restartInertias"> {
  const assignments = new Int32Array(n).fill(-1);
  const dists = new Float64Array(n);
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  const cNorm = new Float64Array(k);
  let inertia = 0;
  let iterations = 0;
  while (true) {
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += centroids[c * dim + j] ** 2;
      cNorm[c] = s;
    }
    let changed = 0;
    inertia = 0;
    for (let i = 0; i < n; i++) {
      const off = i * dim;
      let xNorm = 0;
      for (let j = 0; j < dim; j++) xNorm += data[off + j] * data[off + j];
      let best = 0, bestD = Infinity;
      for (let c = 0; c < k; c++) {
        const co = c * dim;
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += data[off + j] * centroids[co + j];
        const d = cNorm[c] - 2 * dot;
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
      const d = Math.max(0, bestD + xNorm);
      dists[i] = d;
      inertia += d;
      if (assignments[i] !== best) {
        changed++;
        assignments[i] = best;
      }
    }
    if ((iterations > 0 && changed / n < tolerance) || iterations >= maxIterations) break;
    iterations++;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignments[i];
      counts[c]++;
      const off = i * dim, co = c * dim;
      for (let j = 0; j < dim; j++) sums[co + j] += data[off + j];
    }
    // The new centres: each the mean of its points (with `prior`, and of its pseudo-counts at its initial
    // centre: the MAP mean, see `KMeansOptions.pseudoCounts`); an empty one with no prior weight is re-seeded.
    for (let c = 0; c < k; c++) {
      const p = prior ? prior.pseudo[c] : 0, w = counts[c] + p, co = c * dim;
      if (!(w > 0)) {
        reseed(centroids, c, data, dists, n, dim);
        continue;
      }
      const at = (j: number) => (p > 0 ? sums[co + j] + p * prior!.centres[co + j] : sums[co + j]);
      let div = w;
      if (spherical) {
        // The mean direction (a zero sum keeps the plain mean, the origin).
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += at(j) ** 2;
        if (norm > 0) div = Math.sqrt(norm);
      }
      for (let j = 0; j < dim; j++) centroids[co + j] = at(j) / div;
    }
  }
  return { centroids, assignments, inertia, iterations };
}

/** Re-seed an empty cluster's centre with the point farthest from its centroid (that point then counts as 0). */
function reseed(
  centroids: Float32Array,
  c: number,
  data: Float32Array,
  dists: Float64Array,
  n: number,
  dim: number,
) {
  let far = 0;
  for (let i = 1; i < n; i++) if (dists[i] > dists[far]) far = i;
  centroids.set(data.subarray(far * dim, far * dim + dim), c * dim);
  dists[far] = 0;
}
