/**
 * `@waymark/waymark/map`: Maps: build, versioned on-disk format, keyframe journal, load, compaction, stored
 * local features, and the vector indexes and similarity scans a map searches with (`src/map`, `src/index`).
 *
 * @module
 */
export type { SearchHit, SearchOptions, VectorIndex } from "../index/vector_index.ts";
export { HNSW_DEFAULTS, HnswIndex, type HnswIndexOptions } from "../index/hnsw_index.ts";
export { BruteForceIndex, type BruteForceIndexOptions } from "../index/brute_force_index.ts";
export { jsSimilarityScanner, scanRows, type SimilarityScanner } from "../index/similarity_scan.ts";
export {
  buildMap,
  type BuildMapOptions,
  type BuildMapResult,
  decodeImageFile,
  type LocalFeaturesBuildFacts,
} from "./build_map.ts";
export { type LoadedMap, loadMap, type LoadMapOptions, readMapManifest } from "./map_loader.ts";
export {
  type LocalFeatureExtraction,
  MAP_FORMAT,
  MAP_VERSION,
  type MapLocalFeaturesInfo,
  type MapManifest,
} from "./format.ts";
export { MapLocalFeatures, type MapLocalFeaturesOptions } from "./local_features.ts";
export { DEFAULT_LOCAL_FEATURE_EXTRACTION, LocalFeatureCollector } from "./local_features_writer.ts";
export { type FsyncPolicy, type JournalOptions, KeyframeJournal } from "./journal.ts";
export { compactMap, type CompactMapOptions } from "./compact.ts";
export { FleetMap, type FleetMapOptions, type FleetStats } from "./fleet_map.ts";
export { fleetMapView, openMapFleet } from "./map_fleet.ts";
export type { MapFleetRef } from "./format.ts";
export { PgVectorIndex, type PgVectorIndexOptions } from "../index/pgvector_index.ts";
export { parseIndexTarget, type PgConnection } from "../index/pg_connection.ts";
