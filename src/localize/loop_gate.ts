/**
 * How geometric verification gates a loop-closure hypothesis (pure kernel, shared by the live pipeline and
 * `eval loops --verify`):
 *
 * - verified (`ok`, at least `minInliers` inliers): accepted; the confidence rises with the inliers,
 *   `1 - (1 - c) * exp(-inliers / inlierScale)`: a geometric check is independent evidence on top of the
 *   sequence detector's;
 * - rejected (verifiable, too few inliers or matches): dropped; in look-alike corridors this removes the
 *   aliasing matches that a consistent sequence of look-alikes would otherwise confirm;
 * - unverifiable (a side with too few keypoints, a textureless or overexposed frame, a keyframe the verifier
 *   no longer holds: `reason` starts with {@link UNVERIFIABLE}): the geometry says nothing either way, so the
 *   detector's decision and confidence stand (the event carries no `inliers`).
 *
 * @module
 */
import { invalid } from "../errors.ts";
import type { VerificationResult } from "../types.ts";

/**
 * RANSAC inliers of a verified loop (and of a confirmed place) in the pipeline: the one default of the loop gate,
 * the pipeline's verifier (`ok`), `eval loops`/`eval stream` and the CLI's `--min-inliers`. Chosen on the
 * pipeline's own loop events (shared rtabmap sequence and a simulated building) so that every true rtabmap
 * event stays while nearly all false simulated events are dropped; the gate counts inliers because the score
 * separates true from false pairs no better. The pair verifier's own default (150, `src/verify/verifier.ts`) is
 * set for unfiltered retrieval candidates; loop events have already passed the sequence detector, and 150 would
 * drop true ones. The measurements are in the README ("Measured", where the defaults come from).
 */
export const DEFAULT_MIN_INLIERS = 120;

/** Prefix of `VerificationResult.reason` when verification was impossible (not a rejection). */
export const UNVERIFIABLE = "unverifiable:";

/** Options of {@link gateLoop}. */
export interface LoopGateOptions {
  /** Inliers for a verified loop. Default {@link DEFAULT_MIN_INLIERS} (120). */
  minInliers?: number;
  /**
   * Inliers that close 63% of the remaining doubt of the detector's confidence. Default 125 (50 before the
   * keypoint-first front end, scaled with its ~2.5x inlier counts).
   */
  inlierScale?: number;
}

/** The gate's decision. */
export interface LoopGateDecision {
  accept: boolean;
  /** True when geometry confirmed the loop. */
  verified: boolean;
  /** Confidence of the event when accepted. */
  confidence: number;
}

/** True when the result says verification could not be done (see {@link UNVERIFIABLE}). */
export function isUnverifiable(result: VerificationResult): boolean {
  return !result.ok && (result.reason?.startsWith(UNVERIFIABLE) ?? false);
}

/**
 * Gate one hypothesis of detector confidence `confidence` on its verification result (see the module doc).
 *
 * @example
 * ```ts
 * import { gateLoop, UNVERIFIABLE } from "./loop_gate.ts";
 * const ok = gateLoop(0.6, { ok: true, inliers: 300, matches: 450, score: 300 });
 * console.assert(ok.accept && ok.verified && ok.confidence > 0.9);
 * const no = gateLoop(0.6, { ok: false, inliers: 40, matches: 300, score: 40, reason: "too few inliers" });
 * console.assert(!no.accept);
 * const blank = gateLoop(0.6, { ok: false, inliers: 0, matches: 0, score: 0, reason: `${UNVERIFIABLE} blank` });
 * console.assert(blank.accept && !blank.verified && blank.confidence === 0.6);
 * ```
 */
export function gateLoop(
  confidence: number,
  result: VerificationResult | undefined,
  options: LoopGateOptions = {},
): LoopGateDecision {
  const minInliers = options.minInliers ?? DEFAULT_MIN_INLIERS;
  const scale = options.inlierScale ?? 125;
  if (!(minInliers >= 0)) throw invalid("gate a loop closure", "minInliers", "a number >= 0", minInliers);
  if (!(scale > 0)) throw invalid("gate a loop closure", "inlierScale", "a positive number", scale);
  if (!result) return { accept: false, verified: false, confidence };
  if (result.ok && result.inliers >= minInliers) {
    return {
      accept: true,
      verified: true,
      confidence: 1 - (1 - confidence) * Math.exp(-result.inliers / scale),
    };
  }
  if (isUnverifiable(result)) return { accept: true, verified: false, confidence };
  return { accept: false, verified: false, confidence };
}
