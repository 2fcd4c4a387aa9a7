/**
 * A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) whose state can be saved in
 * a checkpoint and restored, so that a resumed training run draws exactly the same numbers. It is not the
 * mulberry32 of `src/_rng.ts` (32-bit state) on purpose: its 128-bit state is what checkpoints store; it shares
 * only the Box-Muller step.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { boxMuller } from "../_rng.ts";

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Seeded PRNG with serialisable state.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(42);
 * a.next();
 * const b = Rng.fromState(a.state());
 * console.assert(a.next() === b.next());
 * ```
 */
export class Rng {
  #s: Uint32Array;

  /** @param seed any integer (default 0). */
  constructor(seed = 0) {
    if (!Number.isFinite(seed)) throw invalid("create a random generator", "seed", "a finite number", seed);
    const sm = splitmix32(Math.trunc(seed));
    this.#s = new Uint32Array([sm(), sm(), sm(), sm()]);
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** Restore a generator from {@linkcode Rng.state}. */
  static fromState(state: number[]): Rng {
    if (!Array.isArray(state) || state.length !== 4 || state.some((v) => !Number.isInteger(v))) {
      throw invalid("restore a random generator", "state", "4 unsigned 32-bit integers", state);
    }
    const r = new Rng(0);
    r.#s = Uint32Array.from(state);
    return r;
  }

  /** The current state (4 uint32), JSON-serialisable. */
  state(): number[] {
    return Array.from(this.#s);
  }

  /** Next uint32. */
  nextU32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    return boxMuller(1 - this.next(), this.next());
  }

  /** Shuffle in place (Fisher-Yates) and return the array. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** Up to `k` distinct elements of `a`, uniformly (partial Fisher-Yates on a copy). */
  sample<T>(a: readonly T[], k: number): T[] {
    const c = a.slice();
    const n = Math.min(k, c.length);
    for (let i = 0; i < n; i++) {
      const j = i + this.int(c.length - i);
      const t = c[i];
      c[i] = c[j];
      c[j] = t;
    }
    return c.slice(0, n);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
