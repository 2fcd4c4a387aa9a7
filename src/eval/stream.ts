/**
 * `waymark eval stream`: replay `queries.csv` in order against a map of `database.csv` through the live
 * pipeline's stages (decode -> keyframe -> descriptor -> index top-k -> temporal filter) and report:
 * single-frame Recall@1 (the top retrieval candidate), smoothed Recall@1 (the filter's estimate), the
 * SeqSLAM-like baseline's Recall@1 (`seq_match.ts`, diagonal over the last 20 frames), the expected
 * calibration error of the estimates' confidence (10 bins), how often a query not in the map was reported
 * `lost`, and latency per frame.
 *
 * Correctness of an estimate: a place estimate is correct when its database image is a true match of the
 * query; a `lost` estimate is correct when the query has no true match. Recall@1 counts the queries that
 * have a true match (a `lost` estimate counts as a miss there).
 *
 * @module
 */
import { DEFAULT_MIN_INLIERS } from "../localize/loop_gate.ts";
import { pipe, Subject } from "rxjs";
import { isAbsolute, join } from "node:path";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import type { RetrievalDataset } from "../dataset/types.ts";
import { expectedCalibrationError } from "../localize/calibration.ts";
import type { PlaceFilterOptions } from "../localize/place_filter.ts";
import { SequenceMatcher } from "../localize/seq_match.ts";
import { buildMap } from "../map/build_map.ts";
import type { MapIndexKind } from "../map/format.ts";
import { removeQuietly } from "../_fs.ts";
import { datasetFrame } from "./_replay.ts";
import { decodeStage, type FrameDecoder } from "../pipeline/decode_stage.ts";
import { describeStage } from "../pipeline/describe_stage.ts";
import { filterStage } from "../pipeline/filter_stage.ts";
import { keyframeStage } from "../pipeline/keyframe_stage.ts";
import { fullScanScanner, searchStage } from "../pipeline/search_stage.ts";
import { scanRows } from "../index/similarity_scan.ts";
import { createStageRunner } from "../pipeline/stage_runner.ts";
import type { Verifier } from "../pipeline/verification_hook.ts";
import type {
  DescriptorModel,
  LocalizationStatus,
  PixelImage,
  ProviderChoice,
  VerificationEvent,
} from "../types.ts";
import { summarizeLatency } from "./metrics.ts";
import { useMapFeatures } from "../pipeline/verifier_loader.ts";

/** Options of {@link evaluateStream}. All optional. */
export interface EvaluateStreamOptions {
  /** Metres for positional ground truth. Default 25. */
  radius?: number;
  /** Model to use. Default: fit the default model on the database (as `map build` does). */
  model?: DescriptorModel;
  /** Load the model from this folder. */
  modelDir?: string;
  /** NetVLAD clusters when fitting. Default 64. */
  clusters?: number;
  /** Index kind. Default `"exact"`. */
  index?: MapIndexKind;
  /** Execution provider. Default `"auto"`. */
  provider?: ProviderChoice;
  /**
   * Candidates per frame from the search (the filter observes every place anyway up to `fullScanPlaces`).
   * Default 50, as the live pipeline.
   */
  topK?: number;
  /**
   * Maps up to this many places are compared with every query (the filter observes the whole row, as the
   * live pipeline does within its `fullScan` budget). Default 5000.
   */
  fullScanPlaces?: number;
  /** Place filter options. */
  filter?: Omit<PlaceFilterOptions, "placeCount">;
  /** Frames of the sequence-matching baseline. Default 20. */
  seqLength?: number;
  /** Geometric verification of each frame's top candidates, folded into the filter. Default none. */
  verifier?: Verifier;
  /** Candidates verified per frame. Default 5. */
  verifyTopK?: number;
  /** Inliers of a confirmed candidate. Default `DEFAULT_MIN_INLIERS` (120, `src/localize/loop_gate.ts`). */
  minInliers?: number;
  /** Called with each map place's decoded image (e.g. to extract its local features). */
  onPlace?: (placeId: number, image: PixelImage) => Promise<void> | void;
  decode?: FrameDecoder;
  /**
   * Called for each described query with its full similarity row to the map places (traversal order), whether
   * it was a keyframe, and the database index of each place (for offline replay of the filter; the row is
   * reused: copy it).
   */
  onSimilarities?: (query: number, row: Float32Array, keyframe: boolean, placeToDb: number[]) => void;
  onProgress?: (phase: string, done: number, total: number) => void;
  onWarning?: (message: string) => void;
}

/** Per-query outcome. */
export interface StreamQueryResult {
  query: string;
  truth: number[];
  /** Database index of the top retrieval candidate (-1: none). */
  single: number;
  /** Database index of the estimate (-1: lost / none). */
  smoothed: number;
  status: LocalizationStatus | "failed";
  confidence: number;
  /** Database index answered by the sequence-matching baseline. */
  seqMatch: number;
}

/** Report of {@link evaluateStream}. */
export interface StreamReport {
  dataset: string;
  queries: number;
  queriesWithoutMatch: number;
  failedQueries: number;
  recall1: number;
  smoothedRecall1: number;
  seqMatchRecall1: number;
  ece: number;
  /** Fraction of queries without a true match that were reported `lost`. */
  lostOnUnknown: number;
  statusCounts: Record<string, number>;
  latencyMs: { p50: number; p90: number; p99: number; mean: number };
  map: { places: number; index: MapIndexKind };
  model: { name: string; id: string; dim: number; provider: string };
  verified: boolean;
  perQuery: StreamQueryResult[];
}

/**
 * Evaluate the streaming localizer on a retrieval dataset folder (or one already read).
 *
 * @example
 * ```ts ignore
 * const r = await evaluateStream("../shared/data/rtabmap_samples_loop");
 * console.log(r.recall1, r.smoothedRecall1, r.ece);
 * ```
 */
export async function evaluateStream(
  dataset: RetrievalDataset | string,
  options: EvaluateStreamOptions = {},
): Promise<StreamReport> {
  const ds = typeof dataset === "string"
    ? await readRetrievalDataset(dataset, { radius: options.radius })
    : dataset;
  const warn = options.onWarning ?? ((m: string) => console.warn(`waymark: warning: ${m}`));
  const mapDir = `${await Deno.makeTempDir({ prefix: "waymark_eval_stream_" })}/map`;
  const built = await buildMap(ds.database, mapDir, {
    model: options.model,
    modelDir: options.modelDir,
    clusters: options.clusters,
    index: options.index ?? "exact",
    provider: options.provider,
    onWarning: warn,
    keepOpen: true,
    localFeatures: !!options.verifier, // stored for verification only
    onProgress: (p) => options.onProgress?.(`map ${p.phase}`, p.done, p.total),
    onPlace: options.onPlace ? (place, image) => options.onPlace!(place.placeId, image) : undefined,
  });
  const model = built.model!, index = built.index!, descriptors = built.descriptors!;
  // Map candidates are verified against the features the build stored (no re-extraction from the images).
  if (options.verifier) {
    await useMapFeatures(options.verifier, { dir: built.dir, manifest: built.manifest }, warn);
  }
  const places = built.places;
  const byImage = new Map(ds.database.map((d) => [d.image, d.index]));
  const placeToDb = places.map((p) => byImage.get(p.image) ?? -1);
  // Map images by place (absolute paths: the verifier reads candidates' images).
  const imageOfPlace = new Map(
    places.map((p) => [p.placeId, isAbsolute(p.image) ? p.image : join(ds.dir, p.image)]),
  );
  const n = places.length;
  const dim = index.dim;
  const topK = options.topK ?? 50;
  const fullScan = n <= (options.fullScanPlaces ?? 5000) ? Infinity : 0;
  // Big maps are scanned by ONNX Runtime (faster than the JS loop at 8192-d), as `waymark localize` does.
  const scanner = fullScan > 0
    ? await fullScanScanner(descriptors, dim, { budget: fullScan, log: warn })
    : undefined;
  const verifications = new Subject<VerificationEvent>();
  const minInliers = options.minInliers ?? DEFAULT_MIN_INLIERS;
  const runner = createStageRunner(pipe(
    decodeStage({ channels: model.info.inputChannels, decode: options.decode }),
    keyframeStage(),
    describeStage(model),
    searchStage({ index, places, descriptors, scanner }, { k: topK, fullScan }),
    filterStage(places, { filter: options.filter, verifications, minInliers, descriptors }),
  ));
  const matcher = new SequenceMatcher({ placeCount: n, length: options.seqLength ?? 20 });
  const perQuery: StreamQueryResult[] = [];
  const latencies: number[] = [];
  const row = new Float32Array(n);
  try {
    // A query that could not be read or described: counted as a miss, with a warning.
    const missed = (query: string, truth: number[], why: string) => {
      warn(`query ${query} counted as a miss: ${why}`);
      perQuery.push({
        query,
        truth,
        single: -1,
        smoothed: -1,
        status: "failed",
        confidence: 0,
        seqMatch: -1,
      });
    };
    for (let qi = 0; qi < ds.queries.length; qi++) {
      const q = ds.queries[qi];
      const truth = ds.truth[qi];
      options.onProgress?.("queries", qi + 1, ds.queries.length);
      let frame;
      try {
        frame = await datasetFrame(q, qi);
      } catch (err) {
        missed(q.image, truth, (err as Error).message);
        continue;
      }
      const t0 = performance.now();
      const work = await runner.push({ frame, receivedAt: t0 });
      latencies.push(performance.now() - t0);
      if (work.error || !work.descriptor) {
        missed(q.image, truth, work.error?.message ?? "not described");
        continue;
      }
      // Baseline: full similarity row to every place (the search stage's when it scanned the whole map).
      if (work.similarities && work.similarities.length === n) row.set(work.similarities);
      else scanRows(work.descriptor.global, descriptors, dim, row);
      const seq = matcher.push(row);
      options.onSimilarities?.(qi, row, !!work.keyframe, placeToDb);
      const est = work.estimate;
      const top = work.hypotheses?.[0];
      perQuery.push({
        query: q.image,
        truth,
        single: top ? placeToDb[top.placeId] : -1,
        smoothed: est && est.placeId !== null ? placeToDb[est.placeId] : -1,
        status: est?.status ?? "uncertain",
        confidence: est?.confidence ?? 0,
        seqMatch: placeToDb[seq.placeIndex],
      });
      if (options.verifier && work.pixels && work.hypotheses) {
        const cands = work.hypotheses.slice(0, options.verifyTopK ?? 5).map((h) => ({
          placeId: h.placeId,
          space: "map" as const,
          similarity: h.similarity,
          image: imageOfPlace.get(h.placeId),
        }));
        const ev = await options.verifier.verify(
          { seq: qi, stamp: frame.stamp, pixels: work.pixels, image: frame.source },
          cands,
        );
        verifications.next(ev); // folded in before the next frame (the live pipeline does it asynchronously)
      }
    }
  } finally {
    runner.close();
    await scanner?.close();
    verifications.complete();
    if (!options.model) await model.close();
    await removeQuietly(mapDir.slice(0, mapDir.lastIndexOf("/")));
  }
  const withMatch = perQuery.filter((p) => p.truth.length > 0);
  const without = perQuery.filter((p) => p.truth.length === 0);
  const hit = (p: StreamQueryResult, v: number) => v >= 0 && p.truth.includes(v);
  const rate = (xs: StreamQueryResult[], f: (p: StreamQueryResult) => boolean) =>
    xs.length ? xs.filter(f).length / xs.length : 0;
  const scored = perQuery.filter((p) => p.status !== "failed");
  const correct = scored.map((p) => (p.status === "lost" ? p.truth.length === 0 : hit(p, p.smoothed)));
  const statusCounts: Record<string, number> = {};
  for (const p of perQuery) statusCounts[p.status] = (statusCounts[p.status] ?? 0) + 1;
  return {
    dataset: ds.dir,
    queries: withMatch.length,
    queriesWithoutMatch: without.length,
    failedQueries: perQuery.filter((p) => p.status === "failed").length,
    recall1: rate(withMatch, (p) => hit(p, p.single)),
    smoothedRecall1: rate(withMatch, (p) => hit(p, p.smoothed)),
    seqMatchRecall1: rate(withMatch, (p) => hit(p, p.seqMatch)),
    ece: expectedCalibrationError(scored.map((p) => p.confidence), correct, 10),
    lostOnUnknown: rate(without, (p) => p.status === "lost"),
    statusCounts,
    latencyMs: summarizeLatency(latencies),
    map: { places: n, index: built.manifest.index.kind },
    model: {
      name: model.info.name,
      id: model.info.id,
      dim: model.info.descriptorDim,
      provider: model.info.provider,
    },
    verified: !!options.verifier,
    perQuery,
  };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/**
 * The one-line JSON of `waymark eval stream --json`: `recall@1` (single frame), `smoothed_recall@1`, `ece`,
 * `latency_ms` {p50, p90, p99}, plus the baseline (`seqslam_recall@1`) and context.
 */
export function streamReportJson(r: StreamReport): Record<string, unknown> {
  return {
    "recall@1": round(r.recall1),
    "smoothed_recall@1": round(r.smoothedRecall1),
    ece: round(r.ece),
    latency_ms: { p50: r.latencyMs.p50, p90: r.latencyMs.p90, p99: r.latencyMs.p99 },
    "seqslam_recall@1": round(r.seqMatchRecall1),
    queries: r.queries,
    queries_without_match: r.queriesWithoutMatch,
    failed_queries: r.failedQueries,
    lost_on_unknown: round(r.lostOnUnknown),
    status: r.statusCounts,
    database: r.map.places,
    model: r.model.name,
    provider: r.model.provider,
    verified: r.verified,
  };
}
