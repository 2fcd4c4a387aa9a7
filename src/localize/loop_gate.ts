/**
 * How geometric verification gates a loop-closure hypothesis (pure kernel, shared by the live pipeline and
 * `eval loops`), and the operating point of the emitted loops:
 *
 * - verified (`ok`: the verifier's inlier test, at least `minInliers` here too): the confidence rises with the
 *   inliers, `1 - (1 - c) * exp(-inliers / inlierScale)` (a geometric check is independent evidence on top of
 *   the sequence detector's), and the loop is emitted when that reaches `minConfidence`
 *   ({@link DEFAULT_MIN_CONFIDENCE}): a look-alike that collects a fair number of inliers on a short track of
 *   the detector stays below it;
 * - rejected (verifiable, too few inliers or matches): dropped; in look-alike corridors this removes the
 *   aliasing matches that a consistent sequence of look-alikes would otherwise confirm;
 * - unverifiable (a side with too few keypoints, a textureless or overexposed frame, a keyframe the verifier
 *   no longer holds: `reason` starts with {@link UNVERIFIABLE}): not emitted by default (a loop that nothing
 *   confirmed must not reach a SLAM back end); with `keepUnverifiable` the detector's word stands as for a run
 *   without verification ({@link acceptUnverified}).
 *
 * Without a verifier, a hypothesis is emitted when its detector confidence reaches `unverifiedMinConfidence`
 * ({@link DEFAULT_UNVERIFIED_MIN_CONFIDENCE}): the detector's confidence grows with the evidence and with the
 * distance in the map over which the matches advanced together, and only long consistent tracks reach it.
 * Raising either threshold trades recall for precision.
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

/**
 * Confidence a verified loop needs to be emitted (after the inlier boost). Set on every loop row at once (the
 * shared set at its native size and at 160x120, its night-like revisits, the aliased real and simulated sequences
 * of `src/eval/aliased_loops.ts`): above every false loop seen there, below most true ones.
 */
export const DEFAULT_MIN_CONFIDENCE = 0.58;

/** Detector confidence an unverified loop needs to be emitted (runs without a verifier; see the module doc). */
export const DEFAULT_UNVERIFIED_MIN_CONFIDENCE = 0.3;

/** Prefix of `VerificationResult.reason` when verification was impossible (not a rejection). */
export const UNVERIFIABLE = "unverifiable:";

/** Options of {@link gateLoop}. */
export interface LoopGateOptions {
  /** Inliers for a verified loop on top of the verifier's own `ok` (which scales its count with the image).
   * Default 0. */
  minInliers?: number;
  /** Confidence a verified loop needs. Default {@link DEFAULT_MIN_CONFIDENCE}. */
  minConfidence?: number;
  /** Emit loops that cannot be verified on the detector's word. Default false. */
  keepUnverifiable?: boolean;
  /** With `keepUnverifiable`: their detector confidence needed. Default {@link DEFAULT_UNVERIFIED_MIN_CONFIDENCE}. */
  unverifiedMinConfidence?: number;
  /**
   * Inliers that close 63% of the remaining doubt of the detector's confidence. Default 250: a look-alike on a
   * short track can collect the inliers of the verifier's test (120) and more, so geometry alone must not
   * carry a weak track over `minConfidence`; the detector's evidence and span keep their weight.
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
 * console.assert(ok.accept && ok.verified && ok.confidence > 0.85);
 * const no = gateLoop(0.6, { ok: false, inliers: 40, matches: 300, score: 40, reason: "too few inliers" });
 * console.assert(!no.accept);
 * const blank = { ok: false, inliers: 0, matches: 0, score: 0, reason: `${UNVERIFIABLE} blank` };
 * console.assert(!gateLoop(0.6, blank).accept); // not emitted by default
 * console.assert(gateLoop(0.6, blank, { keepUnverifiable: true }).accept);
 * ```
 */
export function gateLoop(
  confidence: number,
  result: VerificationResult | undefined,
  options: LoopGateOptions = {},
): LoopGateDecision {
  const minInliers = options.minInliers ?? 0;
  const scale = options.inlierScale ?? 250;
  const minConfidence = options.minConfidence ?? DEFAULT_MIN_CONFIDENCE;
  const a = "gate a loop closure";
  if (!(minInliers >= 0)) throw invalid(a, "minInliers", "a number >= 0", minInliers);
  if (!(scale > 0)) throw invalid(a, "inlierScale", "a positive number", scale);
  if (!(minConfidence >= 0 && minConfidence <= 1)) {
    throw invalid(a, "minConfidence", "a number in [0, 1]", minConfidence);
  }
  if (!result) return { accept: false, verified: false, confidence };
  if (result.ok && result.inliers >= minInliers) {
    const boosted = 1 - (1 - confidence) * Math.exp(-result.inliers / scale);
    return { accept: boosted >= minConfidence, verified: true, confidence: boosted };
  }
  if (isUnverifiable(result) && options.keepUnverifiable) {
    return { accept: acceptUnverified(confidence, options), verified: false, confidence };
  }
  return { accept: false, verified: false, confidence };
}

/**
 * Whether a loop hypothesis with no geometric check (no verifier, or `keepUnverifiable`) is emitted: its
 * detector confidence reaches `unverifiedMinConfidence` (default {@link DEFAULT_UNVERIFIED_MIN_CONFIDENCE}).
 */
export function acceptUnverified(
  confidence: number,
  options: { unverifiedMinConfidence?: number } = {},
): boolean {
  const min = options.unverifiedMinConfidence ?? DEFAULT_UNVERIFIED_MIN_CONFIDENCE;
  if (!(min >= 0 && min <= 1)) {
    throw invalid("gate a loop closure", "unverifiedMinConfidence", "a number in [0, 1]", min);
  }
  return confidence >= min;
}
