/**
 * A fixed-capacity min-heap keeping the k best (score, id) pairs seen, for top-k selection in one pass.
 * Ties on score are broken by the smaller id (deterministic results).
 *
 * @module
 */

import type { SearchHit } from "./vector_index.ts";

/** Keeps the `k` highest-scoring ids offered to it. */
export class TopK {
  /** Capacity (the k). */
  readonly k: number;
  private readonly scores: Float64Array;
  private readonly ids: Float64Array;
  private count = 0;

  constructor(k: number) {
    this.k = k;
    this.scores = new Float64Array(Math.max(1, k));
    this.ids = new Float64Array(Math.max(1, k));
  }

  /** Number of entries held. */
  get size(): number {
    return this.count;
  }

  /** True when full: a new entry must beat `threshold` to enter. */
  get full(): boolean {
    return this.count >= this.k;
  }

  /** The worst score held (the entry bar once full); -Infinity while not full. */
  get threshold(): number {
    return this.count >= this.k ? this.scores[0] : -Infinity;
  }

  /** Forget all entries. */
  clear(): void {
    this.count = 0;
  }

  /** True when (score, id) would enter the heap now. */
  accepts(score: number, id: number): boolean {
    if (this.k === 0) return false;
    if (this.count < this.k) return true;
    const s0 = this.scores[0];
    return score > s0 || (score === s0 && id < this.ids[0]);
  }

  /** Offer an entry; kept when among the k best so far. */
  push(score: number, id: number): void {
    if (!this.accepts(score, id)) return;
    const scores = this.scores, ids = this.ids;
    if (this.count < this.k) {
      // Sift up from the end.
      let i = this.count++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(score, id, scores[p], ids[p])) break;
        scores[i] = scores[p];
        ids[i] = ids[p];
        i = p;
      }
      scores[i] = score;
      ids[i] = id;
      return;
    }
    // Replace the root and sift down.
    const n = this.count;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && worse(scores[r], ids[r], scores[l], ids[l])) c = r;
      if (!worse(scores[c], ids[c], score, id)) break;
      scores[i] = scores[c];
      ids[i] = ids[c];
      i = c;
    }
    scores[i] = score;
    ids[i] = id;
  }

  /** The held entries, best first (the heap is left unchanged). */
  sorted(): SearchHit[] {
    const out: SearchHit[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = { id: this.ids[i], similarity: this.scores[i] };
    out.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
    return out;
  }
}

/** True when (s1, id1) ranks below (s2, id2). */
function worse(s1: number, id1: number, s2: number, id2: number): boolean {
  return s1 < s2 || (s1 === s2 && id1 > id2);
}
