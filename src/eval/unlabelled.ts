/**
 * Unlabelled retrieval (`waymark eval retrieval <folder>` on a plain folder of images, no ground truth): the top-k
 * most similar images of each query, by file name, with their similarities.
 *
 * - With a built map (`map`): every image of the folder is a query against the map's places.
 * - Without one: a temporary map is built from the folder (fitting the default model, as `map build` does), and
 *   each image is a query against the others (itself left out).
 *
 * @example
 * ```ts ignore
 * const r = await retrieveUnlabelled("photos/", { k: 5 });
 * for (const q of r.perQuery) console.log(q.query, q.matches.map((m) => m.image));
 * ```
 * @module
 */
import { ImageDecodeError, requirePositiveInt } from "../errors.ts";
import { readImageFolder } from "../dataset/image_folder.ts";
import type { DatasetImage } from "../dataset/types.ts";
import { buildMap, type BuildProgress, decodeImageFile } from "../map/build_map.ts";
import type { LoadedMap } from "../map/map_loader.ts";
import type { DescriptorModel, PixelImage, PlaceMeta, ProviderChoice } from "../types.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import { type LatencySummary, summarizeLatency } from "./metrics.ts";

/** Options of {@link retrieveUnlabelled}. */
export interface UnlabelledOptions {
  /** Matches per query. Default 5. */
  k?: number;
  /** A built map to search (its model is used; the caller closes it). Default: build one from the folder. */
  map?: LoadedMap;
  /** Model folder for the temporary map. Default: fit the default model. */
  modelDir?: string;
  /** Execution provider for the temporary map. Default `"auto"`. */
  provider?: ProviderChoice;
  /** Progress of the map build and of the queries. */
  onProgress?: (p: BuildProgress | { phase: "query"; done: number; total: number }) => void;
  /** Warnings (unreadable images). Default `console.warn`. */
  onWarning?: (message: string) => void;
  /** Decoder (tests inject one). */
  decode?: (bytes: Uint8Array, source: string, channels: 1 | 3) => Promise<PixelImage>;
  /** The query images instead of the folder's (e.g. a recording's frames); `folder` then only names them. */
  images?: DatasetImage[];
}

/** One query's answer. */
export interface UnlabelledQuery {
  /** File name of the query (relative to the folder). */
  query: string;
  /** Best first: the place's image (file name in the folder, or as recorded in the map) and similarity. */
  matches: { image: string; placeId: number; similarity: number }[];
  /** Why the query has no matches (unreadable image). */
  error?: string;
}

/** The result of {@link retrieveUnlabelled}. */
export interface UnlabelledReport {
  folder: string;
  /** `map`: against a built map; `self`: each image against the others of the folder. */
  mode: "map" | "self";
  k: number;
  places: number;
  mapDir?: string;
  perQuery: UnlabelledQuery[];
  /** Per-query time (read, decode, describe, search). */
  latencyMs: LatencySummary;
}

/** Top-k file names per query image of `folder`; see the module doc. */
export async function retrieveUnlabelled(
  folder: string,
  options: UnlabelledOptions = {},
): Promise<UnlabelledReport> {
  const k = requirePositiveInt("retrieve unlabelled images", "k", options.k ?? 5);
  const warn = options.onWarning ?? ((m: string) => console.warn(`waymark: warning: ${m}`));
  const decode = options.decode ?? decodeImageFile;
  const images: DatasetImage[] = options.images ?? await readImageFolder(folder);
  let model: DescriptorModel, index: VectorIndex, places: PlaceMeta[];
  let tempDir: string | null = null;
  if (options.map) {
    ({ model, index, places } = options.map);
  } else {
    tempDir = await Deno.makeTempDir({ prefix: "waymark_unlabelled_" });
    const built = await buildMap(images, `${tempDir}/map`, {
      modelDir: options.modelDir,
      provider: options.provider,
      onProgress: options.onProgress,
      onWarning: warn,
      decode,
      keepOpen: true,
      localFeatures: false,
    });
    model = built.model!;
    index = built.index!;
    places = built.places;
  }
  try {
    const self = !options.map;
    const perQuery: UnlabelledQuery[] = [];
    const times: number[] = [];
    for (const [i, q] of images.entries()) {
      const t0 = performance.now();
      let px: PixelImage;
      try {
        px = await decode(await Deno.readFile(q.path), q.path, model.info.inputChannels);
      } catch (err) {
        const fsError = Object.values(Deno.errors).some((E) => err instanceof E);
        if (!(err instanceof ImageDecodeError) && !fsError) throw err;
        warn(`query ${q.image} has no answer: ${(err as Error).message}`);
        perQuery.push({ query: q.image, matches: [], error: (err as Error).message });
        continue;
      }
      const { global } = await model.describe(px);
      const hits = index.search(global, Math.min(places.length, k + (self ? 1 : 0)));
      const matches = hits
        .filter((h) => !(self && places[h.id]?.image === q.image))
        .slice(0, k)
        .map((h) => ({
          image: places[h.id]?.image ?? `place ${h.id}`,
          placeId: h.id,
          similarity: h.similarity,
        }));
      times.push(performance.now() - t0);
      perQuery.push({ query: q.image, matches });
      options.onProgress?.({ phase: "query", done: i + 1, total: images.length });
    }
    const out: UnlabelledReport = {
      folder,
      mode: self ? "self" : "map",
      k,
      places: places.length,
      perQuery,
      latencyMs: summarizeLatency(times),
    };
    if (options.map) out.mapDir = options.map.dir;
    return out;
  } finally {
    if (tempDir !== null) {
      await model.close();
      await Deno.remove(tempDir, { recursive: true }).catch(() => {});
    }
  }
}

/** The JSON object of `eval retrieval --json` in unlabelled mode. */
export function unlabelledReportJson(r: UnlabelledReport): Record<string, unknown> {
  return {
    mode: `unlabelled-${r.mode}`,
    folder: r.folder,
    k: r.k,
    places: r.places,
    ...(r.mapDir ? { map: r.mapDir } : {}),
    queries: r.perQuery.length,
    latency_ms: { p50: r.latencyMs.p50, p90: r.latencyMs.p90, p99: r.latencyMs.p99 },
    per_query: r.perQuery.map((q) => ({
      query: q.query,
      top: q.matches.map((m) => ({ image: m.image, similarity: Math.round(m.similarity * 10000) / 10000 })),
      ...(q.error ? { error: q.error } : {}),
    })),
  };
}
