/**
 * The verification hook: how geometric verification (DELF local features + RANSAC, `src/verify/`) plugs into
 * the pipeline without ever slowing the fast path.
 *
 * Contract:
 * - For each keyframe the pipeline calls `verify(query, candidates)` WITHOUT awaiting it on the fast path: the
 *   estimate of that frame is emitted at once. At most one verification runs at a time; while it runs, only the
 *   newest request waits (older waiting requests are dropped and counted): latest-wins, bounded.
 * - Candidates are the top `verifyTopK` places of the prior map (`space: "map"`) and the match of a pending
 *   loop-closure hypothesis (`space: "map"` for prior places, `"session"` for keyframes of this run).
 * - The returned `VerificationEvent` is emitted on `events$`, folded into the place filter (a candidate with
 *   `ok && inliers >= minInliers` raises the belief around it, a failed one lowers it), and gates loop closures:
 *   a pending loop hypothesis becomes a `LoopClosureEvent` (with `inliers` and `transform`) only when its match
 *   passes.
 * - `remember(keyframe)` (optional) is called for every keyframe of the run, without awaiting, so that the
 *   verifier can keep what it needs (e.g. local features) of session keyframes that later loop candidates name.
 * - A rejected promise is reported as an `ErrorEvent` (the pipeline continues; the loop stays unverified).
 *
 * @module
 */
import type { DenseLocalFeatures, PixelImage, VerificationEvent } from "../types.ts";

/** The keyframe to verify. */
export interface VerificationQuery {
  seq: number;
  stamp: number;
  /** Place id this keyframe got in the session map (when loop detection runs). */
  placeId?: number;
  /** Decoded pixels (the model's input channels). */
  pixels: PixelImage;
  /** Dense local features from the model, when it exposes them. */
  local?: DenseLocalFeatures;
  /** Source description (file path, topic). */
  image?: string;
}

/** One candidate to verify against the query. */
export interface VerificationCandidate {
  placeId: number;
  /** `map`: a place of the prior map; `session`: a keyframe of this run (see `remember`). */
  space: "map" | "session";
  similarity: number;
  image?: string;
}

/** The verifier the pipeline calls (see the module doc for the contract). */
export interface Verifier {
  verify(query: VerificationQuery, candidates: VerificationCandidate[]): Promise<VerificationEvent>;
  remember?(keyframe: VerificationQuery & { placeId: number }): void | Promise<void>;
}
