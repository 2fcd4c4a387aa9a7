/**
 * The descriptor rows of the loop stage's session map: float32, or int8 with a per-row scale (a quarter of the
 * memory), growable and thinnable in place.
 *
 * @module
 */
import { invalid } from "../errors.ts";

/**
 * Rows of descriptors: float32, or int8 with a per-row scale (`quantised`). Rows can be dropped (`keepOnly`).
 * Capacity doubles when full; with a `cap`, from 512 rows on it grows to `cap` at once.
 */
export class Rows {
  dim = 0;
  count = 0;
  #f32 = new Float32Array(0);
  #i8 = new Int8Array(0);
  #scale = new Float32Array(0);
  constructor(readonly quantised: boolean, readonly cap = Infinity) {}

  add(v: Float32Array): void {
    if (this.dim === 0) this.dim = v.length;
    if (v.length !== this.dim) {
      throw invalid("add keyframe", "descriptor", `a vector of length ${this.dim}`, v.length);
    }
    const dim = this.dim;
    const have = this.quantised ? this.#scale.length : this.#f32.length / dim;
    if (this.count + 1 > have) {
      // Past 512 rows a finite cap is allocated at once: doubling 2048 -> 4096 -> cap would copy the whole
      // buffer twice, each time within one keyframe; untouched rows cost no memory.
      const rows = Math.min(
        this.cap,
        have >= 512 && this.cap !== Infinity ? this.cap : Math.max(64, have * 2),
      );
      if (this.quantised) {
        const i8 = new Int8Array(rows * dim), sc = new Float32Array(rows);
        i8.set(this.#i8.subarray(0, this.count * dim));
        sc.set(this.#scale.subarray(0, this.count));
        this.#i8 = i8;
        this.#scale = sc;
      } else {
        const f = new Float32Array(rows * dim);
        f.set(this.#f32.subarray(0, this.count * dim));
        this.#f32 = f;
      }
    }
    const o = this.count * dim;
    if (this.quantised) {
      let m = 0;
      for (let i = 0; i < dim; i++) m = Math.max(m, Math.abs(v[i]));
      const sc = m > 0 ? m / 127 : 1;
      const inv = 1 / sc;
      for (let i = 0; i < dim; i++) this.#i8[o + i] = Math.round(v[i] * inv);
      this.#scale[this.count] = sc;
    } else {
      this.#f32.set(v, o);
    }
    this.count++;
  }

  /** Row `r` (float32 rows only; a view, valid until the next `add`). */
  row(r: number): Float32Array {
    return this.#f32.subarray(r * this.dim, (r + 1) * this.dim);
  }

  /** Inner product of `q` with row `r`. */
  dot(q: Float32Array, r: number): number {
    const dim = this.dim, o = r * dim;
    let d = 0;
    if (this.quantised) {
      const a = this.#i8;
      for (let i = 0; i < dim; i++) d += q[i] * a[o + i];
      return d * this.#scale[r];
    }
    return dotRow(q, this.#f32, o);
  }

  /** Keep the rows whose `keep(r)` is true, in order. */
  keepOnly(keep: (r: number) => boolean): void {
    const dim = this.dim;
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      if (!keep(r)) continue;
      if (w !== r) {
        if (this.quantised) {
          this.#i8.copyWithin(w * dim, r * dim, (r + 1) * dim);
          this.#scale[w] = this.#scale[r];
        } else this.#f32.copyWithin(w * dim, r * dim, (r + 1) * dim);
      }
      w++;
    }
    this.count = w;
  }
}

/** Inner product of `q` with the row of `a` starting at `o` (one accumulator, in order). */
export function dotRow(q: Float32Array, a: Float32Array, o: number): number {
  let d = 0;
  for (let i = 0; i < q.length; i++) d += q[i] * a[o + i];
  return d;
}
