/**
 * Small dense linear algebra for verification and PCA: Gaussian elimination with partial pivoting and the
 * project's one cyclic Jacobi eigen-decomposition of a symmetric matrix (input left untouched, eigenpairs
 * sorted by value, descending, eigenvectors as rows). Row-major Float64Array, no allocation per element.
 *
 * @module
 */

/**
 * Solve `A x = b` for square `A` (n x n, row-major) by Gaussian elimination with partial pivoting.
 * `A` and `b` are not modified. Returns null when `A` is singular (pivot below `eps` times the largest entry).
 */
export function solveLinear(a: Float64Array, b: Float64Array, n: number, eps = 1e-12): Float64Array | null {
  const m = new Float64Array(a);
  const x = new Float64Array(b);
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(m[i]));
  if (scale === 0 || !Number.isFinite(scale)) return null;
  const tol = eps * scale;
  for (let c = 0; c < n; c++) {
    let p = c;
    let best = Math.abs(m[c * n + c]);
    for (let r = c + 1; r < n; r++) {
      const v = Math.abs(m[r * n + c]);
      if (v > best) {
        best = v;
        p = r;
      }
    }
    if (best <= tol) return null;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        const t = m[c * n + k];
        m[c * n + k] = m[p * n + k];
        m[p * n + k] = t;
      }
      const t = x[c];
      x[c] = x[p];
      x[p] = t;
    }
    const piv = m[c * n + c];
    for (let r = c + 1; r < n; r++) {
      const f = m[r * n + c] / piv;
      if (f === 0) continue;
      for (let k = c; k < n; k++) m[r * n + k] -= f * m[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let r = n - 1; r >= 0; r--) {
    let s = x[r];
    for (let k = r + 1; k < n; k++) s -= m[r * n + k] * x[k];
    x[r] = s / m[r * n + r];
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(x[i])) return null;
  return x;
}

/** Eigen-decomposition of a symmetric matrix: values descending, `vectors` row i = eigenvector i. */
export interface SymmetricEigen {
  values: Float64Array;
  /** n x n, row-major; row i is the unit eigenvector of values[i]. */
  vectors: Float64Array;
}

/**
 * Cyclic Jacobi eigen-decomposition of a symmetric n x n matrix (row-major; `a` is copied, not modified).
 * Used for 9x9 DLT normal matrices, descriptor covariances and PCA Gram matrices. Sweeps stop when the
 * squared off-diagonal mass is below 1e-24 of the squared diagonal, or after `maxSweeps`.
 *
 * @example
 * ```ts
 * import { symmetricEigen } from "./linalg.ts";
 * const { values, vectors } = symmetricEigen(new Float64Array([2, 0, 0, 3]), 2);
 * console.assert(values[0] === 3 && Math.abs(vectors[1]) === 1);
 * ```
 */
export function symmetricEigen(a: Float64Array, n: number, maxSweeps = 60): SymmetricEigen {
  const m = new Float64Array(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += m[i * n + i] * m[i * n + i];
      for (let j = i + 1; j < n; j++) off += m[i * n + j] * m[i * n + j];
    }
    if (off <= 1e-24 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const mkp = m[k * n + p];
          const mkq = m[k * n + q];
          m[k * n + p] = c * mkp - s * mkq;
          m[k * n + q] = s * mkp + c * mkq;
        }
        for (let k = 0; k < n; k++) {
          const mpk = m[p * n + k];
          const mqk = m[q * n + k];
          m[p * n + k] = c * mpk - s * mqk;
          m[q * n + k] = s * mpk + c * mqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => m[j * n + j] - m[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((col, row) => {
    values[row] = m[col * n + col];
    for (let k = 0; k < n; k++) vectors[row * n + k] = v[k * n + col];
  });
  return { values, vectors };
}
