/**
 * `buildMap`: images (a dataset, a folder, or a list) to a map folder: decode, fit the default model on the
 * map's own images (or use a given model), describe in batches, index, write atomically.
 * @module
 */
import { join, resolve } from "node:path";
import { ImageDecodeError, invalid, requirePositiveInt } from "../errors.ts";
import { readImageSource } from "../dataset/image_folder.ts";
import type { DatasetImage } from "../dataset/types.ts";
import type { HnswIndexOptions } from "../index/hnsw_index.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type { DescriptorModel, PixelImage, PlaceMeta, ProviderChoice } from "../types.ts";
import { removeQuietly } from "../_fs.ts";
import { copyTree } from "./_fs.ts";
import { buildMapIndex } from "./_index_io.ts";
import { checkPreset, decodeFile, FIT_CHANNELS, fitDefaultModelInto, loadModelDir } from "./_model_bridge.ts";
import {
  MAP_FILES,
  type MapFleetRef,
  type MapIndexKind,
  type MapManifest,
  type MapModelRef,
  type SkippedImage,
} from "./format.ts";
import { LocalFeatureCollector, type LocalFeatureCollectorOptions } from "./local_features_writer.ts";
import { acquireMapLock, type MapLock } from "./lock.ts";
import { blindPlacesOf } from "../localize/place_filter.ts";
import { checkMapTarget, writeMap, type WriteMapOptions } from "./map_writer.ts";

/**
 * Read-side decoder used by map build and evaluation: image file bytes to pixels (`source` names the file in
 * errors; `channels` 1 = grey, 3 = RGB). @throws {ImageDecodeError} for corrupt, truncated or unknown formats.
 */
export const decodeImageFile: (bytes: Uint8Array, source: string, channels: 1 | 3) => Promise<PixelImage> =
  decodeFile;

/** Phases reported by {@link BuildProgress}. */
export type BuildPhase = "decode" | "fit" | "describe" | "index" | "write";

/** Progress of a map build. */
export interface BuildProgress {
  phase: BuildPhase;
  done: number;
  total: number;
}

/** Options of {@link buildMap}. All optional. */
export interface BuildMapOptions {
  /** Use this model (not stored in the map). Default: fit the default model on the map's images. */
  model?: DescriptorModel;
  /** Load the model from this folder (recorded in the manifest, not copied). Default: fit the default model. */
  modelDir?: string;
  /** Default-model preset to fit (`listPresets()`). Default `dsift-netvlad-64`. */
  preset?: string;
  /** NetVLAD clusters when fitting the default model. Default: the preset's (64). */
  clusters?: number;
  /** PCA whitening dimension learnt on the map when fitting the default model; 0 = none. Default: the preset's. */
  pcaDim?: number;
  /** At most this many images (evenly spread) fit the default model. Default 400. */
  fitImages?: number;
  /** Index kind. Default `"hnsw"`. */
  index?: MapIndexKind;
  /** The shared place table recorded in the manifest (a fleet map, see `map_fleet.ts`). Default none. */
  fleet?: MapFleetRef;
  /** HNSW parameters (defaults of `HnswIndex`). */
  hnsw?: HnswIndexOptions;
  /** Execution provider. Default `"auto"`. */
  provider?: ProviderChoice;
  /** Images per describe batch. Default 8. */
  batchSize?: number;
  /** Progress callback (called often; cheap). Default none. */
  onProgress?: (progress: BuildProgress) => void;
  /** Warnings (skipped images). Default: `console.warn` (stderr). */
  onWarning?: (message: string) => void;
  /** Decoder (tests inject one). Default: `src/image/decode.ts` via sharp. */
  decode?: (bytes: Uint8Array, source: string, channels: 1 | 3) => Promise<PixelImage>;
  /**
   * Called with each place and its decoded image as it is described (e.g. to extract local features for
   * verification). Default none.
   */
  onPlace?: (place: PlaceMeta, image: PixelImage, source: DatasetImage) => Promise<void> | void;
  /**
   * Store every place's local features for verification (`features/`, PCA fitted on the map, int8; see
   * `local_features.ts`): `false` skips them (verification then re-extracts from the images), an object sets
   * the extraction. Default true.
   */
  localFeatures?: boolean | LocalFeatureCollectorOptions;
  /** Keep the model open and return it with the index (for evaluation). Default false (closed). */
  keepOpen?: boolean;
  /** Options of the atomic write (test hooks). */
  write?: WriteMapOptions;
  /**
   * Replace a Waymark map already at `outDir` (default false: refused). A file or a folder with other content
   * is never replaced (see `checkMapTarget`).
   */
  replace?: boolean;
  /** Dataset CSVs may name absolute image paths (default false; see `readImageSource`). */
  allowAbsolutePaths?: boolean;
}

/** What {@link buildMap} produced. */
export interface BuildMapResult {
  dir: string;
  manifest: MapManifest;
  places: PlaceMeta[];
  /** Images left out because they could not be read or decoded. */
  skipped: SkippedImage[];
  /** Wall time of the whole build, seconds. */
  seconds: number;
  /** Places per second over the whole build (decode, fit, describe, index, write). */
  imagesPerSecond: number;
  /** Places per second of decode + describe (+ local-feature extraction, overlapped, when stored). */
  describeImagesPerSecond: number;
  /** Only with `keepOpen`: the model (caller closes it) and the in-memory index. */
  model?: DescriptorModel;
  index?: VectorIndex;
  descriptors?: Float32Array;
  /** The stored local features: what they cost and weigh (absent with `localFeatures: false`). */
  localFeatures?: LocalFeaturesBuildFacts;
}

/** What storing local features added to a build. */
export interface LocalFeaturesBuildFacts {
  /** False when no place had any keypoint (nothing stored; `reason` says so). */
  stored: boolean;
  reason?: string;
  /** Seconds spent on them (extraction, PCA fit, writing); part of the build's `seconds`. */
  seconds: number;
  /** Bytes of `features/local.bin` per place (int8 descriptors, keypoints, scales, attention). */
  bytesPerPlace: number;
  /** Mean keypoints per place. */
  keypointsPerPlace: number;
  /** Bytes of the three `features/` files. */
  bytes: number;
}

function validate(options: BuildMapOptions) {
  const action = "build map";
  const clusters = options.clusters === undefined
    ? undefined
    : requirePositiveInt(action, "clusters", options.clusters);
  const pcaDim = options.pcaDim;
  if (pcaDim !== undefined && (!Number.isInteger(pcaDim) || pcaDim < 0)) {
    throw invalid(action, "pcaDim", "a non-negative integer (0 = no PCA)", pcaDim);
  }
  const preset = options.preset === undefined ? undefined : checkPreset(options.preset);
  const fitImages = requirePositiveInt(action, "fitImages", options.fitImages ?? 400);
  const batchSize = requirePositiveInt(action, "batchSize", options.batchSize ?? 8);
  const index = options.index ?? "hnsw";
  if (index !== "hnsw" && index !== "exact") throw invalid(action, "index", "one of hnsw, exact", index);
  const provider = options.provider ?? "auto";
  if (!["auto", "cpu", "cuda"].includes(provider)) {
    throw invalid(action, "provider", "one of auto, cpu, cuda", provider);
  }
  if (options.model && options.modelDir) {
    throw invalid(action, "modelDir", "absent when 'model' is given", options.modelDir);
  }
  return { preset, clusters, pcaDim, fitImages, batchSize, index, provider };
}

/** Evenly spread `k` of `n` indices. */
function spread(n: number, k: number): number[] {
  if (k >= n) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: k }, (_, i) => Math.floor((i * n) / k));
}

/**
 * Build a map folder from images. Unreadable or undecodable images are skipped with a warning and counted
 * (`skipped`, and `counts.skipped` in the manifest); the folder is written atomically (a failure leaves the
 * previous map, if any, untouched).
 *
 * @throws {ValidationError} bad options; {@link DatasetError} bad source; {@link ImageDecodeError} when no image
 *   at all could be decoded; {@link ModelLoadError} when the model cannot be loaded or fitted.
 *
 * @example
 * ```ts ignore
 * const r = await buildMap("../shared/data/rtabmap_samples_loop", "maps/rtabmap", { index: "exact" });
 * console.log(r.manifest.counts.places, r.imagesPerSecond.toFixed(1), "images/s");
 * ```
 */
export async function buildMap(
  source: DatasetImage[] | string,
  outDir: string,
  options: BuildMapOptions = {},
): Promise<BuildMapResult> {
  const opts = validate(options);
  const t0 = performance.now();
  // Refuse a path that is not ours before any work; take the lock before the long part so that a second
  // writer fails at once. writeMap checks the path again under the lock.
  await checkMapTarget(outDir, { replace: options.replace, action: "build map" });
  const images = typeof source === "string"
    ? (await readImageSource(source, { allowAbsolutePaths: options.allowAbsolutePaths })).images
    : source;
  if (images.length === 0) throw invalid("build map", "images", "a non-empty list", images);
  const lock = await acquireMapLock(outDir, { command: "waymark map build" });
  try {
    return await buildLocked(source, images, outDir, options, opts, t0, lock);
  } finally {
    await lock.release();
  }
}

async function buildLocked(
  source: DatasetImage[] | string,
  images: DatasetImage[],
  outDir: string,
  options: BuildMapOptions,
  opts: ReturnType<typeof validate>,
  t0: number,
  lock: MapLock,
): Promise<BuildMapResult> {
  const warn = options.onWarning ?? ((m: string) => console.warn(`waymark: warning: ${m}`));
  const progress = options.onProgress ?? (() => {});
  const decodeFn = options.decode ?? decodeFile;
  const featureOpts = options.localFeatures ?? true;
  const sourceName = typeof source === "string" ? resolve(source) : undefined;

  const skipped: SkippedImage[] = [];
  const bad = new Set<number>();
  const decodeOne = async (im: DatasetImage, channels: 1 | 3): Promise<PixelImage | null> => {
    try {
      const bytes = await Deno.readFile(im.path);
      return await decodeFn(bytes, im.path, channels);
    } catch (err) {
      const fsError = Object.values(Deno.errors).some((E) => err instanceof E);
      if (!(err instanceof ImageDecodeError) && !fsError) throw err;
      const reason = (err as Error).message;
      bad.add(im.index);
      skipped.push({ image: im.image, reason });
      warn(`skipping ${im.image}: ${reason}`);
      return null;
    }
  };

  // 1. The model: given, loaded, or fitted on (a spread of) the map's own images.
  let model: DescriptorModel;
  let modelRef: Omit<MapModelRef, "name" | "id" | "dim">;
  let fittedDir: string | null = null;
  const cache = new Map<number, PixelImage>();
  if (options.model) {
    model = options.model;
    modelRef = { bundled: false };
  } else if (options.modelDir) {
    model = await loadModelDir(options.modelDir, opts.provider);
    modelRef = { bundled: false, source: resolve(options.modelDir) };
  } else {
    const pick = spread(images.length, opts.fitImages);
    const keep = images.length <= opts.fitImages; // small map: decode once, reuse for describe
    const fitSet: PixelImage[] = [];
    for (let i = 0; i < pick.length; i++) {
      const im = images[pick[i]];
      const px = await decodeOne(im, FIT_CHANNELS);
      if (px) {
        fitSet.push(px);
        if (keep) cache.set(im.index, px);
      }
      progress({ phase: "decode", done: i + 1, total: pick.length });
    }
    if (fitSet.length === 0) throw noImages(images, skipped);
    progress({ phase: "fit", done: 0, total: fitSet.length + 1 });
    fittedDir = await Deno.makeTempDir({ prefix: "waymark_model_" });
    try {
      model = await fitDefaultModelInto(fitSet, fittedDir, {
        preset: opts.preset,
        clusters: opts.clusters,
        pcaDim: opts.pcaDim,
        provider: opts.provider,
        onProgress: (stage, done) => {
          // Dense descriptors of each fit image, then k-means and the rest (reported as done at the end).
          if (stage === "descriptors") {
            progress({ phase: "fit", done: Math.min(done, fitSet.length), total: fitSet.length + 1 });
          }
        },
      });
    } catch (err) {
      await removeQuietly(fittedDir);
      throw err;
    }
    progress({ phase: "fit", done: fitSet.length + 1, total: fitSet.length + 1 });
    modelRef = { bundled: true };
  }

  let collector: LocalFeatureCollector | null = null;
  let featureDir: string | null = null;
  try {
    if (featureOpts !== false) {
      collector = await LocalFeatureCollector.create({
        expectedPlaces: images.length,
        ...(featureOpts === true ? {} : featureOpts),
      });
    }
    const dim = model.info.descriptorDim;
    const channels = model.info.inputChannels;
    // 2. Describe in batches.
    const tDescribe = performance.now();
    const rows: Float32Array[] = [];
    const places: PlaceMeta[] = [];
    // Decode batch i+1 while batch i is described (decode and inference overlap on separate threads).
    const decodeBatch = async (start: number) => {
      const batch = images.slice(start, start + opts.batchSize).filter((im) => !bad.has(im.index));
      const decoded: { im: DatasetImage; px: PixelImage }[] = [];
      for (const im of batch) {
        let px = cache.get(im.index) ?? null;
        if (px && px.channels !== channels) px = null;
        px ??= await decodeOne(im, channels);
        cache.delete(im.index);
        if (px) decoded.push({ im, px });
      }
      return decoded;
    };
    let next: Promise<{ im: DatasetImage; px: PixelImage }[]> | null = decodeBatch(0);
    for (let start = 0; start < images.length; start += opts.batchSize) {
      const decoded = await next!;
      next = start + opts.batchSize < images.length ? decodeBatch(start + opts.batchSize) : null;
      next?.catch(() => {}); // handled when awaited; avoids an unhandled rejection if describe throws first
      if (decoded.length > 0) {
        // Local features of the batch are extracted while the model describes it (inference runs off-thread).
        const outsP = model.describeBatch(decoded.map((d) => d.px));
        outsP.catch(() => {}); // awaited below
        if (collector) {
          for (let k = 0; k < decoded.length; k++) await collector.add(places.length + k, decoded[k].px);
        }
        const outs = await outsP;
        for (let k = 0; k < outs.length; k++) {
          const o = outs[k];
          if (o.global.length !== dim) {
            throw invalid(
              "build map",
              "descriptor length",
              `the model's descriptorDim ${dim}`,
              o.global.length,
            );
          }
          const { im, px } = decoded[k];
          const place: PlaceMeta = { placeId: places.length, image: im.image, stamp: im.stamp };
          if (im.position) place.position = im.position;
          places.push(place);
          rows.push(o.global);
          if (options.onPlace) await options.onPlace(place, px, im);
        }
      }
      progress({
        phase: "describe",
        done: Math.min(images.length, start + opts.batchSize),
        total: images.length,
      });
    }
    if (places.length === 0) throw noImages(images, skipped);
    const describeSeconds = (performance.now() - tDescribe) / 1000;
    const descriptors = new Float32Array(places.length * dim);
    rows.forEach((r, i) => descriptors.set(r, i * dim));
    const blind = blindPlacesOf(descriptors, places.length);
    if (blind.length > 0) {
      const names = blind.slice(0, 5).map((i) => places[i].image).join(", ") +
        (blind.length > 5 ? ", ..." : "");
      const verb = blind.length === 1 ? "has" : "have";
      warn(
        `${blind.length} of ${places.length} places ${verb} an empty descriptor (nothing in the image clears ` +
          `the descriptor's noise floor: too dark or featureless): ${names}; they cannot be recognised, and ` +
          `localization passes over them`,
      );
    }

    // 3. Index, 4. write.
    progress({ phase: "index", done: 0, total: places.length });
    const built = buildMapIndex(opts.index, dim, descriptors, options.hnsw);
    progress({ phase: "index", done: places.length, total: places.length });
    progress({ phase: "write", done: 0, total: 1 });
    let featureFacts: LocalFeaturesBuildFacts | undefined;
    let featureInfo = null;
    if (collector) {
      featureDir = await Deno.makeTempDir({ prefix: "waymark_map_features_" });
      featureInfo = await collector.write(featureDir, places.length);
      const sizes = featureInfo
        ? await Promise.all(
          [featureInfo.pca, featureInfo.data, featureInfo.index].map(async (f) =>
            (await Deno.stat(join(featureDir!, f))).size
          ),
        )
        : [];
      featureFacts = {
        stored: !!featureInfo,
        ...(featureInfo ? {} : { reason: "no place has any local-feature keypoint (blank or tiny images)" }),
        seconds: round(collector.seconds),
        bytesPerPlace: featureInfo ? Math.round(featureInfo.bytes / places.length) : 0,
        keypointsPerPlace: featureInfo ? round(featureInfo.keypoints / places.length) : 0,
        bytes: sizes.reduce((a, b) => a + b, 0),
      };
    }
    const seconds = (performance.now() - t0) / 1000;
    const manifest = await writeMap(outDir, {
      model: { name: model.info.name, id: model.info.id, dim, ...modelRef },
      places,
      descriptors,
      index: built,
      skipped,
      build: {
        source: sourceName,
        images: images.length,
        seconds: round(seconds),
        imagesPerSecond: round(places.length / seconds),
        provider: model.info.provider,
        ...(featureFacts ? { localFeatures: featureFacts } : {}),
      },
      localFeatures: featureInfo ?? undefined,
      fleet: options.fleet,
      populate: fittedDir || featureInfo
        ? async (staging) => {
          if (fittedDir) await copyTree(fittedDir, join(staging, MAP_FILES.modelDir));
          if (featureInfo) {
            await copyTree(join(featureDir!, MAP_FILES.featuresDir), join(staging, MAP_FILES.featuresDir));
          }
        }
        : undefined,
    }, { ...options.write, replace: options.replace, lock });
    progress({ phase: "write", done: 1, total: 1 });
    const total = (performance.now() - t0) / 1000;
    const result: BuildMapResult = {
      dir: resolve(outDir),
      manifest,
      places,
      skipped,
      seconds: total,
      imagesPerSecond: places.length / total,
      describeImagesPerSecond: places.length / describeSeconds,
      ...(featureFacts ? { localFeatures: featureFacts } : {}),
    };
    if (options.keepOpen) {
      result.model = model;
      result.index = built.index;
      result.descriptors = descriptors;
    } else if (!options.model) await model.close();
    return result;
  } catch (err) {
    if (!options.model) await model.close().catch(() => {});
    throw err;
  } finally {
    if (fittedDir) await removeQuietly(fittedDir);
    await collector?.dispose();
    if (featureDir) await removeQuietly(featureDir);
  }
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function noImages(images: DatasetImage[], skipped: SkippedImage[]): ImageDecodeError {
  const first = skipped.slice(0, 3).map((s) => `${s.image} (${s.reason})`).join("; ");
  return new ImageDecodeError(
    `Cannot build map: none of the ${images.length} image(s) could be decoded: ${first}`,
    { context: { file: images[0]?.path } },
  );
}
