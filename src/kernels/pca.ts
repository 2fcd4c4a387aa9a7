/**
 * The project's one PCA: fitted on row-major float32 samples, optionally whitened, applied with a final L2
 * normalisation. Global descriptors (the default model's whitening: long rows, few samples) and local
 * descriptors (DELF-style 40-d reduction: short rows, many samples) both use it.
 *
 * The axes come from the eigen-decomposition of whichever of the two equivalent matrices is smaller: the
 * n x n Gram matrix of the centred samples when there are no more samples than dimensions (its eigenvectors
 * map back to the axes through the samples), else the d x d covariance. Both give the same axes up to sign
 * and the same variances; eigenvalues are population variances (divided by n). Pure kernel: typed arrays only.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { seededRandom } from "./kmeans.ts";
import { symmetricEigen } from "./linalg.ts";

/** A learnt projection: y = normalise(components * (x - mean)). */
export interface PcaParams {
  /** Input length d. */
  inputDim: number;
  /** Output length D. */
  dim: number;
  /** d values. */
  mean: Float32Array;
  /**
   * D * d, row-major: row i is the i-th unit principal axis (largest variance first), divided by
   * sqrt(eigenvalue_i + regulariser) when whitened.
   */
  components: Float32Array;
  /** D eigenvalues (population variance along each axis), descending. */
  eigenvalues: Float32Array;
}

/** Options of {@link fitPca}. */
export interface PcaOptions {
  /** Whiten (divide each axis by the square root of its eigenvalue plus the regulariser). Default true. */
  whiten?: boolean;
  /**
   * Regulariser added to every eigenvalue before whitening, as a fraction of the mean retained eigenvalue
   * (avoids amplifying noise along weak axes). Default 0.1.
   */
  regulariser?: number;
  /** At most this many samples are used (a seeded random subset, kept in input order). Default 1500. */
  maxSamples?: number;
  /** Seed of the subset. Default 1. */
  seed?: number;
}

/**
 * Learn PCA from `n = data.length / inputDim` samples down to `dim` axes (at most n - 1 and inputDim).
 *
 * @example
 * ```ts
 * import { fitPca } from "./pca.ts";
 * const data = new Float32Array([1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0]);
 * const p = fitPca(data, 3, 2);
 * console.assert(p.dim === 2 && p.components.length === 6);
 * ```
 */
export function fitPca(
  data: Float32Array,
  inputDim: number,
  dim: number,
  options: PcaOptions = {},
): PcaParams {
  const action = "fit PCA";
  if (!Number.isInteger(inputDim) || inputDim <= 0) {
    throw invalid(action, "inputDim", "a positive integer", inputDim);
  }
  if (data.length % inputDim !== 0) {
    throw invalid(action, "data.length", `a multiple of ${inputDim}`, data.length);
  }
  const total = data.length / inputDim;
  const maxSamples = options.maxSamples ?? 1500;
  let idx = Array.from({ length: total }, (_, i) => i);
  if (total > maxSamples) {
    const rand = seededRandom(options.seed ?? 1);
    for (let i = total - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j], idx[i]];
    }
    idx = idx.slice(0, maxSamples).sort((a, b) => a - b);
  }
  const n = idx.length;
  if (!Number.isInteger(dim) || dim <= 0 || dim > Math.min(n - 1, inputDim)) {
    throw invalid(action, "dim", `an integer in [1, ${Math.min(n - 1, inputDim)}] (samples - 1)`, dim);
  }
  const d = inputDim;
  const mean = new Float64Array(d);
  for (const i of idx) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const { axes, variances } = n <= d ? gramAxes(data, idx, mean, dim) : covarianceAxes(data, idx, mean, dim);
  const whiten = options.whiten ?? true;
  const reg = (options.regulariser ?? 0.1) * (variances.reduce((a, b) => a + b, 0) / dim);
  const components = new Float32Array(dim * d);
  for (let r = 0; r < dim; r++) {
    const scale = whiten ? 1 / Math.sqrt(variances[r] + reg) : 1;
    for (let j = 0; j < d; j++) components[r * d + j] = axes[r * d + j] * scale;
  }
  return {
    inputDim: d,
    dim,
    mean: new Float32Array(mean),
    components,
    eigenvalues: new Float32Array(variances),
  };
}

/** Unit axes (dim x d) and population variances from the n x n Gram matrix of the centred samples. */
function gramAxes(
  data: Float32Array,
  idx: number[],
  mean: Float64Array,
  dim: number,
): { axes: Float64Array; variances: number[] } {
  const n = idx.length, d = mean.length;
  const x = new Float64Array(n * d);
  for (let r = 0; r < n; r++) {
    const i = idx[r];
    for (let j = 0; j < d; j++) x[r * d + j] = data[i * d + j] - mean[j];
  }
  const gram = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += x[a * d + j] * x[b * d + j];
      gram[a * n + b] = s;
      gram[b * n + a] = s;
    }
  }
  const { values, vectors } = symmetricEigen(gram, n);
  const axes = new Float64Array(dim * d);
  const variances: number[] = [];
  for (let r = 0; r < dim; r++) {
    variances.push(Math.max(values[r], 0) / n);
    const axis = axes.subarray(r * d, r * d + d);
    for (let a = 0; a < n; a++) {
      const u = vectors[r * n + a];
      if (u === 0) continue;
      for (let j = 0; j < d; j++) axis[j] += u * x[a * d + j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += axis[j] * axis[j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) axis[j] /= norm;
  }
  return { axes, variances };
}

/** Unit axes (dim x d) and population variances from the d x d covariance of the samples. */
function covarianceAxes(
  data: Float32Array,
  idx: number[],
  mean: Float64Array,
  dim: number,
): { axes: Float64Array; variances: number[] } {
  const n = idx.length, d = mean.length;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (const i of idx) {
    for (let k = 0; k < d; k++) centred[k] = data[i * d + k] - mean[k];
    for (let p = 0; p < d; p++) {
      const v = centred[p];
      if (v === 0) continue;
      const o = p * d;
      for (let q = p; q < d; q++) cov[o + q] += v * centred[q];
    }
  }
  for (let p = 0; p < d; p++) {
    for (let q = p; q < d; q++) {
      cov[p * d + q] /= n;
      cov[q * d + p] = cov[p * d + q];
    }
  }
  const { values, vectors } = symmetricEigen(cov, d);
  const variances = Array.from(values.subarray(0, dim), (v) => Math.max(v, 0));
  return { axes: vectors.slice(0, dim * d), variances };
}

/**
 * Project rows (n x inputDim, row-major) and L2-normalise each result; zero projections stay zero. One row
 * gives the reference of the ONNX graph's whitening step.
 *
 * @example
 * ```ts
 * import { applyPca, fitPca } from "./pca.ts";
 * const p = fitPca(new Float32Array([1, 0, 0, -1, 0, 0, 0, 1, 0, 0, -1, 0]), 3, 2);
 * console.assert(applyPca(p, new Float32Array([1, 0, 0])).length === 2);
 * ```
 */
export function applyPca(p: PcaParams, rows: Float32Array): Float32Array {
  const { inputDim: d, dim: k, mean, components } = p;
  if (rows.length % d !== 0) throw invalid("apply PCA", "rows.length", `a multiple of ${d}`, rows.length);
  const n = rows.length / d;
  const out = new Float32Array(n * k);
  const c = new Float64Array(d);
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
