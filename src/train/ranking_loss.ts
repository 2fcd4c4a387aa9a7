/**
 * NetVLAD's weakly supervised triplet ranking loss (Arandjelovic et al., CVPR 2016, eq. 7):
 *
 *   L = sum_j max(0, min_i d^2(q, p_i) + m - d^2(q, n_j))
 *
 * where d^2 is the squared Euclidean distance, the best positive p* = argmin_i d^2(q, p_i) is chosen by the
 * current descriptors (weak supervision: only "somewhere near" is known), and m is the margin (0.1).
 *
 * Pure kernel over typed arrays; gradients are analytic.
 *
 * @module
 */
import { invalid } from "../errors.ts";

/** A float vector (descriptor). */
export type Vec = Float32Array | Float64Array | number[];

/** Result of {@linkcode rankingLoss}. */
export interface RankingLossResult {
  /** The loss value (>= 0). */
  loss: number;
  /** Index of the best (closest) positive. */
  bestPositive: number;
  /** Squared distance from q to the best positive. */
  positiveDist2: number;
  /** Squared distance from q to each negative. */
  negativeDist2: Float64Array;
  /** Per-negative hinge value max(0, d2p + m - d2n_j). */
  hinge: Float64Array;
  /** Number of negatives with a positive hinge (that contribute a gradient). */
  violations: number;
}

/** Gradients of the ranking loss (present when requested). */
export interface RankingLossGradients extends RankingLossResult {
  /** dL/dq. */
  dq: Float64Array;
  /** dL/dp* (the best positive; other positives get zero). */
  dp: Float64Array;
  /** dL/dn_j, one per negative (zero vectors for negatives with no violation). */
  dn: Float64Array[];
}

function dist2(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

function checkInputs(q: Vec, positives: Vec[], negatives: Vec[], margin: number): void {
  if (positives.length === 0) throw invalid("compute ranking loss", "positives", "a non-empty list", 0);
  if (!Number.isFinite(margin) || margin < 0) {
    throw invalid("compute ranking loss", "margin", "a finite number >= 0", margin);
  }
  for (const v of positives) {
    if (v.length !== q.length) {
      throw invalid("compute ranking loss", "positives[i].length", `${q.length}`, v.length);
    }
  }
  for (const v of negatives) {
    if (v.length !== q.length) {
      throw invalid("compute ranking loss", "negatives[j].length", `${q.length}`, v.length);
    }
  }
}

/**
 * The ranking loss value for one training tuple.
 *
 * @param q query descriptor
 * @param positives potential positives (at least one)
 * @param negatives negatives (may be empty: the loss is then 0)
 * @param margin m, default 0.1
 *
 * @example
 * ```ts
 * import { rankingLoss } from "./ranking_loss.ts";
 * const r = rankingLoss([0, 0], [[1, 0], [0.1, 0]], [[0.2, 0]], 0.1);
 * console.assert(r.bestPositive === 1 && Math.abs(r.loss - (0.01 + 0.1 - 0.04)) < 1e-12);
 * ```
 */
export function rankingLoss(q: Vec, positives: Vec[], negatives: Vec[], margin = 0.1): RankingLossResult {
  checkInputs(q, positives, negatives, margin);
  let best = 0;
  let d2p = Infinity;
  for (let i = 0; i < positives.length; i++) {
    const d = dist2(q, positives[i]);
    if (d < d2p) {
      d2p = d;
      best = i;
    }
  }
  const negativeDist2 = new Float64Array(negatives.length);
  const hinge = new Float64Array(negatives.length);
  let loss = 0;
  let violations = 0;
  for (let j = 0; j < negatives.length; j++) {
    const d2n = dist2(q, negatives[j]);
    negativeDist2[j] = d2n;
    const h = d2p + margin - d2n;
    if (h > 0) {
      hinge[j] = h;
      loss += h;
      violations++;
    }
  }
  return { loss, bestPositive: best, positiveDist2: d2p, negativeDist2, hinge, violations };
}

/**
 * The ranking loss and its gradients with respect to q, the best positive p* and each negative n_j.
 *
 * With V = the set of violating negatives (hinge > 0):
 * dL/dq = sum_{j in V} 2 (n_j - p*), dL/dp* = |V| * 2 (p* - q), dL/dn_j = 2 (q - n_j) for j in V.
 * (At exact ties of the hinge or of the best positive the subgradient of the chosen branch is used.)
 *
 * @example
 * ```ts
 * import { rankingLossWithGradients } from "./ranking_loss.ts";
 * const g = rankingLossWithGradients([0, 0], [[0.1, 0]], [[0.2, 0]], 0.1);
 * console.assert(Math.abs(g.dq[0] - 2 * (0.2 - 0.1)) < 1e-12);
 * ```
 */
export function rankingLossWithGradients(
  q: Vec,
  positives: Vec[],
  negatives: Vec[],
  margin = 0.1,
): RankingLossGradients {
  const r = rankingLoss(q, positives, negatives, margin);
  const D = q.length;
  const p = positives[r.bestPositive];
  const dq = new Float64Array(D);
  const dp = new Float64Array(D);
  const dn: Float64Array[] = [];
  for (let j = 0; j < negatives.length; j++) {
    const g = new Float64Array(D);
    if (r.hinge[j] > 0) {
      const n = negatives[j];
      for (let i = 0; i < D; i++) {
        dq[i] += 2 * (n[i] - p[i]);
        dp[i] += 2 * (p[i] - q[i]);
        g[i] = 2 * (q[i] - n[i]);
      }
    }
    dn.push(g);
  }
  return { ...r, dq, dp, dn };
}
