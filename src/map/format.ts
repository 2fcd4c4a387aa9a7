/**
 * The on-disk map format (version 2; version 1 lacks the manifest's `integrity`): a folder holding
 *
 * | file               | content                                                                        |
 * | ------------------ | ------------------------------------------------------------------------------ |
 * | `manifest.json`    | {@link MapManifest}: format, version, generation, model, counts, index, files    |
 * | `places.jsonl`     | one {@link PlaceMeta} JSON object per line, in place order                     |
 * | `descriptors.f32`  | N x D float32, little-endian, row i = place i (L2-normalised)                  |
 * | `index.hnsw`       | the HNSW index (only for index kind `hnsw`; `exact` is rebuilt from descriptors) |
 * | `model/…`          | the model bundle, when the map fitted its own default model                    |
 * | `journal.wal`      | optional append-only keyframe journal (SLAM), see `journal.ts`                 |
 * | `local.bin/.idx`   | optional per-place blob store (local features), see `blob_store.ts`            |
 * | `features/…`       | optional local features of every place (verification), see `local_features.ts` |
 *
 * Maps written since local features are stored carry `manifest.localFeatures` ({@link MapLocalFeaturesInfo})
 * and the `features/` files (checksummed like every written file); the format version is unchanged (1): older
 * readers ignore the section, and maps without it still load (verification then re-extracts from the images).
 *
 * Every file written with the map is listed in the manifest with its SHA-256 and size; the journal and the
 * blob store are append-only, carry their own per-record CRC-32, and are not listed. The manifest itself is
 * checked field by field against a schema with ranges and (version 2) against the SHA-256 of each field that
 * it stores in `integrity` (`manifest_check.ts`).
 *
 * @module
 */
import type { PlaceMeta } from "../types.ts";

/** Value of `manifest.format`. */
export const MAP_FORMAT = "waymark-map";
/**
 * Current `manifest.version`: 2 (the manifest carries a checksum of each of its fields, `integrity`). Version 1
 * maps (no manifest checksum) still load, their manifest checked field by field; see `manifest_check.ts`.
 */
export const MAP_VERSION = 2;

/** Fixed file names inside a map folder. */
export const MAP_FILES = {
  manifest: "manifest.json",
  places: "places.jsonl",
  descriptors: "descriptors.f32",
  hnsw: "index.hnsw",
  modelDir: "model",
  journal: "journal.wal",
  blobData: "local.bin",
  blobIndex: "local.idx",
  /** Folder of the stored per-place local features (see `local_features.ts`). */
  featuresDir: "features",
  featuresPca: "features/pca.bin",
  featuresData: "features/local.bin",
  featuresIndex: "features/local.idx",
  /** Folder of a fleet map's per-robot state (outbox and local cache), see `map_fleet.ts`; not checksummed. */
  fleetDir: "fleet",
} as const;

/** Files that change after the map is written (own integrity checks) and so are not checksummed. */
export const MUTABLE_FILES: readonly string[] = [MAP_FILES.journal, MAP_FILES.blobData, MAP_FILES.blobIndex];

/** Nearest-neighbour index kinds a map can hold. */
export type MapIndexKind = "hnsw" | "exact";

/** One checksummed file of a map. */
export interface MapFileEntry {
  /** Path relative to the map folder, `/`-separated. */
  path: string;
  sha256: string;
  size: number;
}

/** The model a map was built with. */
export interface MapModelRef {
  name: string;
  /** ModelInfo.id: a map refuses any other model. */
  id: string;
  dim: number;
  /** True when the model bundle is stored in the map's `model/` folder. */
  bundled: boolean;
  /** Folder the model was loaded from at build time, when not bundled (a hint for loading). */
  source?: string;
}

/** An image that map build skipped. */
export interface SkippedImage {
  image: string;
  reason: string;
}

/** How the stored local features were extracted (a verifier extracts its queries the same way). */
export interface LocalFeatureExtraction {
  /**
   * Front end: `sift-kp` (the keypoint-first TypeScript SIFT of `src/verify/`, since 8dd850a); maps written
   * before record `dense-sift` (the dense grid, 3 scales, 500 keypoints), which queries no longer match.
   */
  extractor: string;
  /** Images were converted to grey and downscaled so that their longer side is at most this (pixels). */
  maxSide: number;
  /** Keypoints kept per image (attention top-N). */
  maxKeypoints: number;
  /** Pyramid scales. */
  scales: number[];
  /** Minimum attention score of a keypoint (absent in `dense-sift` maps). */
  attentionThreshold?: number;
  /** Cross-scale non-maximum suppression IoU (absent in `dense-sift` maps). */
  nmsIoU?: number;
}

/** `manifest.localFeatures`: the map's stored per-place local features. */
export interface MapLocalFeaturesInfo {
  /** Layout version of the `features/` files (1). */
  version: number;
  /** PCA blob (`src/verify/features_codec.ts`), fitted on the map's own features. */
  pca: string;
  /** Per-place feature blobs back to back (int8 descriptors with a per-row scale). */
  data: string;
  /** Per-place index: header, then one (offset, length, CRC-32) entry per place. */
  index: string;
  /** Full descriptor size before PCA. */
  inputDim: number;
  /** Stored descriptor size (after PCA). */
  dim: number;
  /** Places indexed (= `counts.places` when written; places added later have none). */
  places: number;
  /** Keypoints over all places. */
  keypoints: number;
  /** Bytes of `data`. */
  bytes: number;
  extraction: LocalFeatureExtraction;
}

/**
 * `manifest.fleet`: the shared place table a fleet map uses (see `map_fleet.ts`). The target never carries a
 * password (credentials come from the `PG*` environment variables or a password file).
 */
export interface MapFleetRef {
  /** `pglite:<dir>?table=name` or `postgres://user@host/db?table=name`. */
  target: string;
  /** Robot id that wrote the map's own places to the table. */
  robot: string;
  /** Session of those places: place i of the map is the robot's i-th place of this session. */
  session: string;
}

/** `manifest.json` of a map folder. */
export interface MapManifest {
  format: typeof MAP_FORMAT;
  version: number;
  /** 1 for a fresh map, +1 for each rewrite that extends it (journal compaction). */
  generation: number;
  /** ISO 8601 time of writing. */
  created: string;
  model: MapModelRef;
  counts: {
    places: number;
    dim: number;
    /** Images that could not be decoded and were left out. */
    skipped: number;
  };
  index: { kind: MapIndexKind; file?: string; params: Record<string, number> };
  files: MapFileEntry[];
  /** Stored local features (absent in maps built without them, or before they were stored). */
  localFeatures?: MapLocalFeaturesInfo;
  /** The shared place table of a fleet map (absent in a map of one process). */
  fleet?: MapFleetRef;
  /** SHA-256 of each other top-level field (version 2 on; see `manifest_check.ts`). */
  integrity?: { algorithm: "sha256"; fields: Record<string, string> };
  /** Facts about the build (source, speed, skipped images: the first 100). */
  build?: {
    source?: string;
    seconds?: number;
    imagesPerSecond?: number;
    skipped?: SkippedImage[];
    [key: string]: unknown;
  };
}

/** Everything a loaded map offers beside the index and model. */
export interface MapData {
  manifest: MapManifest;
  places: PlaceMeta[];
  /** N x D row-major. */
  descriptors: Float32Array;
}
