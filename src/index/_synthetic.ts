/**
 * Deterministic synthetic vectors for index tests and benchmarks (seeded draws from `src/_rng.ts`): Gaussian
 * samples and an L2-normalised Gaussian mixture (random unit centres, isotropic noise of per-cluster spread),
 * which has the clustered structure of real place descriptors rather than uniform noise.
 *
 * @module
 */

import { normalizeInPlace } from "../kernels/vector.ts";
import { Mulberry32 } from "../_rng.ts";

/** `n` i.i.d. Gaussian vectors of `dim`, L2-normalised (uniform on the sphere), row-major. */
export function randomUnitVectors(n: number, dim: number, seed: number): Float32Array {
  const g = new Mulberry32(seed).normal;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) out[i] = g();
  for (let r = 0; r < n; r++) normalizeInPlace(out.subarray(r * dim, (r + 1) * dim));
  return out;
}

/** Parameters of a Gaussian mixture on the sphere. */
export interface MixtureSpec {
  /** Vector dimension. */
  dim: number;
  /** Number of clusters. */
  clusters: number;
  /** Noise norm relative to the (unit) centre: spread of cluster c is drawn uniformly in [min, max]. */
  spread: [number, number];
  /** PRNG seed. */
  seed: number;
}

/** A Gaussian mixture: unit centres and spreads, from which `sample` draws normalised vectors. */
export class GaussianMixture {
  /** The specification. */
  readonly spec: MixtureSpec;
  /** Unit cluster centres, row-major [clusters, dim]. */
  readonly centres: Float32Array;
  /** Noise norm of each cluster. */
  readonly spreads: Float64Array;
  private readonly rng: Mulberry32;

  constructor(spec: MixtureSpec) {
    this.spec = spec;
    this.centres = randomUnitVectors(spec.clusters, spec.dim, spec.seed);
    this.rng = new Mulberry32(spec.seed ^ 0x9e3779b9);
    this.spreads = new Float64Array(spec.clusters);
    const [lo, hi] = spec.spread;
    for (let c = 0; c < spec.clusters; c++) this.spreads[c] = lo + (hi - lo) * this.rng.next();
  }

  /**
   * Draw `n` vectors into `out` (row-major, allocated when absent): each is a random centre plus isotropic
   * Gaussian noise of norm about that cluster's spread, then L2-normalised.
   */
  sample(n: number, out = new Float32Array(n * this.spec.dim)): Float32Array {
    const { dim, clusters } = this.spec;
    const scaleBase = 1 / Math.sqrt(dim);
    for (let r = 0; r < n; r++) {
      const c = this.rng.int(clusters);
      const scale = this.spreads[c] * scaleBase;
      const o = r * dim, co = c * dim;
      for (let i = 0; i < dim; i++) out[o + i] = this.centres[co + i] + scale * this.rng.normal();
      normalizeInPlace(out.subarray(o, o + dim));
    }
    return out;
  }

  /**
   * Perturbed copies of rows of `data`: row + isotropic noise of norm `noise`, normalised (a revisited place
   * seen again with some change).
   */
  perturb(data: Float32Array, rows: ArrayLike<number>, noise: number): Float32Array[] {
    const { dim } = this.spec;
    const scale = noise / Math.sqrt(dim);
    return Array.from(rows, (row) => {
      const v = new Float32Array(dim);
      for (let i = 0; i < dim; i++) v[i] = data[row * dim + i] + scale * this.rng.normal();
      return normalizeInPlace(v);
    });
  }

  /** A uniform random integer in [0, n). */
  randomInt(n: number): number {
    return this.rng.int(n);
  }
}
