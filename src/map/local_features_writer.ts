/**
 * Collecting the local features of a map's places while the map is built, and writing them into the map's
 * `features/` folder (layout: `local_features.ts`).
 *
 * Each place's image is reduced to the verification image (grey, longer side at most `maxSide`, as the
 * pipeline's verifier does for its queries), its full-size (128-d, unit) local features are extracted and
 * spooled to a temporary file (int8), and a strided sample of descriptors is kept to fit the PCA. `write()` fits
 * the PCA on the sample (DELF: 40-d), then reduces (PCA, L2) and encodes each place (int8 with a per-row
 * scale, about 60 bytes per keypoint at 40-d) into the staging folder of the map. Memory stays bounded: only the
 * PCA sample (at most `maxPcaSamples` rows) is kept, whatever the map's size.
 *
 * @module
 */
import { join } from "node:path";
import { invalid } from "../errors.ts";
import type { PixelImage } from "../types.ts";
import { decodeLocalFeatures, encodeLocalFeatures, encodePca } from "../verify/features_codec.ts";
import {
  DEFAULT_LOCAL_FEATURE_OPTIONS,
  extractLocalFeatures,
  verificationImage,
} from "../verify/local_features.ts";
import { applyPca, fitPca } from "../verify/pca.ts";
import { crc32 } from "node:zlib";
import { removeQuietly } from "../_fs.ts";
import { writeFileSynced } from "./_fs.ts";
import { type LocalFeatureExtraction, MAP_FILES, type MapLocalFeaturesInfo } from "./format.ts";
import {
  FEATURE_FILES_VERSION,
  FEATURE_INDEX_ENTRY,
  FEATURE_INDEX_HEADER,
  FEATURE_INDEX_MAGIC,
} from "./local_features.ts";

/** `extraction.extractor` of features from the default (keypoint-first SIFT) front end of `src/verify/`. */
export const LOCAL_FEATURE_EXTRACTOR = "sift-kp";

/**
 * Extraction settings of stored features: the verifier's own defaults (`DEFAULT_LOCAL_FEATURE_OPTIONS` of
 * `src/verify/local_features.ts`), at the verification image size (longer side 512). The pipeline's verifier
 * (`src/pipeline/geometric_verifier.ts`) extracts its queries with the same defaults.
 */
export const DEFAULT_LOCAL_FEATURE_EXTRACTION: Readonly<LocalFeatureExtraction> = Object.freeze({
  extractor: LOCAL_FEATURE_EXTRACTOR,
  maxSide: 512,
  maxKeypoints: DEFAULT_LOCAL_FEATURE_OPTIONS.maxKeypoints,
  scales: [...DEFAULT_LOCAL_FEATURE_OPTIONS.scales],
  attentionThreshold: DEFAULT_LOCAL_FEATURE_OPTIONS.attentionThreshold,
  nmsIoU: DEFAULT_LOCAL_FEATURE_OPTIONS.nmsIoU,
});

/**
 * How a map's recorded extraction differs from the query side's (`"extractor dense-sift, not sift-kp"`,
 * `"maxKeypoints 500, not 1000"`, ...), or undefined when stored and query features compare. A record without
 * the extractor's tag or a setting counts as different (features from an older front end).
 */
export function extractionMismatch(
  stored: Partial<LocalFeatureExtraction> | undefined,
  query: LocalFeatureExtraction,
): string | undefined {
  if (!stored || typeof stored !== "object") return "no extraction settings recorded";
  const diffs: string[] = [];
  const show = (v: unknown) => v === undefined ? "unrecorded" : JSON.stringify(v);
  for (const key of ["extractor", "maxSide", "maxKeypoints", "attentionThreshold", "nmsIoU"] as const) {
    if (stored[key] !== query[key]) diffs.push(`${key} ${show(stored[key])}, not ${show(query[key])}`);
  }
  const a = stored.scales, b = query.scales;
  if (!Array.isArray(a) || a.length !== b.length || a.some((s, i) => s !== b[i])) {
    diffs.push(`scales ${show(a)}, not ${show(b)}`);
  }
  return diffs.length ? diffs.join("; ") : undefined;
}

/** Options of {@link LocalFeatureCollector.create}. All optional. */
export interface LocalFeatureCollectorOptions {
  /** PCA output size. Default 40 (DELF). */
  pcaDim?: number;
  /** Keypoints per place. Default the verifier's (1000). */
  maxKeypoints?: number;
  /** Longer image side for extraction (pixels). Default 512. */
  maxSide?: number;
  /** Pyramid scales. Default the verifier's (`[1, 0.7071, 0.5, 0.3536]`). */
  scales?: number[];
  /** Descriptors the PCA is fitted on (at most; a strided sample of every place). Default 20000. */
  maxPcaSamples?: number;
  /** Places expected (spreads the PCA sample over them). Default 1000. */
  expectedPlaces?: number;
}

/** Collects per-place local features during a map build (see the module doc). */
export class LocalFeatureCollector {
  /** Extraction settings in use. */
  readonly extraction: LocalFeatureExtraction;
  /** Seconds spent extracting, fitting and writing (the cost features add to a build). */
  seconds = 0;
  readonly #pcaDim: number;
  readonly #perPlace: number;
  readonly #spoolPath: string;
  readonly #spool: Deno.FsFile;
  #spoolSize = 0;
  readonly #spooled = new Map<number, { offset: number; length: number }>();
  readonly #sample: Float32Array[] = [];
  #inputDim = 0;
  #closed = false;

  private constructor(
    extraction: LocalFeatureExtraction,
    pcaDim: number,
    perPlace: number,
    path: string,
    f: Deno.FsFile,
  ) {
    this.extraction = extraction;
    this.#pcaDim = pcaDim;
    this.#perPlace = perPlace;
    this.#spoolPath = path;
    this.#spool = f;
  }

  /** Validate options and open the temporary spool file. @throws {ValidationError} for bad options. */
  static async create(options: LocalFeatureCollectorOptions = {}): Promise<LocalFeatureCollector> {
    const act = "store local features";
    const d = DEFAULT_LOCAL_FEATURE_EXTRACTION;
    const pcaDim = options.pcaDim ?? 40;
    const maxKeypoints = options.maxKeypoints ?? d.maxKeypoints;
    const maxSide = options.maxSide ?? d.maxSide;
    const scales = options.scales ?? [...d.scales];
    const maxPcaSamples = options.maxPcaSamples ?? 20000;
    const expected = options.expectedPlaces ?? 1000;
    if (!Number.isInteger(pcaDim) || pcaDim < 1 || pcaDim > 128) {
      throw invalid(act, "pcaDim", "an integer in [1, 128]", pcaDim);
    }
    if (!Number.isInteger(maxKeypoints) || maxKeypoints < 8) {
      throw invalid(act, "maxKeypoints", "an integer >= 8", maxKeypoints);
    }
    if (!(maxSide >= 32)) throw invalid(act, "maxSide", "a number >= 32", maxSide);
    if (!Array.isArray(scales) || scales.length === 0 || scales.some((s) => !(s > 0 && s <= 4))) {
      throw invalid(act, "scales", "a non-empty list of numbers in (0, 4]", scales);
    }
    if (!Number.isInteger(maxPcaSamples) || maxPcaSamples < 2 * pcaDim) {
      throw invalid(act, "maxPcaSamples", `an integer >= ${2 * pcaDim}`, maxPcaSamples);
    }
    if (!Number.isInteger(expected) || expected < 1) {
      throw invalid(act, "expectedPlaces", "a positive integer", expected);
    }
    const path = await Deno.makeTempFile({ prefix: "waymark_features_" });
    const f = await Deno.open(path, { read: true, write: true });
    const perPlace = Math.max(4, Math.ceil(maxPcaSamples / expected));
    return new LocalFeatureCollector(
      { ...d, maxSide, maxKeypoints, scales: [...scales] },
      pcaDim,
      perPlace,
      path,
      f,
    );
  }

  /** Places collected so far. */
  get places(): number {
    return this.#spooled.size;
  }

  /** Extract and spool the full-size features of one place. */
  async add(placeId: number, image: PixelImage): Promise<void> {
    const t0 = performance.now();
    const { maxSide, maxKeypoints, scales, attentionThreshold, nmsIoU } = this.extraction;
    const f = await extractLocalFeatures(verificationImage(image, maxSide), {
      maxKeypoints,
      scales,
      attentionThreshold,
      nmsIoU,
    });
    if (f.count > 0) {
      this.#inputDim = f.dim;
      const step = Math.max(1, Math.floor(f.count / this.#perPlace));
      const rows: number[] = [];
      for (let i = 0; i < f.count && rows.length < this.#perPlace; i += step) rows.push(i);
      const sample = new Float32Array(rows.length * f.dim);
      rows.forEach((r, k) => sample.set(f.descriptors.subarray(r * f.dim, (r + 1) * f.dim), k * f.dim));
      this.#sample.push(sample);
    }
    const blob = encodeLocalFeatures(f);
    let off = 0;
    await this.#spool.seek(this.#spoolSize, Deno.SeekMode.Start);
    while (off < blob.length) off += await this.#spool.write(blob.subarray(off));
    this.#spooled.set(placeId, { offset: this.#spoolSize, length: blob.length });
    this.#spoolSize += blob.length;
    this.seconds += (performance.now() - t0) / 1000;
  }

  /**
   * Fit the PCA and write `features/` into `mapDir` (a map's staging folder) for places `0..places-1`; returns
   * the manifest section, or null when no place had keypoints (nothing is written then).
   */
  async write(mapDir: string, places: number): Promise<MapLocalFeaturesInfo | null> {
    const t0 = performance.now();
    const dim = this.#inputDim;
    const sampleRows = this.#sample.reduce((s, a) => s + a.length, 0) / Math.max(1, dim);
    if (dim === 0 || sampleRows < 2) return null;
    const rows = new Float32Array(sampleRows * dim);
    let o = 0;
    for (const a of this.#sample) {
      rows.set(a, o);
      o += a.length;
    }
    const pca = fitPca(rows, dim, { outputDim: Math.min(this.#pcaDim, dim), maxSamples: sampleRows });
    await Deno.mkdir(join(mapDir, MAP_FILES.featuresDir), { recursive: true });
    await writeFileSynced(join(mapDir, MAP_FILES.featuresPca), encodePca(pca));
    const index = new Uint8Array(FEATURE_INDEX_HEADER + places * FEATURE_INDEX_ENTRY);
    const iv = new DataView(index.buffer);
    iv.setUint32(0, FEATURE_INDEX_MAGIC, true);
    iv.setUint16(4, FEATURE_FILES_VERSION, true);
    iv.setUint16(6, pca.outputDim, true);
    iv.setUint32(8, places, true);
    const out = await Deno.open(join(mapDir, MAP_FILES.featuresData), {
      write: true,
      create: true,
      truncate: true,
    });
    let bytes = 0, keypoints = 0;
    try {
      for (let id = 0; id < places; id++) {
        const at = this.#spooled.get(id);
        if (!at) continue;
        const raw = new Uint8Array(at.length);
        await this.#spool.seek(at.offset, Deno.SeekMode.Start);
        let got = 0;
        while (got < raw.length) {
          const n = await this.#spool.read(raw.subarray(got));
          if (n === null) throw new Error(`spool file ${this.#spoolPath} is truncated`);
          got += n;
        }
        const f = decodeLocalFeatures(raw, `spooled features of place ${id}`);
        const reduced = f.count === 0 ? new Float32Array(0) : applyPca(pca, f.descriptors);
        const blob = encodeLocalFeatures({ ...f, dim: pca.outputDim, descriptors: reduced });
        let w = 0;
        while (w < blob.length) w += await out.write(blob.subarray(w));
        const e = FEATURE_INDEX_HEADER + id * FEATURE_INDEX_ENTRY;
        iv.setFloat64(e, bytes, true);
        iv.setUint32(e + 8, blob.length, true);
        iv.setUint32(e + 12, crc32(blob), true);
        bytes += blob.length;
        keypoints += f.count;
      }
      await out.sync();
    } finally {
      out.close();
    }
    await writeFileSynced(join(mapDir, MAP_FILES.featuresIndex), index);
    this.seconds += (performance.now() - t0) / 1000;
    return {
      version: FEATURE_FILES_VERSION,
      pca: MAP_FILES.featuresPca,
      data: MAP_FILES.featuresData,
      index: MAP_FILES.featuresIndex,
      inputDim: dim,
      dim: pca.outputDim,
      places,
      keypoints,
      bytes,
      extraction: { ...this.extraction, scales: [...this.extraction.scales] },
    };
  }

  /** Close and remove the spool file (idempotent). */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#spool.close();
    } catch { /* already closed */ }
    await removeQuietly(this.#spoolPath);
  }
}
