/**
 * Search stage: the top-k places of the prior map for each keyframe's global descriptor, plus the background
 * (mean, std) of the keyframe's similarity to the whole map, estimated from a fixed, evenly spaced sample of
 * map descriptors (exact when the sample is the whole map). The filter stage standardises similarities with it.
 *
 * When the map's descriptors are in memory and comparing with all of them is cheap (`fullScan`: at most 8.4M
 * multiply-adds, i.e. 1,024 places of 8192-d or 32,768 of 256-d, about 5 ms here), the stage compares the
 * keyframe with every place instead of asking the index, and hands the whole similarity row on
 * (`work.similarities`): the place filter then observes every place, which its per-place normalisation needs
 * (on hard cross-condition routes it is what lifts the filter from single-frame level, e.g. smoothed Recall@1
 * 0.05 with the top 50 against 0.81 with every place, measured on a simulated 300-place route).
 *
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type { PlaceHypothesis, PlaceMeta } from "../types.ts";
import { dot } from "../index/_kernels.ts";
import { frameError, type FrameWork } from "./frame_work.ts";

/** What the pipeline needs of a prior map (a `LoadedMap` of `src/map/` fits). */
export interface PlaceMap {
  /** Index over the place descriptors; ids are place ids. */
  index: VectorIndex;
  /** Places in traversal order. */
  places: PlaceMeta[];
  /** N x D row-major descriptors (for the background sample); optional. */
  descriptors?: Float32Array;
}

/** Options of {@link searchStage}. */
export interface SearchStageOptions {
  /** Candidates per keyframe. Default 50 (capped at the map size). */
  k?: number;
  /** Map descriptors sampled for the background statistics. Default 256. */
  backgroundSample?: number;
  /**
   * Largest places x dimension (multiply-adds per keyframe) for which the keyframe is compared with every
   * map place (exact top-k, exact background, and the whole row for the filter); above it the index answers.
   * Needs the map's descriptors. Default 8,388,608 (`FULL_SCAN_DEFAULT`); 0 turns it off.
   */
  fullScan?: number;
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
}

/** Default `SearchStageOptions.fullScan`: 1,024 places of 8192-d (about 5 ms a keyframe on this CPU). */
export const FULL_SCAN_DEFAULT = 1024 * 8192;

/** Mean and std of `q`'s inner products with `count` evenly spaced rows of `rows` (N x dim). */
export function similarityBackground(
  q: Float32Array,
  rows: Float32Array,
  dim: number,
  count: number,
): { mean: number; std: number } | undefined {
  const n = Math.floor(rows.length / dim);
  if (n === 0 || q.length !== dim) return undefined;
  const m = Math.min(n, count);
  let s = 0, s2 = 0;
  for (let t = 0; t < m; t++) {
    const r = Math.floor((t * n) / m) * dim;
    let d = 0;
    for (let i = 0; i < dim; i++) d += q[i] * rows[r + i];
    s += d;
    s2 += d * d;
  }
  const mean = s / m;
  return { mean, std: Math.sqrt(Math.max(0, s2 / m - mean * mean)) };
}

/** The search stage. */
export function searchStage(
  placeMap: PlaceMap,
  options: SearchStageOptions = {},
): OperatorFunction<FrameWork, FrameWork> {
  const k = options.k ?? 50;
  if (!Number.isInteger(k) || k < 1) throw invalid("search places", "k", "a positive integer", k);
  const sample = options.backgroundSample ?? 256;
  if (!Number.isInteger(sample) || sample < 2) {
    throw invalid("search places", "backgroundSample", "an integer >= 2", sample);
  }
  const fullScan = options.fullScan ?? FULL_SCAN_DEFAULT;
  if (!(fullScan >= 0)) throw invalid("search places", "fullScan", "a number >= 0", options.fullScan);
  const now = options.now ?? (() => Date.now() / 1000);
  const byId = new Map<number, PlaceMeta>();
  for (const p of placeMap.places) byId.set(p.placeId, p);
  const kk = Math.min(k, Math.max(1, placeMap.index.size));
  // A small map (no larger than the background sample, or within the full-scan budget) with its descriptors:
  // one exact pass over the rows gives the top-k, the exact background and the whole row (instead of the
  // index search plus a second pass).
  const n = placeMap.places.length, dim = placeMap.index.dim, rows = placeMap.descriptors;
  const onePass = rows !== undefined && (n <= sample || n * dim <= fullScan) && placeMap.index.size === n &&
    rows.length === n * dim;
  const order = onePass ? new Int32Array(n) : undefined;
  const scan = (q: Float32Array) => {
    let s1 = 0, s2 = 0;
    const sims = new Float32Array(n);
    for (let r = 0; r < n; r++) {
      const d = dot(q, 0, rows!, r * dim, dim);
      sims[r] = d;
      order![r] = r;
      s1 += d;
      s2 += d * d;
    }
    // Partial selection of the kk best (kk * n comparisons; n is small here).
    const hits: { id: number; similarity: number }[] = [];
    for (let t = 0; t < kk; t++) {
      let best = t;
      for (let r = t + 1; r < n; r++) if (sims[order![r]] > sims[order![best]]) best = r;
      const b = order![best];
      order![best] = order![t];
      order![t] = b;
      hits.push({ id: placeMap.places[b].placeId, similarity: sims[b] });
    }
    const mean = s1 / n;
    return { hits, sims, background: { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) } };
  };
  return map((work: FrameWork) => {
    if (work.error || !work.keyframe || !work.descriptor) return work;
    try {
      const q = work.descriptor.global;
      if (onePass) {
        if (q.length !== dim) {
          throw invalid("search places", "query descriptor", `a vector of length ${dim}`, q.length);
        }
        const { hits, sims, background } = scan(q);
        work.hypotheses = hits.map((h, rank) => {
          const hyp: PlaceHypothesis = { placeId: h.id, similarity: h.similarity, rank };
          const pos = byId.get(h.id)?.position;
          if (pos) hyp.position = pos;
          return hyp;
        });
        if (kk < n) work.background = background;
        work.similarities = sims;
        return work;
      }
      const hits = placeMap.index.search(q, kk);
      work.hypotheses = hits.map((h, rank) => {
        const hyp: PlaceHypothesis = { placeId: h.id, similarity: h.similarity, rank };
        const pos = byId.get(h.id)?.position;
        if (pos) hyp.position = pos;
        return hyp;
      });
      if (placeMap.descriptors && kk < placeMap.places.length) {
        work.background = similarityBackground(q, placeMap.descriptors, placeMap.index.dim, sample);
      }
    } catch (err) {
      work.error = frameError(err, work, now());
    }
    return work;
  });
}
