/**
 * Issue 9 §3: which vocabulary the default model should use on small maps. For every retrieval row of the
 * robustness suite (its cached datasets under .waymark-cache/suite/data; run `waymark eval suite` once first),
 * Recall@1/5 of the default model with
 * - `default`: what `map build` does (the map's own vocabulary, blended with the generic one below
 *   `VOCABULARY_MIN_IMAGES` map images),
 * - `fitted`: the vocabulary fitted on the row's map (k-means K 64) whatever the map's size,
 * - `generic`: the shipped generic vocabulary (models/waymark-generic),
 * - `blend-N`: k-means on the map started from the generic centres, each centre shrunk towards its generic
 *   one as if N images had contributed to it,
 * each without and with PCA whitening to 256-d learnt on the map (`-pca`).
 *
 * The k-means settings of the fitted and blended variants can be varied (`--restarts`, `--samples` per image,
 * `--iterations`, `--spherical`), and `--seeds 1,2,3` repeats every fitted variant per seed and reports each row's mean and
 * worst Recall over the seeds (how much the vocabulary depends on luck of the seed), with the fitting time.
 *
 * A row can also be a retrieval dataset's folder (a path with a `/`, e.g. the sets `scripts/sparse_maps.ts`
 * derives).
 *
 * Usage: deno run -A scripts/vocab_small_maps.ts [--cache .waymark-cache/suite] [--rows a,b] [--variants a,b]
 *        [--prior 100] [--seed 1 | --seeds 1,2,3] [--restarts N] [--samples N] [--iterations N] [--spherical]
 *        [--out FILE]
 */
import { parseArgs } from "node:util";
import { suiteRowDir } from "./_suite_rows.ts";
import { readRetrievalDataset } from "../src/dataset/retrieval_dataset.ts";
import { decodeImageFile } from "../src/map/build_map.ts";
import { fitDefaultModel, type FitDefaultOptions, vocabularyOf } from "../src/model/default_model.ts";
import { readGenericModelBundle } from "../src/model/generic_model.ts";
import { loadModelBundle } from "../src/model/onnx_model.ts";
import { getPreset } from "../src/model/registry.ts";
import { evaluateRetrieval } from "../src/eval/retrieval.ts";
import type { DescriptorModel, PixelImage } from "../src/types.ts";

const { values } = parseArgs({
  options: {
    cache: { type: "string", default: ".waymark-cache/suite" },
    data: { type: "string", default: "../shared/data/rtabmap_samples_loop" },
    rows: { type: "string" },
    variants: { type: "string", default: "fitted,generic,blend,fitted-pca,generic-pca,blend-pca" },
    prior: { type: "string", default: "100" },
    seed: { type: "string", default: "1" },
    seeds: { type: "string" },
    restarts: { type: "string" },
    samples: { type: "string" },
    iterations: { type: "string" },
    spherical: { type: "boolean" },
    out: { type: "string" },
  },
});

const ROWS = [
  "rtabmap",
  "rtabmap-160x120",
  "rtabmap-64x48",
  "night",
  "night-blur",
  "darker",
  "jpeg30",
  "crop",
  "night-160x120",
  "crop-jpeg30",
  "sim",
  "sim-hard",
  "sim-night",
  "night-map-small",
  "small-160x120",
  "night-map-small-o1",
  "night-map-small-o2",
  "night-map-small-o3",
  "small-160x120-o1",
  "small-160x120-o2",
  "small-160x120-o3",
];
const rows = values.rows ? values.rows.split(",") : ROWS;
const variants = values.variants!.split(",");
const priorImages = Number(values.prior);
const seeds = (values.seeds ?? values.seed!).split(",").map(Number);
const optNum = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const kmeansOptions: Partial<FitDefaultOptions> = {
  kmeansRestarts: optNum(values.restarts),
  samplesPerImage: optNum(values.samples),
  kmeansIterations: optNum(values.iterations),
  kmeansSpherical: values.spherical,
};

/** The row's cached dataset folder. */
function rowDir(row: string): Promise<string> {
  if (row.includes("/")) return Promise.resolve(row);
  return suiteRowDir(row, values.cache!, values.data!);
}

const preset = getPreset("dsift-netvlad-64").fit;
const genericBundle = await readGenericModelBundle();
const generic = vocabularyOf(genericBundle);
const models = new Map<string, { model: DescriptorModel; fitSeconds: number }>();

/** Fit (or load) a variant's model for a map; rows whose maps hold the same bytes share it. */
async function modelFor(
  variant: string,
  seed: number,
  mapKey: string,
  fitSet: () => Promise<PixelImage[]>,
): Promise<{ model: DescriptorModel; fitSeconds: number }> {
  const key = `${variant}|${seed}|${mapKey}`;
  const have = models.get(key);
  if (have) return have;
  const [base, pca] = variant.split("-");
  let model: DescriptorModel;
  let fitSeconds = 0;
  if (variant === "generic") model = await loadModelBundle(genericBundle, { provider: "cpu" });
  else {
    const opts: FitDefaultOptions = { ...preset, pcaDim: pca ? 256 : 0, seed };
    for (const [k, v] of Object.entries(kmeansOptions)) if (v !== undefined) Object.assign(opts, { [k]: v });
    if (base === "fitted") opts.vocabularyMinImages = 0;
    if (base === "generic") opts.vocabulary = generic;
    if (base === "blend") opts.prior = { centroids: generic.centroids, images: priorImages };
    const images = await fitSet();
    const t = performance.now();
    const bundle = await fitDefaultModel(images, opts);
    fitSeconds = (performance.now() - t) / 1000;
    model = await loadModelBundle(bundle, { provider: "cpu" });
  }
  const entry = { model, fitSeconds };
  models.set(key, entry);
  return entry;
}

/** A map's identity: the digest of its images' bytes (the degraded-query rows keep the rtabmap map). */
async function mapDigest(paths: string[]): Promise<string> {
  const parts = await Promise.all(paths.map((p) => Deno.readFile(p)));
  const all = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of parts) {
    all.set(b, o);
    o += b.length;
  }
  const h = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return [...h.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

interface Cell {
  r1: number;
  r5: number;
  /** Over the seeds (only with more than one seed). */
  r1_min?: number;
  r1_max?: number;
  r5_min?: number;
  r5_max?: number;
  seeds?: { seed: number; r1: number; r5: number; fit_s: number }[];
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const results: Record<string, Record<string, Cell>> = {};
const t0 = performance.now();
for (const row of rows) {
  const ds = await readRetrievalDataset(await rowDir(row));
  const mapKey = await mapDigest(ds.database.map((d) => d.path));
  let fitSet: PixelImage[] | null = null;
  const loadFitSet = async () => {
    if (!fitSet) {
      fitSet = [];
      const step = Math.max(1, ds.database.length / 400);
      for (let i = 0; i < ds.database.length; i += step) {
        const img = ds.database[Math.floor(i)];
        fitSet.push(await decodeImageFile(await Deno.readFile(img.path), img.path, 1));
      }
    }
    return fitSet;
  };
  results[row] = {};
  for (const v of variants) {
    const per: { seed: number; r1: number; r5: number; fit_s: number }[] = [];
    for (const seed of v === "generic" ? [seeds[0]] : seeds) {
      const { model, fitSeconds } = await modelFor(v, seed, mapKey, loadFitSet);
      const r = await evaluateRetrieval(ds, { model, ns: [1, 5], onWarning: () => {} });
      per.push({ seed, r1: r.recall[1], r5: r.recall[5], fit_s: Number(fitSeconds.toFixed(1)) });
      console.error(
        `${row} ${v} seed ${seed}: R@1 ${r.recall[1].toFixed(3)} R@5 ${r.recall[5].toFixed(3)} (fit ${
          fitSeconds.toFixed(1)
        } s, ${((performance.now() - t0) / 1000).toFixed(0)} s)`,
      );
    }
    const r1s = per.map((p) => p.r1), r5s = per.map((p) => p.r5);
    results[row][v] = per.length === 1 ? { r1: r1s[0], r5: r5s[0] } : {
      r1: mean(r1s),
      r5: mean(r5s),
      r1_min: Math.min(...r1s),
      r1_max: Math.max(...r1s),
      r5_min: Math.min(...r5s),
      r5_max: Math.max(...r5s),
      seeds: per,
    };
  }
}
for (const m of models.values()) await m.model.close();
const report = {
  date: new Date().toISOString(),
  priorImages,
  seeds,
  kmeans: kmeansOptions,
  variants,
  rows: results,
};
if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(report, null, 2) + "\n");
console.log(JSON.stringify(report));
