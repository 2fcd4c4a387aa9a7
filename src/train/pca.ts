/**
 * PCA whitening fitted on a set of (high-dimensional) vectors through the Gram matrix: with N vectors of
 * dimension D >> N, the eigenvectors of the N x N Gram matrix of the centred data give the principal
 * directions e_i = X^T u_i / sqrt(lambda_i). The whitening projection row i is e_i / sqrt(var_i + eps) with
 * var_i = lambda_i / N. The symmetric eigenproblem is solved by Householder tridiagonalisation and the
 * implicit QL algorithm (after JAMA's tred2/tql2, public domain).
 *
 * @module
 */
import { invalid, TrainingError } from "../errors.ts";
import type { WhiteningParams } from "./netvlad_grad.ts";

/**
 * Eigen-decomposition of a symmetric n x n matrix (row-major). Returns eigenvalues in descending order and the
 * matching eigenvectors as rows (n x n, row-major).
 *
 * @example
 * ```ts
 * import { symmetricEigen } from "./pca.ts";
 * const { values } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
 * console.assert(Math.abs(values[0] - 3) < 1e-12 && Math.abs(values[1] - 1) < 1e-12);
 * ```
 */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  if (a.length !== n * n) {
    throw invalid("decompose a symmetric matrix", "a.length", `n*n = ${n * n}`, a.length);
  }
  // V holds the matrix, column-major accesses written as V[i*n+j] = V(i,j)
  const V = Float64Array.from(a);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // ---- tred2
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
  // ---- tql2
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n > 0) e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = Math.pow(2, -52);
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 200) throw new TrainingError("Eigen-decomposition did not converge");
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = c, c3 = c;
        const el1 = e[l + 1];
        let s = 0, s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            h = V[k * n + i + 1];
            V[k * n + i + 1] = s * V[k * n + i] + c * h;
            V[k * n + i] = c * V[k * n + i] - s * h;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
  // sort descending; eigenvector j is column j of V
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => d[y] - d[x]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((j, r) => {
    values[r] = d[j];
    for (let k = 0; k < n; k++) vectors[r * n + k] = V[k * n + j];
  });
  return { values, vectors };
}

/**
 * Fit PCA whitening to `outDim` dimensions on N vectors (each of length D).
 *
 * @param regularisation added to every variance, relative to the largest one (default 1e-3), so that the
 *   weakest components are not blown up.
 * @throws {ValidationError} when `outDim` exceeds N - 1 (the rank of the centred data) or D.
 */
export function fitPcaWhitening(
  vectors: ArrayLike<number>[],
  outDim: number,
  regularisation = 1e-3,
): WhiteningParams {
  const N = vectors.length;
  const act = "fit PCA whitening";
  if (N < 2) throw invalid(act, "vectors.length", "at least 2", N);
  const D = vectors[0].length;
  if (!Number.isInteger(outDim) || outDim < 1 || outDim > Math.min(N - 1, D)) {
    throw invalid(act, "outDim", `an integer in [1, min(N-1, D) = ${Math.min(N - 1, D)}]`, outDim);
  }
  const mean = new Float64Array(D);
  for (const v of vectors) for (let i = 0; i < D; i++) mean[i] += v[i];
  for (let i = 0; i < D; i++) mean[i] /= N;
  const X = vectors.map((v) => {
    const r = new Float64Array(D);
    for (let i = 0; i < D; i++) r[i] = v[i] - mean[i];
    return r;
  });
  const G = new Float64Array(N * N);
  for (let a = 0; a < N; a++) {
    for (let b = a; b < N; b++) {
      let s = 0;
      const xa = X[a], xb = X[b];
      for (let i = 0; i < D; i++) s += xa[i] * xb[i];
      G[a * N + b] = s;
      G[b * N + a] = s;
    }
  }
  const { values, vectors: U } = symmetricEigen(G, N);
  const reg = Math.max(values[0], 1e-30) / N * regularisation;
  const matrix = new Float64Array(outDim * D);
  for (let r = 0; r < outDim; r++) {
    const lambda = Math.max(values[r], 0);
    const row = matrix.subarray(r * D, (r + 1) * D);
    for (let a = 0; a < N; a++) {
      const u = U[r * N + a];
      if (u === 0) continue;
      const xa = X[a];
      for (let i = 0; i < D; i++) row[i] += u * xa[i];
    }
    // row = X^T u has norm sqrt(lambda): unit direction e = row / sqrt(lambda); scale 1 / sqrt(var + reg)
    const scale = 1 / (Math.sqrt(Math.max(lambda, 1e-30)) * Math.sqrt(lambda / N + reg));
    for (let i = 0; i < D; i++) row[i] *= scale;
  }
  return { outDim, matrix, mean };
}
