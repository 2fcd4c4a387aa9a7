/**
 * Filter stage: folds each keyframe's similarities into the temporal place filter (`PlaceFilter`): the whole
 * row when the search stage compared the keyframe with every place (`work.similarities`), else its top-k
 * hypotheses with the background, and
 * writes the smoothed `LocationEstimate`; a non-keyframe gets the last estimate restamped, a frame without
 * content (`work.skipped`) a `lost` estimate with the reason (the filter only predicts). Asynchronous
 * verification results (the pipeline's verification hook) update the filter of the same subscription.
 *
 * @module
 */
import { map, Observable, type OperatorFunction } from "rxjs";
import type { LocationEstimate, PlaceMeta, VerificationEvent } from "../types.ts";
import { blindPlacesOf, PlaceFilter, type PlaceFilterOptions } from "../localize/place_filter.ts";
import { DEFAULT_MIN_INLIERS } from "../localize/loop_gate.ts";
import type { FrameWork } from "./frame_work.ts";

/** Options of {@link filterStage}. */
export interface FilterStageOptions {
  /** Options of the place filter (placeCount is the map's). */
  filter?: Omit<PlaceFilterOptions, "placeCount">;
  /** Verification results to fold in (the pipeline's hook). */
  verifications?: Observable<VerificationEvent>;
  /** Inliers from which a verified candidate counts as confirmed. Default `DEFAULT_MIN_INLIERS` (120). */
  minInliers?: number;
  /**
   * The places' global descriptors (row-major, one row per place in `places` order): places whose descriptor
   * is all zero are the filter's `blindPlaces` (unless `filter.blindPlaces` is given).
   */
  descriptors?: Float32Array;
}

/** The filter stage over the places of a map (in traversal order). */
export function filterStage(
  places: PlaceMeta[],
  options: FilterStageOptions = {},
): OperatorFunction<FrameWork, FrameWork> {
  const indexOf = new Map<number, number>();
  places.forEach((p, i) => indexOf.set(p.placeId, i));
  const minInliers = options.minInliers ?? DEFAULT_MIN_INLIERS;
  const every = Int32Array.from({ length: places.length }, (_, i) => i);
  const blind = options.descriptors && !options.filter?.blindPlaces
    ? blindPlacesOf(options.descriptors, places.length)
    : [];
  const filterOptions = blind.length > 0 ? { ...options.filter, blindPlaces: blind } : options.filter;
  // Validate options up front (throws ValidationError before anything runs).
  new PlaceFilter({ ...filterOptions, placeCount: Math.max(1, places.length) });
  return (source) =>
    new Observable<FrameWork>((subscriber) => {
      const filter = new PlaceFilter({ ...filterOptions, placeCount: Math.max(1, places.length) });
      let last: LocationEstimate | null = null;
      let keyframes = 0;
      const seqToKeyframe = new Map<number, number>();
      const sub = options.verifications?.subscribe((ev) => {
        const kf = seqToKeyframe.get(ev.seq);
        const lag = kf === undefined ? 1 : Math.max(0, keyframes - 1 - kf);
        for (const r of ev.results) {
          const i = indexOf.get(r.placeId);
          if (i === undefined || r.result.reason) continue;
          filter.applyVerification(i, r.result.ok && r.result.inliers >= minInliers, { lag });
        }
      });
      {
        const inner = source.pipe(map((work) => {
          if (work.error) return work;
          if (work.skipped) {
            // Nothing observed: time passes (the belief spreads, so its confidence can only fall) and the frame
            // is reported lost with its reason; the last estimate stays the one later repeats are given.
            if (filter.steps > 0) filter.predict();
            work.estimate = {
              stamp: work.frame.stamp,
              seq: work.frame.seq,
              placeId: null,
              confidence: 0,
              status: "lost",
              skipped: work.skipped,
            };
            return work;
          }
          if (work.keyframe && (work.hypotheses || work.similarities)) {
            seqToKeyframe.set(work.frame.seq, keyframes++);
            if (seqToKeyframe.size > 64) seqToKeyframe.delete(seqToKeyframe.keys().next().value!);
            if (work.similarities && work.similarities.length === places.length && places.length > 0) {
              // Every place observed: the background is exact and per-place normalisation applies.
              filter.step({
                indices: every,
                similarities: work.similarities,
                support: work.descriptor?.support,
              });
            } else {
              const idx: number[] = [], sims: number[] = [];
              for (const h of work.hypotheses ?? []) {
                const i = indexOf.get(h.placeId);
                if (i !== undefined) {
                  idx.push(i);
                  sims.push(h.similarity);
                }
              }
              if (idx.length > 0) {
                filter.step({
                  indices: idx,
                  similarities: sims,
                  background: work.background,
                  support: work.descriptor?.support,
                });
              }
            }
            const b = filter.belief();
            const est: LocationEstimate = {
              stamp: work.frame.stamp,
              seq: work.frame.seq,
              placeId: b.placeIndex === null ? null : places[b.placeIndex].placeId,
              confidence: b.confidence,
              status: b.status,
            };
            if (work.frame.time) est.time = work.frame.time;
            const pos = b.placeIndex === null ? undefined : places[b.placeIndex].position;
            if (pos) est.position = pos;
            last = est;
          } else if (!work.keyframe && last) {
            const { time: _time, ...rest } = last;
            last = { ...rest, stamp: work.frame.stamp, seq: work.frame.seq };
            if (work.frame.time) last.time = work.frame.time;
          }
          if (last) work.estimate = last;
          return work;
        })).subscribe(subscriber);
        return () => {
          inner.unsubscribe();
          sub?.unsubscribe();
          seqToKeyframe.clear();
        };
      }
    });
}
