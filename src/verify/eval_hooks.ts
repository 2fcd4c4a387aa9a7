/**
 * What `waymark eval retrieval|stream|loops --verify` and the pipeline need from verification, in one place:
 * building per-keyframe local features for a map (PCA fitted on the map), a verification hook that re-ranks a
 * query's retrieval candidates, and the loop-closure metric computed with and without verification.
 *
 * @module
 */
import type { DescriptorModel, LocalFeatures, PixelImage, PlaceHypothesis } from "../types.ts";
import { invalid } from "../errors.ts";
import { type LoopScores, type ScoredLoopEvent, scoreLoops } from "../localize/loop_metrics.ts";
import {
  type DenseExtractor,
  extractLocalFeatures,
  type LocalFeatureOptions,
  modelExtractor,
} from "./local_features.ts";
import { applyPca, fitPca, type PcaProjection } from "./pca.ts";
import { encodeLocalFeatures, encodePca } from "./features_codec.ts";
import {
  type CandidateVerification,
  type LocalFeatureStore,
  MemoryFeatureStore,
  rerankByVerification,
  type RerankOptions,
  Verifier,
  type VerifierOptions,
} from "./verifier.ts";

/** Local-feature options plus where dense features come from. */
export interface FeatureSetup extends Omit<LocalFeatureOptions, "pca" | "extractor"> {
  /** Use this model's dense local output; default: the TypeScript dense SIFT front end. */
  descriptorModel?: DescriptorModel;
  /** A dense front end (e.g. `loadDelfModel(dir).extractor`); wins over `descriptorModel`. */
  extractor?: DenseExtractor;
  /** PCA output size. Default 40. */
  pcaDim?: number;
}

/** Reduce (PCA, then L2) features that were extracted without PCA. */
export function reduceFeatures(f: LocalFeatures, pca: PcaProjection): LocalFeatures {
  if (f.count === 0) return { ...f, dim: pca.outputDim, descriptors: new Float32Array(0) };
  return { ...f, dim: pca.outputDim, descriptors: applyPca(pca, f.descriptors) };
}

/**
 * Collects full-size local features of a map's keyframes, fits the PCA on them (at most `maxPcaSamples`
 * descriptors, evenly strided) and emits compact blobs per place.
 *
 * @example
 * ```ts
 * import { MapFeatureBuilder } from "./eval_hooks.ts";
 * const b = new MapFeatureBuilder({ pcaDim: 8 });
 * const w = 64, h = 48, data = new Uint8Array(w * h).map((_, i) => (i * 37) % 251);
 * await b.add(0, { width: w, height: h, channels: 1, data });
 * const { pca, blobs } = b.finish();
 * console.assert(pca.outputDim === 8 && blobs.has(0));
 * ```
 */
export class MapFeatureBuilder {
  readonly #raw = new Map<number, LocalFeatures>();
  readonly #setup: FeatureSetup;
  constructor(setup: FeatureSetup = {}) {
    this.#setup = setup;
  }
  /** Extract and keep the full-size features of one keyframe. */
  async add(placeId: number, image: PixelImage): Promise<LocalFeatures> {
    const f = await extractLocalFeatures(image, featureOptions(this.#setup));
    this.#raw.set(placeId, f);
    return f;
  }
  /** Fit the PCA and reduce every keyframe; returns the PCA, reduced features and encoded blobs. */
  finish(): {
    pca: PcaProjection;
    pcaBlob: Uint8Array;
    features: Map<number, LocalFeatures>;
    blobs: Map<number, Uint8Array>;
  } {
    const all = [...this.#raw.values()];
    const dim = all.find((f) => f.count > 0)?.dim;
    if (!dim) {
      throw invalid(
        "fit the local-feature PCA",
        "keyframes",
        "at least one keyframe with keypoints",
        all.length,
      );
    }
    const total = all.reduce((s, f) => s + f.count, 0);
    const rows = new Float32Array(total * dim);
    let o = 0;
    for (const f of all) {
      rows.set(f.descriptors, o);
      o += f.descriptors.length;
    }
    const pca = fitPca(rows, dim, { outputDim: Math.min(this.#setup.pcaDim ?? 40, dim) });
    const features = new Map<number, LocalFeatures>();
    const blobs = new Map<number, Uint8Array>();
    for (const [id, f] of this.#raw) {
      const r = reduceFeatures(f, pca);
      features.set(id, r);
      blobs.set(id, encodeLocalFeatures(r));
    }
    return { pca, pcaBlob: encodePca(pca), features, blobs };
  }
}

function featureOptions(setup: FeatureSetup): LocalFeatureOptions {
  const { descriptorModel, extractor, pcaDim: _p, ...rest } = setup;
  if (extractor) return { ...rest, extractor };
  return { ...rest, ...(descriptorModel ? { extractor: modelExtractor(descriptorModel) } : {}) };
}

/** Extract a query's reduced local features with the map's PCA. */
export async function queryFeatures(
  image: PixelImage,
  pca: PcaProjection,
  setup: FeatureSetup = {},
): Promise<LocalFeatures> {
  return await extractLocalFeatures(image, { ...featureOptions(setup), pca });
}

/** A verification step for one query: verify the top-k candidates and re-rank them. */
export type VerificationHook = (
  image: PixelImage,
  hypotheses: PlaceHypothesis[],
) => Promise<{ hypotheses: PlaceHypothesis[]; results: CandidateVerification[]; query: LocalFeatures }>;

/** Options of {@link createVerificationHook}. */
export interface VerificationHookOptions extends VerifierOptions, FeatureSetup {
  /** Candidates verified per query (the first k hypotheses). Default 5. */
  topK?: number;
  /** Re-ranking rule. Default `{ mode: "verified-first" }`. */
  rerank?: RerankOptions;
}

/**
 * The hook the pipeline and the evaluation commands call: extracts the query's features, verifies the top-k
 * candidates against `store`, returns the re-ranked hypotheses (with `inliers`) and the raw results.
 */
export function createVerificationHook(
  store: LocalFeatureStore,
  pca: PcaProjection,
  options: VerificationHookOptions = {},
): VerificationHook {
  const topK = options.topK ?? 5;
  if (!Number.isInteger(topK) || topK <= 0) {
    throw invalid("create a verification hook", "topK", "a positive integer", topK);
  }
  const verifier = new Verifier(store, options);
  const { rerank } = options;
  const setup: FeatureSetup = {
    descriptorModel: options.descriptorModel,
    extractor: options.extractor,
    scales: options.scales,
    maxKeypoints: options.maxKeypoints,
    attentionThreshold: options.attentionThreshold,
    nmsIoU: options.nmsIoU,
  };
  return async (image, hypotheses) => {
    const query = await queryFeatures(image, pca, setup);
    const head = hypotheses.slice(0, topK);
    const results = await verifier.verifyCandidates(query, head.map((h) => h.placeId));
    const reranked = rerankByVerification(head, results, rerank);
    return {
      hypotheses: [
        ...reranked,
        ...hypotheses.slice(topK).map((h, i) => ({ ...h, rank: reranked.length + i })),
      ],
      results,
      query,
    };
  };
}

/** Build an in-memory store from reduced features (e.g. `MapFeatureBuilder.finish().features`). */
export function memoryStore(features: Map<number, LocalFeatures>): MemoryFeatureStore {
  const s = new MemoryFeatureStore();
  for (const [id, f] of features) s.set(id, f);
  return s;
}

/** One loop-closure event: frame `query` declared a loop with earlier frame `match`. */
export type LoopEventScore = ScoredLoopEvent;

/** Loop metrics as `docs/dataset_format.md` defines them. */
export type LoopMetrics = LoopScores;

/**
 * Score loop events against the truth (`loops[i]`: earlier frames that frame i truly closes a loop with): the
 * project's one loop score, `scoreLoops` of `src/localize/loop_metrics.ts` (one event per frame, the most
 * confident; ties at a threshold accepted or rejected together; precision 0 without events).
 *
 * @example
 * ```ts
 * import { loopMetrics } from "./eval_hooks.ts";
 * const m = loopMetrics([{ query: 2, match: 0, confidence: 0.9 }, { query: 1, match: 0, confidence: 0.5 }], [[], [], [0]]);
 * console.assert(m.recallAt100Precision === 1 && m.precision === 0.5);
 * ```
 */
export const loopMetrics: (events: LoopEventScore[], loops: number[][]) => LoopMetrics = scoreLoops;
