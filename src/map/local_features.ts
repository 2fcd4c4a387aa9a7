/**
 * Reading the local features a map stores for verification (`features/` of a map folder, written by
 * `local_features_writer.ts` during `buildMap`), lazily: opening reads nothing; the per-place index is read on
 * the first request, then each place's blob only when verification asks for it (a positioned read, CRC-checked,
 * decoded and kept in a small LRU cache).
 *
 * ## Files (little-endian)
 * - `features/pca.bin`: the PCA blob of `src/verify/features_codec.ts` (fitted on the map's features).
 * - `features/local.bin`: the places' feature blobs (`encodeLocalFeatures`, int8 with a per-row scale), back to
 *   back in place order.
 * - `features/local.idx`: magic "WMFI", u16 version = 1, u16 dim, u32 places, u32 0; then per place (place id =
 *   row) f64 offset in `local.bin`, u32 length (0 = no features), u32 CRC-32 of the blob.
 *
 * All three are listed (SHA-256, size) in the manifest like every written file; the per-blob CRC also catches
 * corruption when the map was loaded without checksum verification.
 *
 * @module
 */
import { join } from "node:path";
import { MapFormatError } from "../errors.ts";
import type { LocalFeatures } from "../types.ts";
import { decodeLocalFeatures, decodePca } from "../verify/features_codec.ts";
import type { PcaProjection } from "../verify/pca.ts";
import { crc32 } from "node:zlib";
import type { MapLocalFeaturesInfo, MapManifest } from "./format.ts";
import { LruCache } from "../_lru.ts";

/** Magic of `features/local.idx` ("WMFI" little-endian). */
export const FEATURE_INDEX_MAGIC = 0x49464d57;
/** Layout version of the `features/` files. */
export const FEATURE_FILES_VERSION = 1;
/** Bytes of the `features/local.idx` header. */
export const FEATURE_INDEX_HEADER = 16;
/** Bytes of one `features/local.idx` entry. */
export const FEATURE_INDEX_ENTRY = 16;

/** Options of {@link MapLocalFeatures.open}. */
export interface MapLocalFeaturesOptions {
  /** Decoded feature sets kept (LRU). Default 256. */
  cacheSize?: number;
}

function fail(file: string, problem: string, cause?: unknown): MapFormatError {
  return new MapFormatError(`${file}: ${problem} (the map's local features are corrupt: rebuild the map)`, {
    cause,
    context: { file },
  });
}

/**
 * Read `file` once and `parse` it; the promise is kept (later calls share it), and a failure is reported to
 * each caller, never as an unhandled rejection. A file that cannot be read fails naming it.
 */
function readOnce<T>(file: string, parse: (bytes: Uint8Array) => T): Promise<T> {
  const p = Deno.readFile(file).then(
    parse,
    (err) => {
      throw fail(file, "cannot read", err);
    },
  );
  p.catch(() => {});
  return p;
}

/**
 * The stored local features of a map: a lazy `LocalFeatureStore` (see `src/verify/verifier.ts`) plus the PCA
 * that queries must be reduced with.
 *
 * @example
 * ```ts ignore
 * const map = await loadMap("maps/office");
 * const f = map.localFeatures ? await map.localFeatures.get(12) : undefined; // reads place 12's blob only
 * ```
 */
export class MapLocalFeatures {
  /** Absolute map folder. */
  readonly dir: string;
  /** The manifest's `localFeatures` section. */
  readonly info: MapLocalFeaturesInfo;
  /** Blobs read from disk so far (cache misses; for tests and stats). */
  reads = 0;
  readonly #cache: LruCache<number, LocalFeatures>;
  #index: Promise<DataView> | undefined;
  #pca: Promise<PcaProjection> | undefined;

  private constructor(dir: string, info: MapLocalFeaturesInfo, capacity: number) {
    this.dir = dir;
    this.info = info;
    this.#cache = new LruCache(capacity);
  }

  /**
   * The stored features of a map folder, or undefined when the manifest has none (a map built without them or
   * before they were stored). Reads nothing.
   * @throws {MapFormatError} naming `manifest.json` when the section is malformed.
   */
  static open(
    dir: string,
    manifest: MapManifest,
    options: MapLocalFeaturesOptions = {},
  ): MapLocalFeatures | undefined {
    const info = manifest.localFeatures;
    if (info === undefined || info === null) return undefined;
    const ok = typeof info === "object" && info.version === FEATURE_FILES_VERSION &&
      typeof info.pca === "string" && typeof info.data === "string" && typeof info.index === "string" &&
      Number.isInteger(info.dim) && info.dim > 0 && Number.isInteger(info.places) && info.places >= 0 &&
      [info.pca, info.data, info.index].every((p) => manifest.files.some((f) => f.path === p));
    if (!ok) {
      const file = join(dir, "manifest.json");
      throw new MapFormatError(
        `${file}: malformed localFeatures section (version ${
          JSON.stringify((info as MapLocalFeaturesInfo)?.version)
        }, or its files are not listed): rebuild the map`,
        { context: { file } },
      );
    }
    const capacity = options.cacheSize ?? 256;
    return new MapLocalFeatures(dir, info, Number.isInteger(capacity) && capacity > 0 ? capacity : 256);
  }

  /** Stored descriptor size (after PCA). */
  get dim(): number {
    return this.info.dim;
  }

  /** True when `placeId` is one of the places the features were stored for. */
  covers(placeId: number): boolean {
    return Number.isInteger(placeId) && placeId >= 0 && placeId < this.info.places;
  }

  /** The PCA fitted on the map (read on first use). @throws {MapFormatError} naming `features/pca.bin`. */
  pca(): Promise<PcaProjection> {
    const file = join(this.dir, this.info.pca);
    return this.#pca ??= readOnce(file, (bytes) => {
      let pca: PcaProjection;
      try {
        pca = decodePca(bytes, file);
      } catch (err) {
        throw fail(file, (err as Error).message, err);
      }
      if (pca.outputDim !== this.info.dim) {
        throw fail(file, `projects to ${pca.outputDim}-d, the manifest says ${this.info.dim}-d`);
      }
      return pca;
    });
  }

  #readIndex(): Promise<DataView> {
    const file = join(this.dir, this.info.index);
    return this.#index ??= readOnce(file, (bytes) => {
      const expected = FEATURE_INDEX_HEADER + this.info.places * FEATURE_INDEX_ENTRY;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      if (bytes.length !== expected) throw fail(file, `${bytes.length} bytes, expected ${expected}`);
      if (view.getUint32(0, true) !== FEATURE_INDEX_MAGIC) throw fail(file, "bad magic");
      const version = view.getUint16(4, true);
      if (version !== FEATURE_FILES_VERSION) throw fail(file, `unknown version ${version}`);
      if (view.getUint16(6, true) !== this.info.dim || view.getUint32(8, true) !== this.info.places) {
        throw fail(file, "header does not match the manifest (dim, places)");
      }
      return view;
    });
  }

  /**
   * The stored features of a place (PCA-reduced, unit rows), or undefined when it has none (a place added after
   * the features were stored, or one whose features could not be extracted).
   * @throws {MapFormatError} naming the file when the index or the blob is corrupt.
   */
  async get(placeId: number): Promise<LocalFeatures | undefined> {
    const hit = this.#cache.get(placeId);
    if (hit) return hit;
    if (!this.covers(placeId)) return undefined;
    const index = await this.#readIndex();
    const at = FEATURE_INDEX_HEADER + placeId * FEATURE_INDEX_ENTRY;
    const offset = index.getFloat64(at, true), length = index.getUint32(at + 8, true);
    const crc = index.getUint32(at + 12, true);
    if (length === 0) return undefined;
    const file = join(this.dir, this.info.data);
    const bytes = new Uint8Array(length);
    let got = 0;
    try {
      const f = await Deno.open(file, { read: true });
      try {
        await f.seek(offset, Deno.SeekMode.Start);
        while (got < length) {
          const n = await f.read(bytes.subarray(got));
          if (n === null) break;
          got += n;
        }
      } finally {
        f.close();
      }
    } catch (err) {
      throw fail(file, `cannot read the features of place ${placeId}`, err);
    }
    this.reads++;
    if (got !== length) {
      throw fail(file, `features of place ${placeId} are truncated (${got} of ${length} bytes)`);
    }
    if (crc32(bytes) !== crc) throw fail(file, `features of place ${placeId} fail their CRC-32`);
    let f: LocalFeatures;
    try {
      f = decodeLocalFeatures(bytes, `${file} (place ${placeId})`);
    } catch (err) {
      throw fail(file, (err as Error).message, err);
    }
    if (f.dim !== this.info.dim) {
      throw fail(file, `place ${placeId} has ${f.dim}-d features, not ${this.info.dim}`);
    }
    this.#cache.set(placeId, f);
    return f;
  }
}
