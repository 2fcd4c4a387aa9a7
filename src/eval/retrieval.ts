/**
 * Single-frame retrieval evaluation: build a map from a dataset's `database.csv`, describe and search every
 * query of `queries.csv`, and report Recall@N over the queries that have a true match, plus per-stage latency.
 * @module
 */
import { ImageDecodeError, invalid, requirePositiveInt } from "../errors.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import type { RetrievalDataset } from "../dataset/types.ts";
import type { HnswIndexOptions } from "../index/hnsw_index.ts";
import { buildMap, type BuildProgress, decodeImageFile } from "../map/build_map.ts";
import type { MapIndexKind } from "../map/format.ts";
import type { LoadedMap } from "../map/map_loader.ts";
import type { DescriptorModel, PixelImage, PlaceHypothesis, ProviderChoice } from "../types.ts";
import { type LatencySummary, recallAtN, summarizeLatency } from "./metrics.ts";

/**
 * Re-rank hook (e.g. geometric verification): given a query's index in `queries`, its retrieval candidates
 * (most similar first, `placeId` = database index) and its decoded image, return them in a new order (may drop
 * some).
 */
export type RerankFn = (
  queryIndex: number,
  candidates: PlaceHypothesis[],
  image: PixelImage,
) => Promise<PlaceHypothesis[]>;

/**
 * A verifier plugged into the evaluation: sees every map image while the map is built (to extract and keep
 * local features), is told when the map is complete, then re-ranks each query's candidates.
 */
export interface RetrievalVerifier {
  /** Called for each database image kept in the map, with its decoded pixels. */
  addPlace?(databaseIndex: number, image: PixelImage): Promise<void> | void;
  /** Called once after the map is built, before the first query. */
  ready?(): Promise<void> | void;
  /** Re-rank one query's candidates. */
  rerank: RerankFn;
}

/** Options of {@link evaluateRetrieval}. All optional. */
export interface EvaluateRetrievalOptions {
  /** Metres for positional ground truth, when `dataset` is a path. Default 25. */
  radius?: number;
  /** Model to use. Default: fit the default model on the database images (as `map build` does). */
  model?: DescriptorModel;
  /** Load the model from this folder instead. */
  modelDir?: string;
  /** Default-model preset to fit. Default `dsift-netvlad-64`. */
  preset?: string;
  /** NetVLAD clusters when fitting the default model. Default: the preset's (64). */
  clusters?: number;
  /** PCA whitening dimension learnt on the map when fitting the default model; 0 = none. */
  pcaDim?: number;
  /** Index kind. Default `"hnsw"`. */
  index?: MapIndexKind;
  /** HNSW parameters. */
  hnsw?: HnswIndexOptions;
  /** Execution provider. Default `"auto"`. */
  provider?: ProviderChoice;
  /** Keep the map in this folder. Default: a temporary folder, removed afterwards. */
  mapOut?: string;
  /**
   * A map already built from this dataset's database (`waymark map build`): searched instead of building one (its
   * model is used and stays open; every place's image must be a row of database.csv). Not with `verifier`.
   */
  map?: LoadedMap;
  /** N values of Recall@N. Default [1, 5, 10]. */
  ns?: number[];
  /** Re-ranking of the candidates of each query. Default none. */
  rerank?: RerankFn;
  /** A verifier (map-side hook + re-ranking); takes precedence over `rerank`. Default none. */
  verifier?: RetrievalVerifier;
  /** Candidates retrieved per query (for re-ranking). Default max(ns), at least max(ns). */
  candidates?: number;
  /** Progress of the map build and of the queries. */
  onProgress?: (p: BuildProgress | { phase: "query"; done: number; total: number }) => void;
  /** Warnings (skipped images). Default `console.warn` (stderr). */
  onWarning?: (message: string) => void;
  /** Decoder (tests inject one). Default: `src/image/decode.ts`. */
  decode?: (bytes: Uint8Array, source: string, channels: 1 | 3) => Promise<PixelImage>;
}

/** Stages timed per query. `decode` includes reading the file. */
export type RetrievalStage = "decode" | "describe" | "search" | "rerank" | "total";

/** Result of one query. */
export interface QueryResult {
  query: string;
  /** True database indices. */
  truth: number[];
  /** Ranked database indices (after re-ranking), empty when the query could not be decoded. */
  ranked: number[];
  /** Similarity of the first candidate (NaN when none). */
  topSimilarity: number;
  error?: string;
}

/** The report of {@link evaluateRetrieval}. */
export interface RetrievalReport {
  dataset: string;
  /** N -> Recall@N over the queries that have a true match. */
  recall: Record<number, number>;
  /** Queries with a true match (the recall denominator). */
  queries: number;
  /** Queries whose place is not in the map. */
  queriesWithoutMatch: number;
  /** Queries that could not be decoded (counted as misses). */
  failedQueries: number;
  groundTruth: RetrievalDataset["groundTruth"];
  latencyMs: Partial<Record<RetrievalStage, LatencySummary>>;
  map: {
    places: number;
    skipped: number;
    buildSeconds: number;
    imagesPerSecond: number;
    index: MapIndexKind;
    dir?: string;
  };
  model: { name: string; id: string; dim: number; provider: string };
  perQuery: QueryResult[];
  /** Total time of each decoded query, ms (for latency histograms). */
  latencySamplesMs?: number[];
}

/**
 * Evaluate single-frame retrieval on a dataset folder (or a dataset already read).
 *
 * @example
 * ```ts ignore
 * const report = await evaluateRetrieval("../shared/data/rtabmap_samples_loop", { index: "exact" });
 * console.log(report.recall[1], report.latencyMs.total?.p50);
 * ```
 */
export async function evaluateRetrieval(
  dataset: RetrievalDataset | string,
  options: EvaluateRetrievalOptions = {},
): Promise<RetrievalReport> {
  const ns = options.ns ?? [1, 5, 10];
  if (ns.length === 0) throw invalid("evaluate retrieval", "ns", "a non-empty list", ns);
  ns.forEach((n) => requirePositiveInt("evaluate retrieval", "ns", n));
  const maxN = Math.max(...ns);
  const depth = Math.max(
    maxN,
    requirePositiveInt("evaluate retrieval", "candidates", options.candidates ?? maxN),
  );
  const ds = typeof dataset === "string"
    ? await readRetrievalDataset(dataset, { radius: options.radius })
    : dataset;
  const decode = options.decode ?? decodeImageFile;
  const warn = options.onWarning ?? ((m: string) => console.warn(`waymark: warning: ${m}`));
  if (options.map) {
    if (options.verifier) {
      throw invalid("evaluate retrieval", "map", "not given with a verifier", options.map.dir);
    }
    const known = new Set(ds.database.map((d) => d.image));
    const stray = options.map.places.find((p) => !known.has(p.image));
    if (stray) {
      throw invalid(
        "evaluate retrieval",
        "map",
        `a map built from ${ds.dir}/database.csv (place ${stray.placeId} is ${stray.image}, not a database row)`,
        options.map.dir,
      );
    }
  }
  const mapDir = options.map
    ? options.map.dir
    : options.mapOut ?? `${await Deno.makeTempDir({ prefix: "waymark_eval_map_" })}/map`;

  const built = options.map
    ? {
      model: options.map.model,
      index: options.map.index,
      places: options.map.places,
      skipped: [],
      seconds: 0,
      imagesPerSecond: 0,
      manifest: options.map.manifest,
      dir: options.map.dir,
    }
    : await buildMap(ds.database, mapDir, {
      model: options.model,
      modelDir: options.modelDir,
      preset: options.preset,
      clusters: options.clusters,
      pcaDim: options.pcaDim,
      index: options.index,
      hnsw: options.hnsw,
      provider: options.provider,
      onProgress: options.onProgress,
      onWarning: warn,
      decode,
      keepOpen: true,
      localFeatures: options.mapOut !== undefined, // a temporary map is never verified against from disk
      onPlace: options.verifier?.addPlace
        ? (_place, image, source) => options.verifier!.addPlace!(source.index, image)
        : undefined,
    });
  const model = built.model!, index = built.index!;
  // Map place ids (rows of the map, after skipped images) back to database indices.
  const byImage = new Map(ds.database.map((d) => [d.image, d.index]));
  const placeToDb = built.places.map((p) => byImage.get(p.image)!);
  const rerank = options.verifier ? options.verifier.rerank : options.rerank;
  try {
    await options.verifier?.ready?.();
    const stages: Record<RetrievalStage, number[]> = {
      decode: [],
      describe: [],
      search: [],
      rerank: [],
      total: [],
    };
    const perQuery: QueryResult[] = [];
    const channels = model.info.inputChannels;
    for (let qi = 0; qi < ds.queries.length; qi++) {
      const q = ds.queries[qi];
      const t0 = performance.now();
      let px: PixelImage;
      try {
        px = await decode(await Deno.readFile(q.path), q.path, channels);
      } catch (err) {
        const fsError = Object.values(Deno.errors).some((E) => err instanceof E);
        if (!(err instanceof ImageDecodeError) && !fsError) throw err;
        warn(`query ${q.image} counted as a miss: ${(err as Error).message}`);
        perQuery.push({
          query: q.image,
          truth: ds.truth[qi],
          ranked: [],
          topSimilarity: NaN,
          error: (err as Error).message,
        });
        continue;
      }
      const t1 = performance.now();
      const { global } = await model.describe(px);
      const t2 = performance.now();
      const hits = index.search(global, depth);
      let cands: PlaceHypothesis[] = hits.map((h, rank) => ({
        placeId: placeToDb[h.id],
        similarity: h.similarity,
        rank,
      }));
      const t3 = performance.now();
      if (rerank) {
        cands = await rerank(qi, cands, px);
        stages.rerank.push(performance.now() - t3);
      }
      const t4 = performance.now();
      stages.decode.push(t1 - t0);
      stages.describe.push(t2 - t1);
      stages.search.push(t3 - t2);
      stages.total.push(t4 - t0);
      perQuery.push({
        query: q.image,
        truth: ds.truth[qi],
        ranked: cands.map((c) => c.placeId),
        topSimilarity: cands[0]?.similarity ?? NaN,
      });
      options.onProgress?.({ phase: "query", done: qi + 1, total: ds.queries.length });
    }
    const r = recallAtN(perQuery.map((p) => p.ranked), perQuery.map((p) => p.truth), ns);
    if (r.evaluated === 0) warn(`no query of ${ds.dir} has a true match: recall is reported as 0`);
    const latencyMs: RetrievalReport["latencyMs"] = {};
    for (const [stage, values] of Object.entries(stages) as [RetrievalStage, number[]][]) {
      if (stage === "rerank" && !rerank) continue;
      latencyMs[stage] = summarizeLatency(values);
    }
    return {
      dataset: ds.dir,
      recall: r.recall,
      queries: r.evaluated,
      queriesWithoutMatch: r.withoutMatch,
      failedQueries: perQuery.filter((p) => p.error).length,
      groundTruth: ds.groundTruth,
      latencyMs,
      map: {
        places: built.places.length,
        skipped: built.skipped.length,
        buildSeconds: built.seconds,
        imagesPerSecond: built.imagesPerSecond,
        index: built.manifest.index.kind,
        ...(options.mapOut || options.map ? { dir: built.dir } : {}),
      },
      model: {
        name: model.info.name,
        id: model.info.id,
        dim: model.info.descriptorDim,
        provider: model.info.provider,
      },
      perQuery,
      latencySamplesMs: stages.total,
    };
  } finally {
    if (!options.model && !options.map) await model.close();
    if (!options.mapOut && !options.map) {
      await Deno.remove(mapDir.slice(0, mapDir.lastIndexOf("/")), { recursive: true }).catch(() => {});
    }
  }
}

/**
 * The one-line JSON object of `waymark eval retrieval --json`: `recall@N` keys, `queries`, `latency_ms`
 * (`{stage: {p50, p90, p99}}`), and context (queries without match, map, model).
 */
export function retrievalReportJson(report: RetrievalReport): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [n, v] of Object.entries(report.recall)) out[`recall@${n}`] = round(v);
  out.queries = report.queries;
  out.queries_without_match = report.queriesWithoutMatch;
  out.failed_queries = report.failedQueries;
  const lat: Record<string, { p50: number; p90: number; p99: number }> = {};
  for (const [stage, s] of Object.entries(report.latencyMs)) {
    lat[stage] = { p50: s!.p50, p90: s!.p90, p99: s!.p99 };
  }
  out.latency_ms = lat;
  out.database = report.map.places;
  out.skipped_images = report.map.skipped;
  out.map_images_per_s = round(report.map.imagesPerSecond);
  out.index = report.map.index;
  out.model = report.model.name;
  out.model_id = report.model.id;
  out.provider = report.model.provider;
  out.ground_truth = report.groundTruth;
  return out;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
