/**
 * Pair verification and candidate re-ranking. `verifyPair` is the pure, synchronous kernel path
 * (mutual NN in JavaScript + RANSAC); `Verifier` verifies a query against stored candidate features with
 * the faster ONNX Runtime nearest-neighbour backend and lazily loaded, cached keyframe features.
 *
 * `VerificationResult.ok` is true when the pair is geometrically verified; otherwise `reason` says why (blank or
 * tiny image, too few keypoints, too few matches, too few inliers, inliers that chance explains). Nothing here
 * throws on image content. `score` is {@link verificationScore} (inliers net of a third of the outliers).
 *
 * The test can be made scale-free, so that it means the same at 160x120 as at 512x384, as the pipeline's
 * verifier makes it (`src/pipeline/geometric_verifier.ts`):
 * - `relativeThreshold`: the RANSAC tolerance is a fraction of the candidate image (DELF's 20 px at 512 px);
 * - `referenceKeypoints`: the inliers needed are a fraction of the keypoints the pair has (`minInliers` at that
 *   many keypoints, proportionally fewer when the smaller side has fewer, {@link inliersNeeded}): a small image
 *   has fewer keypoints, so fewer inliers mean as much.
 *
 * Without them (the defaults, as `eval retrieval --verify` and `waymark verify` run) the tolerance is 20 px and
 * `minInliers` a count: for re-ranking retrieval candidates the scaled test won no more suite rows than it lost
 * (README, "Keyframe verification").
 *
 * Always, the inliers must be more than chance gives (an a-contrario test, after Moisan and Stival's ORSA):
 * under the null model of matches that land anywhere in the candidate image, the expected number of models
 * with as many inliers ({@link chanceInliersNfa}) must be below 1. With hundreds of matches this needs far
 * fewer inliers than the counts above; it is what rejects a pair of images with a handful of keypoints, where
 * the proportional count falls to a few inliers that any three matches fit.
 *
 * @module
 */
import type { LocalFeatures, PlaceHypothesis, VerificationResult } from "../types.ts";
import { invalid } from "../errors.ts";
import { type Matches, mutualMatches, type NearestNeighbours, nearestNeighbours } from "./match.ts";
import { type NearestNeighbourFn, onnxNearestNeighbours } from "./onnx_matcher.ts";
import { ransac } from "./ransac.ts";
import { decodeLocalFeatures } from "./features_codec.ts";
import { LruCache } from "../_lru.ts";

/** Options of {@link verifyPair} and {@link Verifier}. */
export interface VerifyOptions {
  /** Mutual-NN distance threshold on unit descriptors. Default 0.8 (DELF). */
  maxDistance?: number;
  /** RANSAC model. Default `"affine"` (DELF). */
  model?: "affine" | "homography";
  /** RANSAC inlier residual in candidate (keyframe) pixels. Default 20 (DELF) unless `relativeThreshold`. */
  threshold?: number;
  /**
   * RANSAC inlier residual as a fraction of the candidate image's longer side, when `threshold` is not given
   * (e.g. 20 / 512: DELF's 20 px at 512 px, 6.25 px at 160x120). Default none (`threshold`).
   */
  relativeThreshold?: number;
  /** RANSAC iterations cap. Default 1000. */
  maxIterations?: number;
  /** RANSAC early-exit confidence. Default 0.999. */
  confidence?: number;
  /** RANSAC seed. Default 0. */
  seed?: number;
  /** LO-RANSAC refits per improvement (see `RansacOptions.localOptimization`). */
  localOptimization?: number;
  /** Plausible view change limits of RANSAC hypotheses (see `RansacOptions.plausible`). */
  plausible?: { maxScale: number; maxAnisotropy: number };
  /** Fewer keypoints than this on either side: not verifiable. Default 8. */
  minKeypoints?: number;
  /** Smallest images (either side, pixels) that can be verified. Default 32. */
  minImageSize?: number;
  /**
   * Inliers needed for `ok: true` by a pair with `referenceKeypoints` keypoints on its smaller side (fewer
   * keypoints: proportionally fewer, see {@link inliersNeeded}). Default 150, calibrated on top-5 retrieval
   * candidates of the shared indoor sequence at 512x384 with `scripts/verify_eval_loops.ts` (README, "Measured").
   */
  minInliers?: number;
  /**
   * Keypoints at which `minInliers` applies as given; a pair whose smaller side has fewer needs proportionally
   * fewer inliers (e.g. 1000, the extractor's `maxKeypoints`). Default none: `minInliers` is a plain count.
   */
  referenceKeypoints?: number;
}

/** A verification result with the correspondences behind it (for drawing and debugging). */
export interface PairVerification extends VerificationResult {
  /** Tentative matches (indices into query/candidate keypoints) and which are RANSAC inliers. */
  correspondences?: { query: Int32Array; candidate: Int32Array; inlier: Uint8Array };
}

type Scaling = "threshold" | "relativeThreshold" | "referenceKeypoints";
/** Options with defaults filled in; the scale-free ones (and an explicit `threshold`) stay undefined unless given. */
export type ResolvedVerifyOptions = Required<Omit<VerifyOptions, Scaling>> & Pick<VerifyOptions, Scaling>;

/** DELF's RANSAC tolerance in pixels: the default without `relativeThreshold`. */
const DELF_THRESHOLD = 20;

const DEFAULTS: ResolvedVerifyOptions = {
  maxDistance: 0.8,
  model: "affine",
  maxIterations: 1000,
  confidence: 0.999,
  seed: 0,
  localOptimization: 0,
  plausible: { maxScale: Infinity, maxAnisotropy: Infinity },
  minKeypoints: 8,
  minImageSize: 32,
  minInliers: 150,
};

/** Fill defaults and validate; throws ValidationError on bad options. */
export function resolveVerifyOptions(options: VerifyOptions = {}): ResolvedVerifyOptions {
  const o: ResolvedVerifyOptions = { ...DEFAULTS };
  for (const [k, v] of Object.entries(options)) {
    if (v !== undefined) (o as unknown as Record<string, unknown>)[k] = v;
  }
  const act = "verify a pair";
  if (o.threshold !== undefined && !(o.threshold > 0 && Number.isFinite(o.threshold))) {
    throw invalid(act, "threshold", "a positive number of pixels", o.threshold);
  }
  if (o.relativeThreshold !== undefined && !(o.relativeThreshold > 0 && o.relativeThreshold < 1)) {
    throw invalid(act, "relativeThreshold", "a number in (0, 1)", o.relativeThreshold);
  }
  const ref = o.referenceKeypoints;
  if (ref !== undefined && !(Number.isInteger(ref) && ref >= 1)) {
    throw invalid(act, "referenceKeypoints", "a positive integer", o.referenceKeypoints);
  }
  if (!(o.maxDistance > 0)) throw invalid(act, "maxDistance", "a positive number", o.maxDistance);
  if (!Number.isInteger(o.minKeypoints) || o.minKeypoints < 3) {
    throw invalid(act, "minKeypoints", "an integer >= 3", o.minKeypoints);
  }
  if (!Number.isInteger(o.minInliers) || o.minInliers < 0) {
    throw invalid(act, "minInliers", "an integer >= 0", o.minInliers);
  }
  if (!(o.minImageSize >= 1)) throw invalid(act, "minImageSize", "a number >= 1", o.minImageSize);
  return o;
}

function precheck(q: LocalFeatures, c: LocalFeatures, o: ResolvedVerifyOptions): PairVerification | null {
  const no = (reason: string): PairVerification => ({ ok: false, inliers: 0, matches: 0, score: 0, reason });
  for (const [side, f] of [["query", q], ["candidate", c]] as const) {
    if (!f || f.imageWidth < o.minImageSize || f.imageHeight < o.minImageSize) {
      return no(
        `${side} image is too small (${f?.imageWidth ?? 0}x${f?.imageHeight ?? 0} < ${o.minImageSize} px)`,
      );
    }
    if (f.count === 0) return no(`${side} image has no keypoints (blank or textureless)`);
    if (f.count < o.minKeypoints) {
      return no(`${side} image has too few keypoints (${f.count} < ${o.minKeypoints})`);
    }
  }
  if (q.dim !== c.dim) {
    return no(`descriptor sizes differ (query ${q.dim}, candidate ${c.dim}): different PCA or model`);
  }
  return null;
}

/**
 * The result's `score`: RANSAC inliers net of a third of the outliers, `max(0, inliers - (matches - inliers) / 3)`.
 * Plain inlier counts grow with texture: a false pair between two busy images still gets many chance inliers
 * within DELF's generous 20 px, but among many more outliers. On the shared indoor sequence
 * (`scripts/verify_eval_loops.ts`) this score separates true from false loop pairs better than plain inliers for
 * every outlier weight from 1/6 to 2/3, best at 1/3 (README, "Measured").
 */
export function verificationScore(inliers: number, matches: number): number {
  return Math.max(0, inliers - (matches - inliers) / 3);
}

/**
 * The RANSAC tolerance of a pair, in candidate pixels: `threshold`, else `relativeThreshold` of the candidate's
 * longer side, else DELF's 20 px.
 */
export function verificationThreshold(candidate: LocalFeatures, options: VerifyOptions = {}): number {
  const o = resolveVerifyOptions(options);
  if (o.threshold !== undefined) return o.threshold;
  if (o.relativeThreshold === undefined) return DELF_THRESHOLD;
  return o.relativeThreshold * Math.max(candidate.imageWidth, candidate.imageHeight);
}

/**
 * Inliers a pair needs for `ok`: `minInliers`, with `referenceKeypoints` scaled by the keypoints of the pair's
 * smaller side over it (at most 1) and rounded, at least 1. The chance test ({@link chanceInliersNfa}) applies on
 * top.
 */
export function inliersNeeded(
  query: LocalFeatures,
  candidate: LocalFeatures,
  options: VerifyOptions = {},
): number {
  const o = resolveVerifyOptions(options);
  const share = o.referenceKeypoints === undefined
    ? 1
    : Math.min(1, Math.min(query.count, candidate.count) / o.referenceKeypoints);
  return Math.max(1, Math.round(o.minInliers * share));
}

/** log of the binomial coefficient C(n, k). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log((n - k + i) / i);
  return s;
}

/**
 * A-contrario number of false alarms of `inliers` RANSAC inliers among `matches` tentative matches (ORSA,
 * Moisan and Stival 2004): the expected number, under the null model of matches whose candidate points fall
 * uniformly in the candidate image, of the C(matches, s) minimal-sample models (s = 3 affine, 4 homography)
 * that would collect as many inliers: C(n, s) * P[Binomial(n - s, p) >= k - s], where p is the share of the
 * image within the tolerance of a predicted point (`pi * t^2 / area`, capped at 1). Scale-free: a tolerance that
 * follows the image gives the same p at every resolution. Below 1: more inliers than chance explains.
 *
 * @example
 * ```ts
 * import { chanceInliersNfa } from "./verifier.ts";
 * // 160x120 image, 6.25 px tolerance: 8 of 300 matches could be chance, 40 could not.
 * console.assert(chanceInliersNfa(8, 300, 6.25, 160 * 120) > 1);
 * console.assert(chanceInliersNfa(40, 300, 6.25, 160 * 120) < 1e-6);
 * ```
 */
export function chanceInliersNfa(
  inliers: number,
  matches: number,
  tolerance: number,
  area: number,
  model: "affine" | "homography" = "affine",
): number {
  const s = model === "affine" ? 3 : 4;
  const n = matches - s, k = inliers - s;
  if (n <= 0 || k <= 0) return Math.exp(logChoose(Math.max(matches, s), s));
  const p = Math.min(1, (Math.PI * tolerance * tolerance) / Math.max(1, area));
  if (p >= 1) return Math.exp(logChoose(matches, s));
  // Binomial tail summed in log space from the mode side (terms fall fast once j > n p).
  const lp = Math.log(p), lq = Math.log1p(-p);
  let logTerm = logChoose(n, k) + k * lp + (n - k) * lq;
  let tail = 0;
  for (let j = k; j <= n; j++) {
    tail += Math.exp(logTerm);
    if (j > n * p && Math.exp(logTerm) < tail * 1e-12) break;
    logTerm += Math.log((n - j) / (j + 1)) + lp - lq;
  }
  return Math.exp(logChoose(matches, s)) * Math.min(1, tail);
}
export function verifyMatches(
  query: LocalFeatures,
  candidate: LocalFeatures,
  matches: Matches,
  options: VerifyOptions = {},
): PairVerification {
  const o = resolveVerifyOptions(options);
  const n = matches.count;
  const src = new Float32Array(2 * n), dst = new Float32Array(2 * n);
  for (let k = 0; k < n; k++) {
    const i = matches.queryIndex[k], j = matches.candidateIndex[k];
    src[2 * k] = query.keypoints[2 * i], src[2 * k + 1] = query.keypoints[2 * i + 1];
    dst[2 * k] = candidate.keypoints[2 * j], dst[2 * k + 1] = candidate.keypoints[2 * j + 1];
  }
  const minimal = o.model === "affine" ? 3 : 4;
  if (n < minimal) {
    return {
      ok: false,
      inliers: 0,
      matches: n,
      score: 0,
      reason: `too few tentative matches (${n} < ${minimal})`,
    };
  }
  const threshold = verificationThreshold(candidate, o);
  const r = ransac(src, dst, {
    model: o.model,
    threshold,
    maxIterations: o.maxIterations,
    confidence: o.confidence,
    seed: o.seed,
    localOptimization: o.localOptimization,
    plausible: o.plausible,
  });
  const correspondences = {
    query: matches.queryIndex,
    candidate: matches.candidateIndex,
    inlier: r.inlierMask,
  };
  if (!r.ok) return { ok: false, inliers: 0, matches: n, score: 0, reason: r.reason, correspondences };
  const need = inliersNeeded(query, candidate, o);
  const nfa = chanceInliersNfa(
    r.inliers,
    n,
    threshold,
    candidate.imageWidth * candidate.imageHeight,
    o.model,
  );
  const reason = r.inliers < need
    ? `too few inliers (${r.inliers} < ${need})`
    : nfa >= 1
    ? `inliers within chance (${r.inliers} of ${n} matches at ${threshold.toFixed(1)} px: ${
      nfa.toPrecision(2)
    } such models expected at random)`
    : undefined;
  return {
    ok: reason === undefined,
    inliers: r.inliers,
    matches: n,
    score: verificationScore(r.inliers, n),
    transform: r.transform,
    ...(reason ? { reason } : {}),
    correspondences,
  };
}

/**
 * Verify one (query, candidate) pair synchronously (JavaScript matcher + RANSAC). Never throws on content.
 *
 * @example
 * ```ts
 * import { verifyPair } from "./verifier.ts";
 * const blank = { count: 0, dim: 40, keypoints: new Float32Array(0), scales: new Float32Array(0),
 *   attention: new Float32Array(0), descriptors: new Float32Array(0), imageWidth: 640, imageHeight: 480 };
 * const r = verifyPair(blank, blank);
 * console.assert(!r.ok && r.reason!.includes("no keypoints"));
 * ```
 */
export function verifyPair(
  query: LocalFeatures,
  candidate: LocalFeatures,
  options: VerifyOptions = {},
): PairVerification {
  const o = resolveVerifyOptions(options);
  const pre = precheck(query, candidate, o);
  if (pre) return pre;
  const nn = nearestNeighbours(query.descriptors, candidate.descriptors, query.dim);
  return verifyMatches(query, candidate, mutualMatches(nn, o.maxDistance), o);
}

/** Same as {@link verifyPair} with an injected (possibly asynchronous, faster) nearest-neighbour function. */
export async function verifyPairWith(
  nnFn: NearestNeighbourFn,
  query: LocalFeatures,
  candidate: LocalFeatures,
  options: VerifyOptions = {},
): Promise<PairVerification> {
  const o = resolveVerifyOptions(options);
  const pre = precheck(query, candidate, o);
  if (pre) return pre;
  let nn: NearestNeighbours;
  try {
    nn = await nnFn(query.descriptors, candidate.descriptors, query.dim);
  } catch {
    nn = nearestNeighbours(query.descriptors, candidate.descriptors, query.dim);
  }
  return verifyMatches(query, candidate, mutualMatches(nn, o.maxDistance), o);
}

/** Where a verifier finds the stored features of a place (keyframe). */
export interface LocalFeatureStore {
  /** Features of `placeId`, or undefined when the place has none. */
  get(placeId: number): Promise<LocalFeatures | undefined>;
}

/** An in-memory store (tests, maps built in this process). */
export class MemoryFeatureStore implements LocalFeatureStore {
  readonly #features = new Map<number, LocalFeatures>();
  /** Add or replace the features of a place. */
  set(placeId: number, features: LocalFeatures): void {
    this.#features.set(placeId, features);
  }
  /** @inheritdoc */
  get(placeId: number): Promise<LocalFeatures | undefined> {
    return Promise.resolve(this.#features.get(placeId));
  }
}

/**
 * A store over encoded blobs (see `features_codec.ts`), read on first use and kept decoded in an LRU cache.
 * `read` is typically a map's per-place blob reader.
 */
export class BlobFeatureStore implements LocalFeatureStore {
  readonly #read: (placeId: number) => Promise<Uint8Array | undefined>;
  readonly #cache: LruCache<number, LocalFeatures>;
  /** Blobs read so far (for tests and stats). */
  reads = 0;
  constructor(
    read: (placeId: number) => Promise<Uint8Array | undefined>,
    options: { cacheSize?: number } = {},
  ) {
    this.#read = read;
    const capacity = options.cacheSize ?? 512;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw invalid("create a feature store", "cacheSize", "a positive integer", capacity);
    }
    this.#cache = new LruCache(capacity);
  }
  /** @inheritdoc */
  async get(placeId: number): Promise<LocalFeatures | undefined> {
    const hit = this.#cache.get(placeId);
    if (hit) return hit;
    const bytes = await this.#read(placeId);
    this.reads++;
    if (!bytes) return undefined;
    const f = decodeLocalFeatures(bytes, `local features of place ${placeId}`);
    this.#cache.set(placeId, f);
    return f;
  }
}

/** One candidate's verification outcome. */
export interface CandidateVerification {
  placeId: number;
  result: VerificationResult;
}

/** Options of {@link Verifier}. */
export interface VerifierOptions extends VerifyOptions {
  /** Nearest-neighbour backend. Default: ONNX Runtime GEMM (`onnxNearestNeighbours()`), JavaScript on failure. */
  nearestNeighbours?: NearestNeighbourFn;
}

/**
 * Verifies a query's features against candidate places' stored features.
 *
 * @example
 * ```ts
 * import { MemoryFeatureStore, Verifier } from "./verifier.ts";
 * const v = new Verifier(new MemoryFeatureStore());
 * const [r] = await v.verifyCandidates({ count: 0, dim: 40, keypoints: new Float32Array(0),
 *   scales: new Float32Array(0), attention: new Float32Array(0), descriptors: new Float32Array(0),
 *   imageWidth: 64, imageHeight: 48 }, [7]);
 * console.assert(r.placeId === 7 && !r.result.ok);
 * ```
 */
export class Verifier {
  readonly store: LocalFeatureStore;
  readonly options: ResolvedVerifyOptions;
  #nn: NearestNeighbourFn | Promise<NearestNeighbourFn> | undefined;

  constructor(store: LocalFeatureStore, options: VerifierOptions = {}) {
    this.store = store;
    this.options = resolveVerifyOptions(options);
    this.#nn = options.nearestNeighbours;
  }

  async #backend(): Promise<NearestNeighbourFn> {
    if (!this.#nn) {
      this.#nn = onnxNearestNeighbours().catch(() => (a: Float32Array, b: Float32Array, d: number) =>
        Promise.resolve(nearestNeighbours(a, b, d))
      );
    }
    return await this.#nn;
  }

  /** Verify one candidate place. */
  async verify(query: LocalFeatures, placeId: number): Promise<PairVerification> {
    let candidate: LocalFeatures | undefined;
    try {
      candidate = await this.store.get(placeId);
    } catch (err) {
      return {
        ok: false,
        inliers: 0,
        matches: 0,
        score: 0,
        reason: `features of place ${placeId} unreadable: ${(err as Error).message}`,
      };
    }
    if (!candidate) {
      return {
        ok: false,
        inliers: 0,
        matches: 0,
        score: 0,
        reason: `place ${placeId} has no stored local features`,
      };
    }
    return await verifyPairWith(await this.#backend(), query, candidate, this.options);
  }

  /** Verify every candidate place (in order); results are plain `VerificationResult`s. */
  async verifyCandidates(query: LocalFeatures, placeIds: number[]): Promise<CandidateVerification[]> {
    const out: CandidateVerification[] = [];
    for (const placeId of placeIds) {
      const { correspondences: _c, ...result } = await this.verify(query, placeId);
      out.push({ placeId, result });
    }
    return out;
  }
}

/** Options of {@link rerankByVerification}. */
export interface RerankOptions {
  /**
   * How verified and unverified candidates mix. `"verified-first"` (default): verified (ok) candidates by
   * inliers, descending, then the rest in retrieval order. `"inliers"`: every verified-or-not candidate by
   * inlier count (ties: retrieval order).
   */
  mode?: "verified-first" | "inliers";
  /** Drop candidates that failed verification (only those that were verified). Default false. */
  dropRejected?: boolean;
}

/**
 * Re-rank retrieval hypotheses with verification results: sets `inliers` on verified hypotheses and
 * renumbers `rank` from 0. Hypotheses without a result keep their retrieval order after verified ones.
 *
 * @example
 * ```ts
 * import { rerankByVerification } from "./verifier.ts";
 * const hyps = [{ placeId: 1, similarity: 0.9, rank: 0 }, { placeId: 2, similarity: 0.8, rank: 1 }];
 * const out = rerankByVerification(hyps, [
 *   { placeId: 1, result: { ok: false, inliers: 10, matches: 50, score: 10 } },
 *   { placeId: 2, result: { ok: true, inliers: 120, matches: 200, score: 120 } },
 * ]);
 * console.assert(out[0].placeId === 2 && out[0].inliers === 120 && out[0].rank === 0);
 * ```
 */
export function rerankByVerification(
  hypotheses: PlaceHypothesis[],
  results: CandidateVerification[],
  options: RerankOptions = {},
): PlaceHypothesis[] {
  const mode = options.mode ?? "verified-first";
  if (mode !== "verified-first" && mode !== "inliers") {
    throw invalid("re-rank candidates", "mode", `"verified-first" or "inliers"`, mode);
  }
  const byId = new Map(results.map((r) => [r.placeId, r.result]));
  const items = hypotheses.map((h, order) => {
    const r = byId.get(h.placeId);
    return { h: r ? { ...h, inliers: r.inliers } : { ...h }, r, order };
  }).filter((it) => !(options.dropRejected && it.r && !it.r.ok));
  items.sort((a, b) => {
    if (mode === "verified-first") {
      const va = a.r?.ok ? 1 : 0, vb = b.r?.ok ? 1 : 0;
      if (va !== vb) return vb - va;
      if (va === 1 && a.r!.inliers !== b.r!.inliers) return b.r!.inliers - a.r!.inliers;
      return a.order - b.order;
    }
    const ia = a.r?.inliers ?? -1, ib = b.r?.inliers ?? -1;
    return ib !== ia ? ib - ia : a.order - b.order;
  });
  return items.map((it, rank) => ({ ...it.h, rank }));
}
