/**
 * The loop stage's recent window once its dense rows are released: the newest rows by ordinal, in a ring.
 *
 * @module
 */
import { dotRow } from "./descriptor_rows.ts";

/** The `size` newest rows by ordinal (the recent window once the dense rows are released). */
export class RecentRing {
  #data = new Float32Array(0);
  #ordinals: number[] = [];
  #next = 0;
  constructor(readonly size: number) {}

  push(ordinal: number, v: Float32Array): void {
    if (this.size === 0) return;
    if (this.#data.length === 0) this.#data = new Float32Array(this.size * v.length);
    const slot = this.#next++ % this.size;
    this.#data.set(v, slot * v.length);
    this.#ordinals[slot] = ordinal;
  }

  /** Similarities of `q` to the held rows with ordinal >= `from`, oldest first. */
  dotsFrom(q: Float32Array, from: number): number[] {
    const n = Math.min(this.#next, this.size), out: number[] = [];
    for (let i = this.#next - n; i < this.#next; i++) {
      const slot = i % this.size;
      if (this.#ordinals[slot] >= from) out.push(dotRow(q, this.#data, slot * q.length));
    }
    return out;
  }
}
