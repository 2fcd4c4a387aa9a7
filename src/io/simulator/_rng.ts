/**
 * Seeded randomness for the simulator: a small PRNG, integer hashes and value noise. Everything is a pure
 * function of its seed so that renders are bit-for-bit reproducible.
 * @module
 */
import { mulberry32 } from "../../_rng.ts";

/** Mix a 32-bit integer (lowbias32 by C. Wellons): a good avalanche for lattice hashing. */
export function hash32(x: number): number {
  x = x >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of two integers and a seed, as a float in [0, 1). */
export function hash2(ix: number, iy: number, seed: number): number {
  return hash32(Math.imul(ix | 0, 0x27d4eb2d) ^ hash32(Math.imul(iy | 0, 0x165667b1) ^ seed)) / 4294967296;
}

/**
 * The simulator's seeded generator: the project's mulberry32 (`src/_rng.ts`), seeded through {@link hash32} so
 * that nearby seeds give unrelated streams, with range, integer, choice and normal draws.
 *
 * The normal draw is not `gaussian` of `src/_rng.ts` on purpose: it takes `u = next()` (redrawn below 1e-12)
 * where that one takes `u = 1 - next()`, and every render, simulated dataset and the shipped generic
 * vocabulary (`scripts/model_build_generic.ts`, rebuilt byte for byte) are functions of these exact draws.
 */
export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  #spare: number | null = null;
  constructor(seed: number) {
    this.next = mulberry32(hash32(seed ^ 0x9e3779b9));
  }
  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** Standard normal draw (Box-Muller, both branches: the cosine one, then the sine one on the next call). */
  gauss(): number {
    if (this.#spare !== null) {
      const s = this.#spare;
      this.#spare = null;
      return s;
    }
    let u = this.next();
    while (u <= 1e-12) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/** 2D value noise in [0, 1) with smoothstep interpolation; lattice spacing 1. */
export function valueNoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x), iy = Math.floor(y);
  const fx = smooth(x - ix), fy = smooth(y - iy);
  const a = hash2(ix, iy, seed), b = hash2(ix + 1, iy, seed);
  const c = hash2(ix, iy + 1, seed), d = hash2(ix + 1, iy + 1, seed);
  const top = a + (b - a) * fx, bottom = c + (d - c) * fx;
  return top + (bottom - top) * fy;
}

/** Fractal (fBm) value noise in about [0, 1): `octaves` octaves, each twice the frequency at half weight. */
export function fbm(x: number, y: number, seed: number, octaves = 3): number {
  let sum = 0, amp = 0.5, norm = 0, f = 1;
  for (let o = 0; o < octaves; o++) {
    sum += amp * valueNoise(x * f, y * f, seed + o * 1013);
    norm += amp;
    amp *= 0.5;
    f *= 2;
  }
  return sum / norm;
}
