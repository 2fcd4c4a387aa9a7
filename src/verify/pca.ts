/**
 * PCA for local descriptors (DELF: L2-normalise, project to 40-d, L2-normalise again), fitted on a map's
 * descriptors. The arithmetic is the project's one PCA (`src/kernels/pca.ts`); this module keeps the local
 * features' own shape of it (`outputDim`, `variances`), which the features codec stores.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { applyPca as applyKernelPca, fitPca as fitKernelPca } from "../kernels/pca.ts";

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
  /** At most this many rows are used (seeded random subset). Default 20000. */
  maxSamples?: number;
}

/**
 * Fit a PCA on `rows` (n x dim, row-major): the project's one PCA (`src/kernels/pca.ts`), unwhitened, on at
 * most `maxSamples` rows (a seeded random subset).
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
  const p = fitKernelPca(rows, dim, outputDim, { whiten: false, maxSamples });
  return { inputDim: dim, outputDim, mean: p.mean, components: p.components, variances: p.eigenvalues };
}

/** Project rows (n x inputDim) and L2-normalise each result (zero rows stay zero). */
export function applyPca(pca: PcaProjection, rows: Float32Array): Float32Array {
  const { inputDim, outputDim: dim, mean, components, variances: eigenvalues } = pca;
  return applyKernelPca({ inputDim, dim, mean, components, eigenvalues }, rows);
}
