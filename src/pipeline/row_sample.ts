/**
 * The loop stage's background sample once its dense rows are released: a systematic sample of the session's
 * rows, for the mean and spread of a keyframe's similarities to every eligible keyframe.
 *
 * @module
 */
import { dotRow } from "./descriptor_rows.ts";

/**
 * A systematic sample of the rows: those whose ordinal is a multiple of `stride`, the stride doubling (and
 * every second sampled row dropped) whenever more than `cap` are held, so `cap / 2` to `cap` rows spread
 * evenly over the whole session (all of them while the session has at most `cap`).
 */
export class RowSample {
  stride = 1;
  #rows = new Map<number, Float32Array>();
  constructor(readonly cap: number) {}

  add(ordinal: number, v: Float32Array): void {
    if (ordinal % this.stride !== 0) return;
    this.#rows.set(ordinal, v.slice());
    if (this.#rows.size > this.cap) {
      this.stride *= 2;
      for (const o of [...this.#rows.keys()]) if (o % this.stride !== 0) this.#rows.delete(o);
    }
  }

  /** Mean and standard deviation of `q`'s similarities to the sampled rows with ordinal below `bound`. */
  background(q: Float32Array, bound: number): { mean: number; std: number } | undefined {
    let m = 0, s1 = 0, s2 = 0;
    for (const [o, v] of this.#rows) {
      if (o >= bound) continue;
      const d = dotRow(q, v, 0);
      s1 += d;
      s2 += d * d;
      m++;
    }
    if (m === 0) return undefined;
    const mean = s1 / m;
    return { mean, std: Math.sqrt(Math.max(0, s2 / m - mean * mean)) };
  }
}
