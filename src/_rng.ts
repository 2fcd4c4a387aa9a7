/**
 * The one seeded PRNG of the project's kernels, synthetic data and jitter: mulberry32 (32-bit state, floats
 * in [0, 1)), a Box-Muller normal sampler over it, and an integer draw. Same seed, same sequence, on every
 * platform: only 32-bit integer arithmetic until the final division.
 *
 * Private helper (not exported from mod.ts). The training loop's checkpointable generator is a different one
 * (xoshiro128**, `src/train/rng.ts`), whose state is saved in checkpoints; it shares {@link boxMuller} only.
 *
 * @module
 */

/**
 * A seeded mulberry32 generator: each call returns the next float, uniform in [0, 1). The seed is taken as an
 * unsigned 32-bit integer (`seed >>> 0`), so seeds equal modulo 2^32 give the same sequence.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./_rng.ts";
 * const a = mulberry32(7), b = mulberry32(7);
 * console.assert(a() === b());
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One standard normal draw from two uniforms by Box-Muller (cosine branch): `sqrt(-2 ln u) cos(2 pi v)`.
 * `u` must be in (0, 1] (pass `1 - rand()` for a [0, 1) generator).
 *
 * @example
 * ```ts
 * import { boxMuller } from "./_rng.ts";
 * console.assert(boxMuller(1, 0) === 0);
 * ```
 */
export function boxMuller(u: number, v: number): number {
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * A standard normal sampler over `rand` (Box-Muller with `u = 1 - rand()`, `v = rand()`; both outputs used:
 * the cosine one first, then the sine one on the next call).
 *
 * @example
 * ```ts
 * import { gaussian, mulberry32 } from "./_rng.ts";
 * const normal = gaussian(mulberry32(1));
 * console.assert(Number.isFinite(normal()));
 * ```
 */
export function gaussian(rand: () => number): () => number {
  let spare = NaN;
  return () => {
    if (!Number.isNaN(spare)) {
      const s = spare;
      spare = NaN;
      return s;
    }
    const u = 1 - rand(), v = rand();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * A seeded mulberry32 generator as an object: uniform, integer and normal draws from one stream. The draws
 * are those of {@link mulberry32} and {@link gaussian} over it.
 *
 * @example
 * ```ts
 * import { Mulberry32 } from "./_rng.ts";
 * const rng = new Mulberry32(42);
 * const i = rng.int(10);
 * console.assert(Number.isInteger(i) && i >= 0 && i < 10);
 * ```
 */
export class Mulberry32 {
  /** Uniform float in [0, 1); a plain function, so it can be handed on as `() => number`. */
  readonly next: () => number;
  /** Standard normal draw (see {@link gaussian}); a plain function like `next`. */
  readonly normal: () => number;

  /** @param seed taken as an unsigned 32-bit integer. */
  constructor(seed: number) {
    this.next = mulberry32(seed);
    this.normal = gaussian(this.next);
  }

  /** Uniform integer in [0, n): `floor(next() * n)`. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
