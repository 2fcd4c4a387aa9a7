/**
 * What the pipeline asks the verifier about a keyframe: the query (pixels, local features, session place id)
 * and the candidates, the top map places of the search followed by the match of a pending loop hypothesis.
 *
 * @module
 */
import type { FrameWork } from "./frame_work.ts";
import type { VerificationCandidate, VerificationQuery } from "./verification_hook.ts";
import type { VerificationRequest } from "./verification_runner.ts";

/** Where the candidates' details come from. */
export interface VerificationRequestContext {
  /** Map candidates per keyframe. */
  topK: number;
  /** Image of a map place, when it has one. */
  placeImage: (placeId: number) => string | undefined;
  /** `placeId` is a place of the prior map (else a keyframe of this run). */
  isMapPlace: (placeId: number) => boolean;
}

/**
 * The verification request of a keyframe; undefined when it has no decoded pixels. Its candidates may be empty
 * (nothing to verify).
 */
export function verificationRequest(
  work: FrameWork,
  context: VerificationRequestContext,
): VerificationRequest | undefined {
  if (!work.pixels) return undefined;
  const query: VerificationQuery = { seq: work.frame.seq, stamp: work.frame.stamp, pixels: work.pixels };
  if (work.sessionPlaceId !== undefined) query.placeId = work.sessionPlaceId;
  if (work.descriptor?.local) query.local = work.descriptor.local;
  if (work.frame.source !== undefined) query.image = work.frame.source;
  const candidates: VerificationCandidate[] = (work.hypotheses ?? []).slice(0, context.topK).map((h) => {
    const c: VerificationCandidate = { placeId: h.placeId, space: "map", similarity: h.similarity };
    const image = context.placeImage(h.placeId);
    if (image !== undefined) c.image = image;
    return c;
  });
  const pl = work.loopPending;
  if (pl && !candidates.some((c) => c.placeId === pl.match.placeId)) {
    const c: VerificationCandidate = {
      placeId: pl.match.placeId,
      space: context.isMapPlace(pl.match.placeId) ? "map" : "session",
      similarity: pl.score,
    };
    if (pl.match.image !== undefined) c.image = pl.match.image;
    candidates.push(c);
  }
  return { query, candidates };
}
