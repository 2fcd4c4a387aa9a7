/**
 * The pipeline's geometric verifier: a {@link Verifier} (see `verification_hook.ts`) over the DELF-style
 * verification of `src/verify/` (dense SIFT local features with attention keypoints, mutual nearest
 * neighbours, RANSAC).
 *
 * - Session keyframes (`space: "session"`, loop candidates of this run): `remember()` keeps a grayscale copy of
 *   each keyframe (longer side at most `maxSide`), cheap enough for every keyframe; local features are extracted
 *   only when a keyframe is first named as a candidate, and cached (LRU, `cacheSize`). At most
 *   `sessionCapacity` keyframes are kept (the oldest forgotten first). A keyframe this run does not hold (forgotten,
 *   or of an earlier session that a multi-session run extends) is verified from its `image` when it has one
 *   (as a map place is), else it cannot be verified.
 * - Prior map places (`space: "map"`): the features the map stores (`mapFeatures`, e.g. a loaded map's
 *   `localFeatures`: read lazily, PCA-reduced with the map's projection, which the query is then reduced with
 *   too); for a place without stored features, features extracted from the image that
 *   `mapImage(placeId, candidate)` returns, else from the candidate's `image` path (relative to `imageRoot`),
 *   decoded once and cached.
 * - Extracted features are full-size (128-d, no PCA), so that a run with no map needs no fitted projection;
 *   images are reduced as map build reduces them for its stored features (`verificationImage`, longer side
 *   `maxSide`, `maxKeypoints`, the same extraction defaults), so stored and fresh features compare. Stored
 *   features whose recorded extraction (`info.extraction`) differs from the queries' ({@link
 *   GeometricVerifier.extraction}, e.g. a map written before the front end changed) are not used: those places
 *   are re-extracted from their images (`verifier_loader.ts` says so in one notice).
 *
 * Every result is a `VerificationResult`; nothing throws on image content (a candidate that cannot be read gets
 * `ok: false` and a `reason`). Thresholds follow the image: the RANSAC tolerance is a fraction of the image
 * (`relativeThreshold`), and `ok` needs `minInliers` scaled by the keypoints the pair has (the smaller side's
 * count over `maxKeypoints`, at most 1): a small image has fewer keypoints, so fewer inliers mean as much; and
 * the inliers must be more than chance matches would give (the pair verifier's a-contrario test, see
 * `src/verify/verifier.ts`).
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import { invalid } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import type { LocalFeatures, PixelImage, VerificationEvent, VerificationResult } from "../types.ts";
import { extractLocalFeatures, verificationImage } from "../verify/local_features.ts";
import { reduceFeatures } from "../verify/eval_hooks.ts";
import type { PcaProjection } from "../verify/pca.ts";
import {
  type LocalFeatureStore,
  resolveVerifyOptions,
  Verifier as PairVerifier,
  type VerifyOptions,
} from "../verify/verifier.ts";
import type { LocalFeatureExtraction } from "../map/format.ts";
import { DEFAULT_LOCAL_FEATURE_EXTRACTION, extractionMismatch } from "../map/local_features_writer.ts";
import { DEFAULT_MIN_INLIERS, UNVERIFIABLE } from "../localize/loop_gate.ts";
import type { VerificationCandidate, VerificationQuery, Verifier } from "./verification_hook.ts";
import { LruCache } from "../_lru.ts";

/** Stored features of prior-map places (a loaded map's `localFeatures` fits). */
export interface MapFeatureSource extends LocalFeatureStore {
  /** The projection the stored features were reduced with; queries are reduced with it for map candidates. */
  pca?(): Promise<PcaProjection>;
  /** The manifest section the features come from (a loaded map's); its `extraction` must match the queries'. */
  readonly info?: { readonly extraction?: LocalFeatureExtraction };
}

/**
 * Why stored features cannot be compared with queries extracted as `query` (their recorded extraction differs,
 * see `extractionMismatch`), or undefined when they can (or record nothing to compare: not a map's features).
 */
export function mapFeaturesMismatch(
  features: MapFeatureSource,
  query: LocalFeatureExtraction,
): string | undefined {
  if (!features.info) return undefined;
  return extractionMismatch(features.info.extraction, query);
}

/** Options of {@link createGeometricVerifier}. All optional. */
export interface GeometricVerifierOptions {
  /** RANSAC inliers for `ok: true`. Default the pipeline's `DEFAULT_MIN_INLIERS` (120, `loop_gate.ts`). */
  minInliers?: number;
  /** Keypoints kept per image. Default the extractor's (1000, as map build stores). */
  maxKeypoints?: number;
  /** Pyramid scales of the local features. Default the extractor's (`[1, 0.7071, 0.5, 0.3536]`). */
  scales?: number[];
  /** Images are downscaled so that their longer side is at most this (pixels). Default 512 (as map build). */
  maxSide?: number;
  /** Session keyframes kept for verification. Default 4000. */
  sessionCapacity?: number;
  /** Extracted feature sets kept (LRU). Default 64. */
  cacheSize?: number;
  /** Stored features of prior-map places (e.g. `loadMap(...).localFeatures`). Default none (see `mapImage`). */
  mapFeatures?: MapFeatureSource;
  /** Pixels of a prior-map place. Default: decode `candidate.image` (relative to `imageRoot`). */
  mapImage?: (placeId: number, candidate: VerificationCandidate) => Promise<PixelImage | undefined>;
  /** Folder relative image paths of map candidates are resolved against. Default the working folder. */
  imageRoot?: string;
  /**
   * RANSAC inlier tolerance as a fraction of the candidate image's longer side (as verified, after `maxSide`).
   * Default 20 / 512: DELF's 20 px at the 512 px the verifier works at, and 6 px at 160x120, where 20 px would
   * be an eighth of the image and a corridor's converging lines would fit any affine model. An explicit
   * `verify.threshold` (pixels) wins.
   */
  relativeThreshold?: number;
  /** Other pair-verification options (RANSAC model, threshold, matching distance). */
  verify?: Omit<VerifyOptions, "minInliers">;
}

/** A {@link Verifier} with its bookkeeping visible (tests, stats). */
export interface GeometricVerifier extends Verifier {
  /** Session keyframes currently kept. */
  readonly sessionSize: number;
  /** Feature extractions done so far. */
  readonly extractions: number;
  /** Extraction settings of queries and extracted candidates; stored map features must record the same. */
  readonly extraction: LocalFeatureExtraction;
  /** Keep a keyframe of the run (a later loop may name it). */
  remember(keyframe: VerificationQuery & { placeId: number }): void;
  /** Use (or, with undefined, stop using) stored features of the prior map, e.g. once a map is built. */
  useMapFeatures(features: MapFeatureSource | undefined): void;
}

const gray = verificationImage;

/**
 * Create the pipeline's geometric verifier (see the module doc).
 *
 * @example
 * ```ts ignore
 * const verifier = createGeometricVerifier();
 * const { loops$ } = localize(source.frames(), { model, verifier });
 * ```
 */
export function createGeometricVerifier(options: GeometricVerifierOptions = {}): GeometricVerifier {
  const action = "create the geometric verifier";
  const minInliers = options.minInliers ?? DEFAULT_MIN_INLIERS;
  const maxKeypoints = options.maxKeypoints ?? DEFAULT_LOCAL_FEATURE_EXTRACTION.maxKeypoints;
  const maxSide = options.maxSide ?? DEFAULT_LOCAL_FEATURE_EXTRACTION.maxSide;
  const extraction: LocalFeatureExtraction = {
    ...DEFAULT_LOCAL_FEATURE_EXTRACTION,
    maxSide,
    maxKeypoints,
    scales: [...(options.scales ?? DEFAULT_LOCAL_FEATURE_EXTRACTION.scales)],
  };
  // Stored features extracted otherwise than the queries are not compared (their places are re-extracted).
  const usable = (f: MapFeatureSource | undefined) =>
    f && !mapFeaturesMismatch(f, extraction) ? f : undefined;
  let mapFeatures = usable(options.mapFeatures);
  const capacity = options.sessionCapacity ?? 4000;
  const cacheSize = options.cacheSize ?? 64;
  if (!Number.isInteger(minInliers) || minInliers < 0) {
    throw invalid(action, "minInliers", "an integer >= 0", minInliers);
  }
  if (!Number.isInteger(maxKeypoints) || maxKeypoints < 8) {
    throw invalid(action, "maxKeypoints", "an integer >= 8", maxKeypoints);
  }
  if (!(maxSide >= 32)) throw invalid(action, "maxSide", "a number >= 32", maxSide);
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw invalid(action, "sessionCapacity", "a positive integer", capacity);
  }
  if (!Number.isInteger(cacheSize) || cacheSize < 1) {
    throw invalid(action, "cacheSize", "a positive integer", cacheSize);
  }
  // A remembered keyframe's image and the cache key of its features: a key of its own per remember(), so that
  // a place id that names another image later (a verifier reused for another sequence, whose ids start again
  // at 0) never gets the features of the image it named before.
  const session = new Map<number, { image: PixelImage; key: string }>();
  const cache = new LruCache<string, LocalFeatures>(cacheSize);
  let remembered = 0;
  // Bumped when the prior map changes: features extracted from an earlier map's images are not reused.
  let mapGeneration = 0;
  let extractions = 0;
  const extract = async (image: PixelImage): Promise<LocalFeatures> => {
    extractions++;
    const { scales, attentionThreshold, nmsIoU } = extraction;
    return await extractLocalFeatures(gray(image, maxSide), {
      maxKeypoints,
      scales,
      attentionThreshold,
      nmsIoU,
    });
  };
  const cached = async (key: string, get: () => Promise<PixelImage | undefined>) => {
    const hit = cache.get(key);
    if (hit) return hit;
    const image = await get();
    if (!image) return undefined;
    const f = await extract(image);
    cache.set(key, f);
    return f;
  };
  const mapImage = options.mapImage ?? (async (_id: number, c: VerificationCandidate) => {
    if (!c.image) return undefined;
    const path = isAbsolute(c.image) || !options.imageRoot ? c.image : join(options.imageRoot, c.image);
    return await decodeImage(await Deno.readFile(path), { channels: 1, source: path });
  });
  const candidateStore = (candidates: Map<number, VerificationCandidate>): LocalFeatureStore => ({
    async get(placeId) {
      const c = candidates.get(placeId)!;
      if (c.space === "session") {
        const kept = session.get(placeId);
        if (kept) return await cached(kept.key, () => Promise.resolve(kept.image));
        // A keyframe of an earlier session (multi-session SLAM) was never remembered by this run: its image.
        return await cached(`i${placeId}:${c.image ?? ""}`, () => mapImage(placeId, c));
      }
      const stored = mapFeatures ? await mapFeatures.get(placeId) : undefined;
      return stored ??
        await cached(`m${mapGeneration}:${placeId}:${c.image ?? ""}`, () => mapImage(placeId, c));
    },
  });
  const relative = options.relativeThreshold ?? 20 / 512;
  if (!(relative > 0 && relative < 1)) {
    throw invalid(action, "relativeThreshold", "a number in (0, 1)", relative);
  }
  const pairOptions: VerifyOptions = {
    ...options.verify,
    relativeThreshold: relative,
    minInliers,
    referenceKeypoints: maxKeypoints,
  };
  const minKeypoints = resolveVerifyOptions(pairOptions).minKeypoints;
  return {
    get sessionSize() {
      return session.size;
    },
    get extractions() {
      return extractions;
    },
    get extraction() {
      return { ...extraction, scales: [...extraction.scales] };
    },
    remember(kf) {
      // Delete first so that a re-remembered id counts as the newest (the oldest is forgotten first).
      session.delete(kf.placeId);
      session.set(kf.placeId, { image: gray(kf.pixels, maxSide), key: `s${remembered++}` });
      if (session.size > capacity) session.delete(session.keys().next().value!);
    },
    useMapFeatures(features) {
      mapFeatures = usable(features);
      mapGeneration++;
    },
    async verify(query: VerificationQuery, candidates: VerificationCandidate[]): Promise<VerificationEvent> {
      const q = await extract(query.pixels);
      // Stored map features are PCA-reduced: the query is reduced with the map's projection (once) for them.
      let reduced: Promise<LocalFeatures | undefined> | undefined;
      const queryFor = (f: LocalFeatures): Promise<LocalFeatures | undefined> => {
        if (f.dim === q.dim) return Promise.resolve(q);
        const source = mapFeatures;
        reduced ??= (async () => {
          const pca = source?.pca ? await source.pca() : undefined;
          return pca && pca.inputDim === q.dim ? reduceFeatures(q, pca) : undefined;
        })();
        return reduced.then((r) => (r && r.dim === f.dim ? r : undefined));
      };
      const byId = new Map(candidates.map((c) => [c.placeId, c]));
      const store = candidateStore(byId);
      // The pair verifier's scale-free test (`src/verify/verifier.ts`): tolerance a fraction of the candidate
      // image, inliers a fraction of the pair's keypoints (`minInliers` at `maxKeypoints`), beyond chance.
      const pair = new PairVerifier(store, pairOptions);
      const unverifiable = (why: string): VerificationResult => ({
        ok: false,
        inliers: 0,
        matches: 0,
        score: 0,
        reason: `${UNVERIFIABLE} ${why}`,
      });
      const results: { placeId: number; result: VerificationResult }[] = [];
      for (const c of candidates) {
        let result: VerificationResult;
        try {
          const f = await store.get(c.placeId);
          if (!f) {
            result = unverifiable(
              c.space === "session"
                ? `session keyframe ${c.placeId} is not remembered (forgotten or never seen)`
                : `map place ${c.placeId} has no local features or readable image`,
            );
          } else if (q.count < minKeypoints || f.count < minKeypoints) {
            const side = q.count < minKeypoints ? "query" : `place ${c.placeId}`;
            result = unverifiable(
              `${side} has too few keypoints (${Math.min(q.count, f.count)} < ${minKeypoints}): textureless`,
            );
          } else {
            const qf = await queryFor(f);
            if (!qf) {
              result = unverifiable(
                `place ${c.placeId} has ${f.dim}-d stored features that the query's ${q.dim}-d cannot be reduced to (no matching PCA)`,
              );
            } else {
              const { correspondences: _c, ...r } = await pair.verify(qf, c.placeId);
              result = r;
            }
          }
        } catch (err) {
          result = unverifiable(`place ${c.placeId} could not be read: ${(err as Error).message}`);
        }
        results.push({ placeId: c.placeId, result });
      }
      return { kind: "verification", seq: query.seq, stamp: query.stamp, results };
    },
  };
}
