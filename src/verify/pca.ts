/**
 * PCA for local descriptors (DELF: L2-normalise, project to 40-d, L2-normalise again). Fitted on a map's
 * descriptors by eigen-decomposition of their covariance (cyclic Jacobi, see `_linalg.ts`).
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { symmetricEigen } from "./_linalg.ts";

/** A fitted projection: `y = normalise(components · (x - mean))`. */
export interface PcaProjection {
  inputDim: number;
  outputDim: number;
  /** inputDim. */
  mean: Float32Array;
  /** outputDim x inputDim, row-major; rows are unit principal axes, largest variance first. */
  components: Float32Array;
  /** Variance along each kept axis (outputDim). */
  variances: Float32Array;
}

/** Options of {@link fitPca}. */
export interface FitPcaOptions {
  /** Kept dimensions. Default 40 (DELF). */
  outputDim?: number;
  /** At most this many rows are used (evenly strided subsample). Default 20000. */
  maxSamples?: number;
}

/**
 * Fit a PCA on `rows` (n x dim, row-major).
 *
 * @example
 * ```ts
 * import { applyPca, fitPca } from "./pca.ts";
 * const rows = new Float32Array(300).map((_, i) => (i % 3 === 0 ? Math.sin(i) : 0.1 * Math.cos(i)));
 * const pca = fitPca(rows, 3, { outputDim: 2 });
 * console.assert(applyPca(pca, rows).length === 200);
 * ```
 */
export function fitPca(rows: Float32Array, dim: number, options: FitPcaOptions = {}): PcaProjection {
  const outputDim = options.outputDim ?? 40;
  const maxSamples = options.maxSamples ?? 20000;
  if (!Number.isInteger(dim) || dim <= 0 || rows.length % dim !== 0) {
    throw invalid("fit PCA", "dim", `a positive divisor of the data length ${rows.length}`, dim);
  }
  if (!Number.isInteger(outputDim) || outputDim <= 0 || outputDim > dim) {
    throw invalid("fit PCA", "outputDim", `an integer in [1, ${dim}]`, outputDim);
  }
  const n = rows.length / dim;
  if (n < 2) throw invalid("fit PCA", "rows", "at least 2 descriptors", n);
  const step = Math.max(1, Math.floor(n / maxSamples));
  const mean = new Float64Array(dim);
  let used = 0;
  for (let i = 0; i < n; i += step, used++) for (let k = 0; k < dim; k++) mean[k] += rows[i * dim + k];
  for (let k = 0; k < dim; k++) mean[k] /= used;
  const cov = new Float64Array(dim * dim);
  const centred = new Float64Array(dim);
  for (let i = 0; i < n; i += step) {
    for (let k = 0; k < dim; k++) centred[k] = rows[i * dim + k] - mean[k];
    for (let p = 0; p < dim; p++) {
      const v = centred[p];
      if (v === 0) continue;
      const o = p * dim;
      for (let q = p; q < dim; q++) cov[o + q] += v * centred[q];
    }
  }
  for (let p = 0; p < dim; p++) {
    for (let q = p; q < dim; q++) {
      cov[p * dim + q] /= used - 1;
      cov[q * dim + p] = cov[p * dim + q];
    }
  }
  const { values, vectors } = symmetricEigen(cov, dim);
  return {
    inputDim: dim,
    outputDim,
    mean: Float32Array.from(mean),
    components: Float32Array.from(vectors.subarray(0, outputDim * dim)),
    variances: Float32Array.from(values.subarray(0, outputDim)),
  };
}

/** Project rows (n x inputDim) and L2-normalise each result (zero rows stay zero). */
export function applyPca(pca: PcaProjection, rows: Float32Array): Float32Array {
  const { inputDim: d, outputDim: k, mean, components } = pca;
  if (rows.length % d !== 0) throw invalid("apply PCA", "rows.length", `a multiple of ${d}`, rows.length);
  const n = rows.length / d;
  const out = new Float32Array(n * k);
  const c = new Float32Array(d);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < d; t++) c[t] = rows[i * d + t] - mean[t];
    let norm = 0;
    for (let j = 0; j < k; j++) {
      let s = 0;
      const o = j * d;
      for (let t = 0; t < d; t++) s += components[o + t] * c[t];
      out[i * k + j] = s;
      norm += s * s;
    }
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let j = 0; j < k; j++) out[i * k + j] *= inv;
    }
  }
  return out;
}
