/**
 * `compactMap`: fold the keyframe journal of a map folder into a new map version (generation + 1), written
 * atomically like any map; the new version starts with an empty journal. The blob store and the bundled model
 * are carried over; journal blobs are added to the blob store. Stored local features (`features/`) are carried
 * over as they are: they cover the places they were built for, not the journaled keyframes.
 *
 * The new version's index is rebuilt from all descriptors (slow for large maps: an HNSW build), unless
 * `reuseIndex` hands over an HNSW index that already holds exactly the compacted map's places (the SLAM
 * session index): after checks (kind, dimension, the exact id set, a few vectors) it is saved as it is.
 *
 * Close the folder's `KeyframeJournal` and `BlobStore` before compacting, and reopen them after.
 * Crash safety comes from `writeMap`: before the commit rename the old map and its journal are intact;
 * after it, the new map holds every journaled keyframe.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { MapFormatError } from "../errors.ts";
import { HnswIndex, type HnswIndexOptions } from "../index/hnsw_index.ts";
import { dot } from "../kernels/vector.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type { PlaceMeta } from "../types.ts";
import { copyTree, exists } from "./_fs.ts";
import { buildMapIndex, type BuiltIndex } from "./_index_io.ts";
import { BlobStore } from "./blob_store.ts";
import { MAP_FILES, type MapIndexKind, type MapManifest, type MapModelRef } from "./format.ts";
import { replayJournal } from "./journal.ts";
import { readMapData } from "./map_loader.ts";
import { type MapLock, withMapLock } from "./lock.ts";
import { DAMAGED_JOURNAL_PREFIX, recoverMapDir, writeMap, type WriteMapOptions } from "./map_writer.ts";

/** Options of {@link compactMap}. */
export interface CompactMapOptions {
  /** The model, required when the folder holds no map yet (a SLAM session without a prior map). */
  model?: MapModelRef;
  /** A model bundle folder to store as the map's `model/` when the folder holds no map yet. Default none. */
  modelBundleDir?: string;
  /** Index kind of the new version. Default: the map's, or `"hnsw"` for a new map. */
  index?: MapIndexKind;
  /** HNSW parameters. Default: those of `HnswIndex`. */
  hnsw?: HnswIndexOptions;
  /**
   * An index holding exactly the compacted map's places under their place ids (= rows: prior places, then
   * the journal's), saved instead of rebuilding (e.g. the SLAM session index; `waymark slam` passes it when
   * the run's index is complete). Used only when the new version is `hnsw`, it is an `HnswIndex` of the
   * map's dimension, its ids are exactly 0..places-1, `hnsw` sets no different m, efConstruction or seed,
   * and a few places' own descriptors find themselves in it; otherwise the index is rebuilt and `onNotice`
   * says why. Its own parameters are recorded in the manifest. Saved as it is: do not add to it while
   * compacting. Default none (rebuild).
   */
  reuseIndex?: VectorIndex;
  /** Called with a one-line notice when `reuseIndex` is not used (the reason), before rebuilding. */
  onNotice?: (message: string) => void;
  /** Atomic write options (test hooks). */
  write?: WriteMapOptions;
  /** The map's lock, when the caller holds it (default: taken for the duration of the compaction). */
  lock?: MapLock;
}

/** What {@link compactMap} did. */
export interface CompactMapResult {
  /** Manifest of the map now in the folder. */
  manifest: MapManifest;
  /** Journal records folded into this version (0: nothing to do, the map is unchanged). */
  folded: number;
  /** Journal records skipped because the map already held them (a compaction that crashed after commit). */
  alreadyFolded: number;
  /** The new version saved `reuseIndex` instead of rebuilding its index (false when nothing was written). */
  indexReused: boolean;
}

/** Places whose own descriptor must find itself in a reused index (spread over the rows, first and last). */
const REUSE_PROBES = 8;

/**
 * Why `index` cannot serve as the index of `n` places whose descriptors are `descriptors` (ids = rows), or
 * undefined when it can.
 */
function reuseProblem(
  index: VectorIndex,
  kind: MapIndexKind,
  n: number,
  dim: number,
  descriptors: Float32Array,
  hnsw: HnswIndexOptions,
): string | undefined {
  if (kind !== "hnsw") return `the map's index is ${kind}, not hnsw`;
  if (!(index instanceof HnswIndex)) return "it is not an HnswIndex";
  if (index.dim !== dim) return `it holds ${index.dim}-d vectors, the map ${dim}-d`;
  for (const key of ["m", "efConstruction", "seed"] as const) {
    if (hnsw[key] !== undefined && hnsw[key] !== index.options[key]) {
      return `its ${key} is ${index.options[key]}, ${hnsw[key]} was asked for`;
    }
  }
  const ids = index.ids();
  if (index.size !== n || ids.length !== n) return `it holds ${ids.length} places, the map ${n}`;
  const seen = new Uint8Array(n);
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id < n) || seen[id]) {
      return `it holds place id ${id}, not one of 0..${n - 1} once each`;
    }
    seen[id] = 1;
  }
  // Same vectors: a few places' descriptors must find a vector as similar as themselves (themselves, or an
  // identical copy). A miss of the approximate search only costs a rebuild.
  for (let p = 0; p < Math.min(REUSE_PROBES, n); p++) {
    const id = REUSE_PROBES >= n ? p : Math.round((p * (n - 1)) / (REUSE_PROBES - 1));
    const d = descriptors.subarray(id * dim, (id + 1) * dim);
    const self = dot(d, 0, d, 0, dim);
    const hit = index.search(d, 1)[0];
    if (!hit || (hit.id !== id && Math.abs(hit.similarity - self) > 1e-4 * Math.max(1, self))) {
      return `place ${id}'s descriptor does not find itself in it (top ${hit?.id}: other vectors)`;
    }
  }
  return undefined;
}

/**
 * Fold `journal.wal` into a new version of the map in `dir`.
 *
 * Journal place ids must continue the map's: the first new keyframe has placeId = places in the map, then +1.
 *
 * @throws {MapFormatError} for a corrupt map or journal, a model mismatch, or place ids that do not continue
 *   the map's.
 *
 * @example
 * ```ts ignore
 * await journal.close();
 * const { manifest, folded } = await compactMap("maps/lab");
 * ```
 */
export async function compactMap(dir: string, options: CompactMapOptions = {}): Promise<CompactMapResult> {
  const root = resolve(dir);
  return await withMapLock(
    root,
    options.lock,
    "waymark (compaction)",
    (lock) => compactLocked(root, options, lock),
  );
}

async function compactLocked(
  root: string,
  options: CompactMapOptions,
  lock: MapLock,
): Promise<CompactMapResult> {
  await recoverMapDir(root);
  const hasMap = await exists(join(root, MAP_FILES.manifest));
  const journalPath = join(root, MAP_FILES.journal);
  const data = hasMap ? await readMapData(root) : null;
  if (!(await exists(journalPath))) {
    if (data) return { manifest: data.manifest, folded: 0, alreadyFolded: 0, indexReused: false };
    throw new MapFormatError(`${root}: neither a map nor a journal to compact`, { context: { file: root } });
  }
  const journal = await replayJournal(journalPath);
  const modelRef: MapModelRef | undefined = data?.manifest.model ?? options.model;
  if (!modelRef) {
    throw new MapFormatError(
      `${root}: no map yet: pass the model (name, id, dim) to create one from the journal`,
      {
        context: { file: root },
      },
    );
  }
  if (journal.header.dim !== modelRef.dim) {
    throw new MapFormatError(
      `${journalPath}: ${journal.header.dim}-d descriptors, the map is ${modelRef.dim}-d`,
      {
        context: { file: journalPath },
      },
    );
  }
  if (journal.header.modelId && modelRef.id && journal.header.modelId !== modelRef.id) {
    throw new MapFormatError(
      `${journalPath}: written with model id ${journal.header.modelId} but the map's model is ${modelRef.id}`,
      { context: { file: journalPath } },
    );
  }
  const places: PlaceMeta[] = data ? [...data.places] : [];
  const existing = places.length;
  const fresh = journal.records.filter((r) => r.placeId >= existing);
  const alreadyFolded = journal.records.length - fresh.length;
  if (fresh.length === 0 && data) {
    return { manifest: data.manifest, folded: 0, alreadyFolded, indexReused: false };
  }
  const dim = modelRef.dim;
  const descriptors = new Float32Array((existing + fresh.length) * dim);
  if (data) descriptors.set(data.descriptors);
  fresh.forEach((r, k) => {
    if (r.placeId !== existing + k) {
      throw new MapFormatError(
        `${journalPath}: record ${alreadyFolded + k} has placeId ${r.placeId}, expected ${
          existing + k
        } (ids must continue the map's)`,
        { context: { file: journalPath } },
      );
    }
    const { image, position, ...rest } = r.meta;
    const place: PlaceMeta & Record<string, unknown> = {
      placeId: r.placeId,
      image: image ?? `keyframe:${r.placeId}`,
      stamp: r.stamp,
      ...rest,
    };
    if (position) place.position = position;
    places.push(place);
    descriptors.set(r.descriptor, r.placeId * dim);
  });
  const kind = options.index ?? data?.manifest.index.kind ?? "hnsw";
  const hnsw = { ...(data?.manifest.index.params ?? {}), ...options.hnsw };
  let built: BuiltIndex | undefined;
  if (options.reuseIndex) {
    const reuse = options.reuseIndex;
    const problem = reuseProblem(reuse, kind, places.length, dim, descriptors, options.hnsw ?? {});
    if (problem === undefined && reuse instanceof HnswIndex) {
      const { m, efConstruction, efSearch, seed } = reuse.options;
      built = {
        index: reuse,
        kind,
        params: { m, efConstruction, efSearch, seed },
        save: (p) => reuse.save(p),
      };
    } else {
      options.onNotice?.(
        `${root}: rebuilding the index of ${places.length} places: not reusing the given one (${problem})`,
      );
    }
  }
  built ??= buildMapIndex(kind, dim, descriptors, kind === "hnsw" ? hnsw : {});
  const blobs = fresh.filter((r) => r.local && r.local.length > 0);
  const bundleFrom = data?.manifest.model.bundled ? join(root, MAP_FILES.modelDir) : options.modelBundleDir;
  const manifest = await writeMap(root, {
    model: { ...modelRef, bundled: !!bundleFrom },
    places,
    descriptors,
    index: built,
    generation: (data?.manifest.generation ?? 0) + 1,
    skippedCount: data?.manifest.counts.skipped ?? 0,
    build: { ...(data?.manifest.build ?? {}), compactedFromJournal: fresh.length },
    localFeatures: data?.manifest.localFeatures,
    fleet: data?.manifest.fleet,
    populate: async (staging) => {
      // A fleet map's robots' outboxes and caches stay with the map (their users closed them first).
      if (await exists(join(root, MAP_FILES.fleetDir))) {
        await copyTree(join(root, MAP_FILES.fleetDir), join(staging, MAP_FILES.fleetDir));
      }
      if (bundleFrom) await copyTree(bundleFrom, join(staging, MAP_FILES.modelDir));
      if (data?.manifest.localFeatures) {
        await copyTree(join(root, MAP_FILES.featuresDir), join(staging, MAP_FILES.featuresDir));
      }
      for (const f of [MAP_FILES.blobData, MAP_FILES.blobIndex]) {
        if (await exists(join(root, f))) await Deno.copyFile(join(root, f), join(staging, f));
      }
      // Damaged journal bytes set aside by `waymark map repair` stay with the map.
      for await (const e of Deno.readDir(root)) {
        if (e.isFile && e.name.startsWith(DAMAGED_JOURNAL_PREFIX)) {
          await Deno.copyFile(join(root, e.name), join(staging, e.name));
        }
      }
      if (blobs.length > 0) {
        const store = await BlobStore.open(staging);
        try {
          for (const r of blobs) await store.putBlob(r.placeId, r.local!);
        } finally {
          await store.close();
        }
      }
    },
  }, { ...options.write, replace: true, lock });
  return { manifest, folded: fresh.length, alreadyFolded, indexReused: built.index === options.reuseIndex };
}
