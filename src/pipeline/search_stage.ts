/**
 * Search stage: the top-k places of the prior map for each keyframe's global descriptor, plus the background
 * (mean, std) of the keyframe's similarity to the whole map, estimated from a fixed, evenly spaced sample of
 * map descriptors (exact when the sample is the whole map). The filter stage standardises similarities with it.
 *
 * @module
 */
import { map, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type { PlaceHypothesis, PlaceMeta } from "../types.ts";
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
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
}

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
  const now = options.now ?? (() => Date.now() / 1000);
  const byId = new Map<number, PlaceMeta>();
  for (const p of placeMap.places) byId.set(p.placeId, p);
  const kk = Math.min(k, Math.max(1, placeMap.index.size));
  // A small map (no larger than the background sample) with its descriptors: one exact pass over the rows
  // gives both the top-k and the exact background (instead of the index search plus a second pass).
  const n = placeMap.places.length, dim = placeMap.index.dim, rows = placeMap.descriptors;
  const onePass = rows !== undefined && n <= sample && placeMap.index.size === n && rows.length === n * dim;
  const sims = onePass ? new Float64Array(n) : undefined;
  const order = onePass ? new Int32Array(n) : undefined;
  const scan = (q: Float32Array) => {
    let s1 = 0, s2 = 0;
    for (let r = 0; r < n; r++) {
      let d = 0;
      const o = r * dim;
      for (let i = 0; i < dim; i++) d += q[i] * rows![o + i];
      sims![r] = d;
      order![r] = r;
      s1 += d;
      s2 += d * d;
    }
    // Partial selection of the kk best (kk * n comparisons; n is small here).
    const hits: { id: number; similarity: number }[] = [];
    for (let t = 0; t < kk; t++) {
      let best = t;
      for (let r = t + 1; r < n; r++) if (sims![order![r]] > sims![order![best]]) best = r;
      const b = order![best];
      order![best] = order![t];
      order![t] = b;
      hits.push({ id: placeMap.places[b].placeId, similarity: sims![b] });
    }
    const mean = s1 / n;
    return { hits, background: { mean, std: Math.sqrt(Math.max(0, s2 / n - mean * mean)) } };
  };
  return map((work: FrameWork) => {
    if (work.error || !work.keyframe || !work.descriptor) return work;
    try {
      const q = work.descriptor.global;
      if (onePass) {
        if (q.length !== dim) {
          throw invalid("search places", "query descriptor", `a vector of length ${dim}`, q.length);
        }
        const { hits, background } = scan(q);
        work.hypotheses = hits.map((h, rank) => {
          const hyp: PlaceHypothesis = { placeId: h.id, similarity: h.similarity, rank };
          const pos = byId.get(h.id)?.position;
          if (pos) hyp.position = pos;
          return hyp;
        });
        if (kk < n) work.background = background;
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
