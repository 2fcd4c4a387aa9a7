/**
 * Loading a map folder: version, checksums, places, descriptors, index, and the model it was built with.
 * @module
 */
import { join, resolve } from "node:path";
import { MapFormatError, ModelLoadError } from "../errors.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type { DescriptorModel, PlaceMeta, ProviderChoice } from "../types.ts";
import { exists, leBytesToF32, sha256File } from "./_fs.ts";
import { loadMapIndex } from "./_index_io.ts";
import { loadModelDir } from "./_model_bridge.ts";
import { MAP_FILES, type MapData, type MapManifest } from "./format.ts";
import { checkManifest } from "./manifest_check.ts";
import { MapLocalFeatures } from "./local_features.ts";
import { recoverMapDir } from "./map_writer.ts";

/** A loaded map. */
export interface LoadedMap extends MapData {
  /** Absolute map folder. */
  dir: string;
  /** Index over the descriptors; ids are place ids (= row numbers). */
  index: VectorIndex;
  /** The model the map was built with (the one passed in, or loaded from the map / the given folder). */
  model: DescriptorModel;
  /**
   * The places' stored local features for verification, read lazily (a place's blob only when asked for);
   * undefined for a map built without them (or before they were stored).
   */
  localFeatures?: MapLocalFeatures;
}

/** Options of {@link loadMap}. */
export interface LoadMapOptions {
  /** The model in use; it must be the one the map was built with (same id). Default: load it (see `modelDir`). */
  model?: DescriptorModel;
  /**
   * Folder of the model to load when `model` is not given. Default: the map's bundled `model/`, else the folder
   * recorded at build time.
   */
  modelDir?: string;
  /** Execution provider when loading the model. Default `"auto"`. */
  provider?: ProviderChoice;
  /** Check every file's SHA-256 against the manifest. Default true (sizes are always checked). */
  verifyChecksums?: boolean;
}

function fail(file: string, problem: string, cause?: unknown): MapFormatError {
  return new MapFormatError(`${file}: ${problem}`, { cause, context: { file } });
}

/** True when `dir` holds a map (its manifest exists). */
export function mapExists(dir: string): Promise<boolean> {
  return exists(join(dir, MAP_FILES.manifest));
}

/**
 * Read and validate `manifest.json` of a map folder (after crash recovery).
 * @throws {MapFormatError} missing folder or manifest, malformed JSON, another format or version, a field of
 *   the wrong type or out of range, or (version 2) a field that does not match the manifest's checksum; the
 *   message names the field.
 */
export async function readMapManifest(dir: string): Promise<MapManifest> {
  const root = resolve(dir);
  await recoverMapDir(root);
  if (!(await exists(root))) throw fail(root, "map folder not found");
  const path = join(root, MAP_FILES.manifest);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw fail(
      path,
      err instanceof Deno.errors.NotFound ? "missing: not a Waymark map folder" : "cannot read",
      err,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw fail(path, `malformed JSON (${(err as Error).message})`, err);
  }
  // Schema with ranges, then the manifest's own checksum (version 2): a MapFormatError naming the field.
  const m = checkManifest(raw, path);
  return m;
}

/** Outcome of checking one file of a map. */
export interface MapFileCheck {
  path: string;
  ok: boolean;
  problem?: string;
}

/**
 * Check the size (and SHA-256 unless `checksums` is false) of every file the manifest lists.
 * Returns one entry per file; never throws for a bad file.
 */
export async function checkMapFiles(
  dir: string,
  manifest: MapManifest,
  checksums = true,
): Promise<MapFileCheck[]> {
  const out: MapFileCheck[] = [];
  for (const f of manifest.files) {
    const path = join(dir, f.path);
    try {
      if (checksums) {
        const got = await sha256File(path);
        if (got.size !== f.size) {
          out.push({ path: f.path, ok: false, problem: `size ${got.size}, expected ${f.size}` });
        } else if (got.sha256 !== f.sha256) {
          out.push({ path: f.path, ok: false, problem: "checksum mismatch" });
        } else out.push({ path: f.path, ok: true });
      } else {
        const size = (await Deno.stat(path)).size;
        out.push(
          size === f.size ? { path: f.path, ok: true } : {
            path: f.path,
            ok: false,
            problem: `size ${size}, expected ${f.size}`,
          },
        );
      }
    } catch {
      out.push({ path: f.path, ok: false, problem: "missing" });
    }
  }
  return out;
}

/**
 * Read places and descriptors of a map (no index, no model).
 * @throws {MapFormatError} naming the file for a checksum mismatch, a wrong size or malformed places.
 */
export async function readMapData(
  dir: string,
  options: { verifyChecksums?: boolean } = {},
): Promise<MapData & { dir: string }> {
  const root = resolve(dir);
  const manifest = await readMapManifest(root);
  for (const c of await checkMapFiles(root, manifest, options.verifyChecksums ?? true)) {
    if (!c.ok) throw fail(join(root, c.path), `${c.problem} (the map is corrupt: rebuild it)`);
  }
  const { places: n, dim } = manifest.counts;
  const placesPath = join(root, MAP_FILES.places);
  const lines = (await Deno.readTextFile(placesPath)).split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== n) throw fail(placesPath, `${lines.length} places, the manifest says ${n}`);
  const places: PlaceMeta[] = lines.map((l, i) => {
    try {
      const p = JSON.parse(l) as PlaceMeta;
      if (p.placeId !== i) throw new Error(`placeId ${p.placeId} on row ${i}`);
      return p;
    } catch (err) {
      throw fail(placesPath, `line ${i + 1}: ${(err as Error).message}`, err);
    }
  });
  const descPath = join(root, MAP_FILES.descriptors);
  const bytes = await Deno.readFile(descPath);
  if (bytes.length !== n * dim * 4) throw fail(descPath, `${bytes.length} bytes, expected ${n} x ${dim} x 4`);
  return { dir: root, manifest, places, descriptors: leBytesToF32(bytes) };
}

/**
 * Load a map for localization: validates the folder (format version, sizes, checksums), reads places and
 * descriptors, opens the index, and checks that the model in use is the one the map was built with.
 *
 * @throws {MapFormatError} for any problem with the folder, naming the file; or when the model's id differs
 *   from the map's (the message gives both ids).
 *
 * @example
 * ```ts ignore
 * const map = await loadMap("maps/office", { provider: "cpu" });
 * const hits = map.index.search((await map.model.describe(pixels)).global, 5);
 * ```
 */
export async function loadMap(dir: string, options: LoadMapOptions = {}): Promise<LoadedMap> {
  const data = await readMapData(dir, { verifyChecksums: options.verifyChecksums ?? true });
  const { manifest } = data;
  const model = options.model ?? await loadMapModel(data.dir, manifest, options);
  if (model.info.id !== manifest.model.id) {
    const inUse = model.info;
    if (!options.model) await model.close();
    throw fail(
      join(data.dir, MAP_FILES.manifest),
      `the map was built with model ${manifest.model.name} (id ${manifest.model.id}) but the model in use is ${inUse.name} (id ${inUse.id}): rebuild the map or use its model`,
    );
  }
  if (model.info.descriptorDim !== manifest.counts.dim) {
    throw fail(
      join(data.dir, MAP_FILES.manifest),
      `model dimension ${model.info.descriptorDim} != map ${manifest.counts.dim}`,
    );
  }
  let index: VectorIndex;
  let localFeatures: MapLocalFeatures | undefined;
  try {
    localFeatures = MapLocalFeatures.open(data.dir, manifest);
    index = await loadMapIndex(data.dir, manifest, data.descriptors);
  } catch (err) {
    if (!options.model) await model.close();
    throw err;
  }
  return { ...data, index, model, ...(localFeatures ? { localFeatures } : {}) };
}

async function loadMapModel(
  dir: string,
  manifest: MapManifest,
  options: LoadMapOptions,
): Promise<DescriptorModel> {
  const provider = options.provider ?? "auto";
  const candidates = [
    options.modelDir,
    manifest.model.bundled ? join(dir, MAP_FILES.modelDir) : undefined,
    manifest.model.source,
  ].filter((p): p is string => !!p);
  if (candidates.length === 0) {
    throw fail(
      join(dir, MAP_FILES.manifest),
      `the map does not bundle its model ${manifest.model.name} (id ${manifest.model.id}): pass its folder (--model)`,
    );
  }
  const path = candidates[0];
  try {
    return await loadModelDir(path, provider);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`${path}: cannot load the map's model: ${(err as Error).message}`, {
      cause: err,
      context: { file: path },
    });
  }
}
