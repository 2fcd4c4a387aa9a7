/**
 * PCA whitening learnt from a set of descriptors (pure kernel). Uses the Gram-matrix trick (n x n eigenproblem,
 * cyclic Jacobi) because descriptors are long (K*C) and sets are small (a map's images).
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { seededRandom } from "../kernels/kmeans.ts";

/** A learnt projection: y = components * (x - mean), rows already scaled for whitening. */
export interface PcaParams {
  /** Input length d. */
  inputDim: number;
  /** Output length D. */
  dim: number;
  /** d values. */
  mean: Float32Array;
  /** D * d, row-major: row i is the i-th principal axis divided by sqrt(eigenvalue_i + regulariser). */
  components: Float32Array;
  /** D eigenvalues (variance along each axis), descending. */
  eigenvalues: Float32Array;
}

/** Options of {@link fitPca}. */
export interface PcaOptions {
  /** Whiten (divide by sqrt of the eigenvalue). Default true. */
  whiten?: boolean;
  /**
   * Regulariser added to every eigenvalue before whitening, as a fraction of the mean retained eigenvalue
   * (avoids amplifying noise along weak axes). Default 0.1.
   */
  regulariser?: number;
  /** At most this many samples are used (random subset). Default 1500. */
  maxSamples?: number;
  /** Seed of the subset. Default 1. */
  seed?: number;
}

/** Eigen-decomposition of a symmetric n x n matrix (row-major, float64) by cyclic Jacobi; destroys `a`. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let off = 0, diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-22 * diag || off === 0) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p], aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p], vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/**
 * Learn PCA (whitening) from `n = data.length / inputDim` samples down to `dim` (at most n - 1).
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
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a]);
  const whiten = options.whiten ?? true;
  const kept = order.slice(0, dim);
  const eig = kept.map((i) => Math.max(values[i], 0) / n);
  const reg = (options.regulariser ?? 0.1) * (eig.reduce((a, b) => a + b, 0) / dim);
  const components = new Float32Array(dim * d);
  const axis = new Float64Array(d);
  for (let r = 0; r < dim; r++) {
    const e = kept[r];
    axis.fill(0);
    for (let a = 0; a < n; a++) {
      const u = vectors[a * n + e];
      if (u === 0) continue;
      for (let j = 0; j < d; j++) axis[j] += u * x[a * d + j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += axis[j] * axis[j];
    norm = Math.sqrt(norm) || 1;
    const scale = whiten ? 1 / Math.sqrt(eig[r] + reg) : 1;
    for (let j = 0; j < d; j++) components[r * d + j] = (axis[j] / norm) * scale;
  }
  return {
    inputDim: d,
    dim,
    mean: new Float32Array(mean),
    components,
    eigenvalues: new Float32Array(eig),
  };
}

/** Apply a PCA projection to one vector and L2-normalise the result (reference for the ONNX graph). */
export function applyPca(p: PcaParams, v: Float32Array): Float32Array {
  const out = new Float32Array(p.dim);
  let norm = 0;
  for (let r = 0; r < p.dim; r++) {
    let s = 0;
    for (let j = 0; j < p.inputDim; j++) s += p.components[r * p.inputDim + j] * (v[j] - p.mean[j]);
    out[r] = s;
    norm += s * s;
  }
  const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let r = 0; r < p.dim; r++) out[r] *= inv;
  return out;
}
