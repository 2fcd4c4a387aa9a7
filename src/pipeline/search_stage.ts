/**
 * Search stage: the top-k places of the prior map for each keyframe's global descriptor, plus the background
 * (mean, std) of the keyframe's similarity to the whole map, estimated from a fixed, evenly spaced sample of
 * map descriptors (exact when the sample is the whole map). The filter stage standardises similarities with it.
 *
 * When the map's descriptors are in memory and comparing with all of them is cheap (`fullScan`: at most 8.4M
 * multiply-adds, i.e. 1,024 places of 8192-d or 32,768 of 256-d), the stage compares the keyframe with every
 * place instead of asking the index, and hands the whole similarity row on (`work.similarities`): the place
 * filter then observes every place, which its per-place normalisation needs (on hard cross-condition routes it
 * is what lifts the filter above single-frame level; the numbers are in the README's "Known limits"). A
 * `SimilarityScanner` (option `scanner`, or the map's) can compute that row instead of the stage's JS loop,
 * e.g. with ONNX Runtime (`src/model/similarity_scanner.ts`).
 *
 * @module
 */
import { concatMap, map, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type { PlaceHypothesis, PlaceMeta } from "../types.ts";
import { scanRows, type SimilarityScanner } from "../index/similarity_scan.ts";
import { createSimilarityScanner } from "../model/similarity_scanner.ts";
import { meanStd } from "../kernels/stats.ts";
import { frameError, type FrameWork } from "./frame_work.ts";

/** What the pipeline needs of a prior map (a `LoadedMap` of `src/map/` fits). */
export interface PlaceMap {
  /** Index over the place descriptors; ids are place ids. */
  index: VectorIndex;
  /** Places in traversal order. */
  places: PlaceMeta[];
  /** N x D row-major descriptors (for the background sample); optional. */
  descriptors?: Float32Array;
  /**
   * A scanner over `descriptors` for the full scan (see {@link SearchStageOptions.scanner}, which wins when
   * both are given). Optional; the map's owner creates and closes it.
   */
  scanner?: SimilarityScanner;
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
   * Needs the map's descriptors. Default 8,388,608 (`FULL_SCAN_DEFAULT`), or 67,108,864
   * (`FULL_SCAN_WITH_SCANNER`) when the stage has a scanner; 0 turns it off.
   */
  fullScan?: number;
  /**
   * Computes the full scan's similarity row (e.g. `createSimilarityScanner(map.descriptors, dim)`: ONNX
   * Runtime's Gemm, faster than the JS loop, `deno task bench --only scan`). Must cover the map's N x D descriptors; used only when
   * the full scan is (the budget is the same), and then the stage answers asynchronously, in order. Not closed
   * by the stage. Default `placeMap.scanner`, else the stage's own JS loop.
   */
  scanner?: SimilarityScanner;
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
}

/** Default `SearchStageOptions.fullScan`: 1,024 places of 8192-d, a few milliseconds a keyframe for the JS loop. */
export const FULL_SCAN_DEFAULT = 1024 * 8192;

/**
 * Default `fullScan` when the stage has a `SimilarityScanner` (ONNX Runtime's CPU Gemm): 8,192 places of
 * 8192-d, chosen so that the scan stays within the JS loop's default cost per keyframe (`deno task bench
 * --only scan`; the README's "Measured" has the numbers).
 */
export const FULL_SCAN_WITH_SCANNER = 8192 * 8192;

/**
 * A scanner for maps the JS loop would not scan whole (above `FULL_SCAN_DEFAULT`) but `budget` allows
 * (default `FULL_SCAN_WITH_SCANNER`); undefined otherwise. The caller closes it. Used by `waymark localize`
 * and `eval stream`.
 */
export async function fullScanScanner(
  rows: Float32Array,
  dim: number,
  options: { budget?: number; log?: (line: string) => void } = {},
): Promise<SimilarityScanner | undefined> {
  const size = rows.length;
  if (size <= FULL_SCAN_DEFAULT || size > (options.budget ?? FULL_SCAN_WITH_SCANNER)) return undefined;
  return await createSimilarityScanner(rows, dim, { log: options.log });
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
  return meanStd(m, s, s2);
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
  const scanner = options.scanner ?? placeMap.scanner;
  const fullScan = options.fullScan ?? (scanner ? FULL_SCAN_WITH_SCANNER : FULL_SCAN_DEFAULT);
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
  if (scanner && (scanner.size !== n || scanner.dim !== dim)) {
    throw invalid(
      "search places",
      "scanner",
      `a scanner over the map's ${n} x ${dim} descriptors`,
      `${scanner.size} x ${scanner.dim} (${scanner.backend})`,
    );
  }
  // Partial selection of the kk best (kk * n comparisons; n is small here) and the exact background.
  const select = (sims: Float32Array) => {
    let s1 = 0, s2 = 0;
    for (let r = 0; r < n; r++) {
      s1 += sims[r];
      s2 += sims[r] * sims[r];
      order![r] = r;
    }
    const hits: { id: number; similarity: number }[] = [];
    for (let t = 0; t < kk; t++) {
      let best = t;
      for (let r = t + 1; r < n; r++) if (sims[order![r]] > sims[order![best]]) best = r;
      const b = order![best];
      order![best] = order![t];
      order![t] = b;
      hits.push({ id: placeMap.places[b].placeId, similarity: sims[b] });
    }
    return { hits, sims, background: meanStd(n, s1, s2) };
  };
  const checkQuery = (q: Float32Array) => {
    if (q.length !== dim) {
      throw invalid("search places", "query descriptor", `a vector of length ${dim}`, q.length);
    }
  };
  const toHypotheses = (hits: { id: number; similarity: number }[]) =>
    hits.map((h, rank) => {
      const hyp: PlaceHypothesis = { placeId: h.id, similarity: h.similarity, rank };
      const pos = byId.get(h.id)?.position;
      if (pos) hyp.position = pos;
      return hyp;
    });
  const withRow = (work: FrameWork, row: ReturnType<typeof select>): FrameWork => {
    work.hypotheses = toHypotheses(row.hits);
    if (kk < n) work.background = row.background;
    work.similarities = row.sims;
    return work;
  };
  if (onePass && scanner) {
    return concatMap(async (work: FrameWork) => {
      if (work.error || !work.keyframe || !work.descriptor) return work;
      try {
        const q = work.descriptor.global;
        checkQuery(q);
        return withRow(work, select(await scanner.scan(q)));
      } catch (err) {
        work.error = frameError(err, work, now());
        return work;
      }
    });
  }
  return map((work: FrameWork) => {
    if (work.error || !work.keyframe || !work.descriptor) return work;
    try {
      const q = work.descriptor.global;
      if (onePass) {
        checkQuery(q);
        return withRow(work, select(scanRows(q, rows!, dim)));
      }
      work.hypotheses = toHypotheses(placeMap.index.search(q, kk));
      if (placeMap.descriptors && kk < placeMap.places.length) {
        work.background = similarityBackground(q, placeMap.descriptors, placeMap.index.dim, sample);
      }
    } catch (err) {
      work.error = frameError(err, work, now());
    }
    return work;
  });
}
