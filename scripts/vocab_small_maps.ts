/**
 * Issue 9 §3: which vocabulary the default model should use on small maps. For every retrieval row of the
 * robustness suite (its cached datasets under .waymark-cache/suite/data; run `waymark eval suite` once first),
 * Recall@1/5 of the default model with
 * - `fitted`: the vocabulary fitted on the row's map (k-means K 64, as `map build` does),
 * - `generic`: the shipped generic vocabulary (models/waymark-generic),
 * - `blend-N`: k-means on the map started from the generic centres, each centre shrunk towards its generic
 *   one as if N images had contributed to it,
 * each without and with PCA whitening to 256-d learnt on the map (`-pca`).
 *
 * Usage: deno run -A scripts/vocab_small_maps.ts [--cache .waymark-cache/suite] [--rows a,b] [--variants a,b]
 *        [--prior 100] [--seed 1] [--out FILE.json]
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
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
];
const rows = values.rows ? values.rows.split(",") : ROWS;
const variants = values.variants!.split(",");
const priorImages = Number(values.prior);
const seed = Number(values.seed);

/** The row's cached dataset folder (the suite's naming: `<row>-<key>/ds`, the simulated routes by seed). */
async function rowDir(row: string): Promise<string> {
  if (row === "rtabmap") return values.data!;
  const data = join(values.cache!, "data");
  const entries = [...Deno.readDirSync(data)].map((e) => e.name);
  if (row === "sim" || row === "sim-hard") {
    for (const e of entries.filter((n) => /^sim-[0-9a-f]{16}$/.test(n))) {
      const sim = JSON.parse(await Deno.readTextFile(join(data, e, "sim.json")));
      if (sim.options.seed === (row === "sim" ? 1 : 2)) return join(data, e);
    }
  } else {
    const e = entries.find((n) => n.startsWith(`${row}-`) && /^[0-9a-f]{16}$/.test(n.slice(row.length + 1)));
    if (e) return join(data, e, "ds");
  }
  throw new Error(
    `no cached dataset for row ${row} under ${data} (run waymark eval suite --rows ${row} once)`,
  );
}

const preset = getPreset("dsift-netvlad-64").fit;
const genericBundle = await readGenericModelBundle();
const generic = vocabularyOf(genericBundle);
const models = new Map<string, DescriptorModel>();

async function modelFor(variant: string, mapKey: string, fitSet: PixelImage[]): Promise<DescriptorModel> {
  const key = `${variant}|${mapKey}`;
  const have = models.get(key);
  if (have) return have;
  const [base, pca] = variant.split("-");
  let model: DescriptorModel;
  if (variant === "generic") model = await loadModelBundle(genericBundle, { provider: "cpu" });
  else {
    const opts: FitDefaultOptions = { ...preset, pcaDim: pca ? 256 : 0, seed };
    if (base === "generic") opts.vocabulary = generic;
    if (base === "blend") opts.prior = { centroids: generic.centroids, images: priorImages };
    model = await loadModelBundle(await fitDefaultModel(fitSet, opts), { provider: "cpu" });
  }
  models.set(key, model);
  return model;
}

const results: Record<string, Record<string, { r1: number; r5: number }>> = {};
const t0 = performance.now();
for (const row of rows) {
  const ds = await readRetrievalDataset(await rowDir(row));
  const mapKey = ds.database[0].path;
  let fitSet: PixelImage[] | null = null;
  results[row] = {};
  for (const v of variants) {
    if (!models.has(`${v}|${mapKey}`) && v !== "generic" && !fitSet) {
      fitSet = [];
      const step = Math.max(1, ds.database.length / 400);
      for (let i = 0; i < ds.database.length; i += step) {
        const img = ds.database[Math.floor(i)];
        fitSet.push(await decodeImageFile(await Deno.readFile(img.path), img.path, 1));
      }
    }
    const model = await modelFor(v, mapKey, fitSet ?? []);
    const r = await evaluateRetrieval(ds, { model, ns: [1, 5], onWarning: () => {} });
    results[row][v] = { r1: r.recall[1], r5: r.recall[5] };
    console.error(
      `${row} ${v}: R@1 ${r.recall[1].toFixed(3)} R@5 ${r.recall[5].toFixed(3)} (${
        ((performance.now() - t0) / 1000).toFixed(0)
      } s)`,
    );
  }
}
for (const m of models.values()) await m.close();
const report = { date: new Date().toISOString(), priorImages, seed, variants, rows: results };
if (values.out) await Deno.writeTextFile(values.out, JSON.stringify(report, null, 2) + "\n");
console.log(JSON.stringify(report));
