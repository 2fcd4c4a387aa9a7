/**
 * SeqSLAM-like sequence matching, the baseline the place filter is measured against: for the current frame,
 * score every end place j by the sum of contrast-enhanced similarities along straight lines (one per
 * velocity) through the last `length` frames' similarity rows, and answer the best end place.
 * Pure kernel (no RxJS, no IO); needs the full similarity row of every frame (O(N) memory per frame kept).
 *
 * @module
 */
import { invalid } from "../errors.ts";

/** Options of a {@link SequenceMatcher}. */
export interface SequenceMatcherOptions {
  /** Number of places N in the map (required). */
  placeCount: number;
  /** Frames in the matched sequence (the current one included). Default 20. */
  length?: number;
  /** Map places advanced per frame along the candidate lines. Default [1] (the diagonal). */
  velocities?: number[];
  /** Half-width (places) of SeqSLAM's local contrast enhancement of each row; 0 disables. Default 10. */
  contrastWindow?: number;
}

/** The answer of the sequence matcher for one frame. */
export interface SequenceMatch {
  placeIndex: number;
  /** Mean enhanced similarity along the best line. */
  score: number;
  /** Frames the line used (fewer than `length` at the start). */
  frames: number;
}

/**
 * Online diagonal sequence matcher over full similarity rows (SeqSLAM without the image pre-processing).
 *
 * @example
 * ```ts
 * import { SequenceMatcher } from "./seq_match.ts";
 * const m = new SequenceMatcher({ placeCount: 3, length: 2, contrastWindow: 0 });
 * m.push(new Float32Array([0.9, 0.1, 0.1]));
 * m.push(new Float32Array([0.1, 0.9, 0.1])).placeIndex; // 1
 * ```
 */
export class SequenceMatcher {
  readonly placeCount: number;
  readonly length: number;
  readonly velocities: number[];
  readonly contrastWindow: number;
  #rows: Float32Array[] = [];

  constructor(options: SequenceMatcherOptions) {
    const a = "create sequence matcher";
    const n = options.placeCount;
    if (!Number.isInteger(n) || n < 1) throw invalid(a, "placeCount", "a positive integer", n);
    this.placeCount = n;
    const len = options.length ?? 20;
    if (!Number.isInteger(len) || len < 1) throw invalid(a, "length", "a positive integer", len);
    this.length = len;
    const v = options.velocities ?? [1];
    if (!Array.isArray(v) || v.length === 0 || v.some((x) => !Number.isFinite(x) || x < 0)) {
      throw invalid(a, "velocities", "a non-empty array of non-negative numbers", v);
    }
    this.velocities = v;
    const w = options.contrastWindow ?? 10;
    if (!Number.isInteger(w) || w < 0) throw invalid(a, "contrastWindow", "a non-negative integer", w);
    this.contrastWindow = w;
  }

  /** Forget the frames seen so far. */
  reset(): void {
    this.#rows = [];
  }

  /** Add the current frame's similarity to every place (length N) and match the sequence ending here. */
  push(similarities: ArrayLike<number>): SequenceMatch {
    const n = this.placeCount;
    if (similarities.length !== n) {
      throw invalid("match sequence", "similarities", `a row of ${n} similarities`, similarities.length);
    }
    this.#rows.push(enhance(similarities, this.contrastWindow));
    if (this.#rows.length > this.length) this.#rows.shift();
    const rows = this.#rows;
    const last = rows.length - 1;
    let best = 0, bestScore = -Infinity, bestFrames = 1;
    for (let j = 0; j < n; j++) {
      for (const v of this.velocities) {
        let sum = 0, cnt = 0;
        for (let l = 0; l <= last; l++) {
          const p = j - Math.round(v * l);
          if (p < 0) break;
          sum += rows[last - l][p];
          cnt++;
        }
        const score = sum / cnt;
        if (score > bestScore) {
          bestScore = score;
          best = j;
          bestFrames = cnt;
        }
      }
    }
    return { placeIndex: best, score: bestScore, frames: bestFrames };
  }
}

/** SeqSLAM local contrast enhancement: (s - local mean) / local std over a window of places. */
function enhance(s: ArrayLike<number>, w: number): Float32Array {
  const n = s.length;
  const out = new Float32Array(n);
  if (w === 0) {
    for (let i = 0; i < n; i++) out[i] = s[i];
    return out;
  }
  const c1 = new Float64Array(n + 1), c2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    c1[i + 1] = c1[i] + s[i];
    c2[i + 1] = c2[i] + s[i] * s[i];
  }
  for (let i = 0; i < n; i++) {
    const lo = Math.max(0, i - w), hi = Math.min(n, i + w + 1);
    const m = hi - lo;
    const mean = (c1[hi] - c1[lo]) / m;
    const sd = Math.sqrt(Math.max(0, (c2[hi] - c2[lo]) / m - mean * mean));
    out[i] = (s[i] - mean) / Math.max(sd, 1e-6);
  }
  return out;
}
