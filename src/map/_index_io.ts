/**
 * Private: create, fill and reopen the nearest-neighbour index of a map (`hnsw` via HnswIndex, `exact` via
 * BruteForceIndex rebuilt from `descriptors.f32`, so that an exact map stores its vectors once).
 * @module
 */
import { join } from "node:path";
import { IndexError, MapFormatError } from "../errors.ts";
import { BruteForceIndex } from "../index/brute_force_index.ts";
import { HnswIndex, type HnswIndexOptions } from "../index/hnsw_index.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import { MAP_FILES, type MapIndexKind, type MapManifest } from "./format.ts";

/** A freshly built index with what the map writer needs. */
export interface BuiltIndex {
  index: VectorIndex;
  kind: MapIndexKind;
  params: Record<string, number>;
  save?: (path: string) => Promise<void>;
}

/** Build an index over `n x dim` rows with ids 0..n-1. */
export function buildMapIndex(
  kind: MapIndexKind,
  dim: number,
  descriptors: Float32Array,
  hnsw: HnswIndexOptions = {},
): BuiltIndex {
  const n = descriptors.length / dim;
  if (kind === "exact") {
    return { index: BruteForceIndex.fromMatrix(dim, descriptors.slice()), kind, params: {} };
  }
  const index = new HnswIndex(dim, { ...hnsw, maxElements: Math.max(16, n) });
  for (let i = 0; i < n; i++) index.add(i, descriptors.subarray(i * dim, (i + 1) * dim));
  const { m, efConstruction, efSearch, seed } = index.options;
  return { index, kind, params: { m, efConstruction, efSearch, seed }, save: (p) => index.save(p) };
}

/** Reopen the index of a map whose places and descriptors were read. */
export async function loadMapIndex(
  dir: string,
  manifest: MapManifest,
  descriptors: Float32Array,
): Promise<VectorIndex> {
  const { dim, places } = manifest.counts;
  if (manifest.index.kind === "exact") return BruteForceIndex.fromMatrix(dim, descriptors.slice());
  const path = join(dir, manifest.index.file ?? MAP_FILES.hnsw);
  let index: HnswIndex;
  try {
    index = await HnswIndex.load(path);
  } catch (err) {
    if (err instanceof IndexError) {
      throw new MapFormatError(err.message, { cause: err, context: { file: path } });
    }
    throw err;
  }
  if (index.dim !== dim || index.size !== places) {
    throw new MapFormatError(
      `${path}: index holds ${index.size} x ${index.dim}-d vectors, the map has ${places} x ${dim}`,
      { context: { file: path } },
    );
  }
  return index;
}
