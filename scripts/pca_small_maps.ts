/**
 * Issue 9 §3: how PCA whitening of the default model depends on its shrinkage and on the random crops that feed
 * it, per retrieval row of the robustness suite (cached datasets under .waymark-cache/suite/data; run
 * `waymark eval suite` once first). For each row: the default model fitted on the row's map without whitening
 * (raw VLAD, Recall@1 `none`), then for each of `--draws` seeds a fresh draw of the crops `fitDefaultModel`
 * adds to the map's images (`globalDescriptorsForPca`), whitening to min(256, images - 1) dimensions fitted
 * with each `--shrinkage` (fraction of the mean retained eigenvalue added to every eigenvalue) and a plain
 * projection onto the same axes (`proj`, no whitening); Recall@1 by exact cosine search over the map. Reports
 * each variant's worst, best and mean Recall@1 over the draws. The `--pcaMinImages` rule is not applied here:
 * every row is whitened, so that small maps show what the rule avoids.
 *
 * Usage: deno run -A scripts/pca_small_maps.ts [--rows a,b] [--draws 5] [--shrinkage 1,3]
 *        [--cache .waymark-cache/suite] [--data ../shared/data/rtabmap_samples_loop] [--out FILE]
 */
import { parseArgs } from "node:util";
import { suiteRowDir } from "./_suite_rows.ts";
import { readRetrievalDataset } from "../src/dataset/retrieval_dataset.ts";
import { decodeImageFile } from "../src/map/build_map.ts";
import { fitDefaultModel, globalDescriptorsForPca } from "../src/model/default_model.ts";
import { loadModelBundle } from "../src/model/onnx_model.ts";
import { getPreset } from "../src/model/registry.ts";
import { applyPca, fitPca } from "../src/model/pca.ts";
import { convertChannels, resizePixels } from "../src/image/resize.ts";
import { seededRandom } from "../src/kernels/kmeans.ts";
import { recallAtN } from "../src/eval/metrics.ts";
import type { DatasetImage } from "../src/dataset/types.ts";

const { values } = parseArgs({
  options: {
    rows: { type: "string", default: "night-map,night-map-small,small-160x120" },
    draws: { type: "string", default: "5" },
    shrinkage: { type: "string", default: "1,3" },
    cache: { type: "string", default: ".waymark-cache/suite" },
    data: { type: "string", default: "../shared/data/rtabmap_samples_loop" },
    out: { type: "string" },
  },
});
const draws = Number(values.draws);
const shrinkages = values.shrinkage!.split(",").map(Number);

/** Recall@1 of queries against the map by exact cosine search (rows L2-normalised, row-major). */
function recall1(map: Float32Array, queries: Float32Array, dim: number, truth: number[][]): number {
  const ranked: number[][] = [];
  for (let q = 0; q < queries.length / dim; q++) {
    let best = -1, bestScore = -Infinity;
    for (let m = 0; m < map.length / dim; m++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += queries[q * dim + j] * map[m * dim + j];
      if (s > bestScore) [best, bestScore] = [m, s];
    }
    ranked.push([best]);
  }
  return recallAtN(ranked, truth, [1]).recall[1];
}

const stats = (xs: number[]) => ({
  min: Math.min(...xs),
  max: Math.max(...xs),
  mean: xs.reduce((a, b) => a + b, 0) / xs.length,
  draws: xs,
});
const report: Record<string, unknown> = {};
for (const row of values.rows!.split(",")) {
  const ds = await readRetrievalDataset(await suiteRowDir(row, values.cache!, values.data!));
  const decode = (im: DatasetImage) => Deno.readFile(im.path).then((b) => decodeImageFile(b, im.path, 1));
  const mapImages = await Promise.all(ds.database.map(decode));
  const bundle = await fitDefaultModel(mapImages, { ...getPreset("dsift-netvlad-64").fit, pcaDim: 0 });
  const model = await loadModelBundle(bundle, { provider: "cpu" });
  const D = model.info.descriptorDim;
  const describeAll = async (ims: DatasetImage[]) => {
    const out = new Float32Array(ims.length * D);
    for (let i = 0; i < ims.length; i++) out.set((await model.describe(await decode(ims[i]))).global, i * D);
    return out;
  };
  const map = await describeAll(ds.database), queries = await describeAll(ds.queries);
  await model.close();
  const { inputWidth: w, inputHeight: h } = bundle.params;
  const prepared = mapImages.map((img) => convertChannels(resizePixels(img, w, h), 1));
  const n = mapImages.length, dim = Math.min(256, n - 1);
  const cells: Record<string, number[]> = {};
  for (let draw = 1; draw <= draws; draw++) {
    const vlads = await globalDescriptorsForPca(bundle.params, prepared, 6, seededRandom(draw), () => {});
    const variants: [string, { regulariser?: number; whiten?: boolean }][] = [
      ...shrinkages.map((r): [string, { regulariser: number }] => [`shrinkage ${r}`, { regulariser: r }]),
      ["proj", { whiten: false }],
    ];
    for (const [name, o] of variants) {
      const p = fitPca(vlads, D, dim, { seed: 1, ...o });
      (cells[name] ??= []).push(recall1(applyPca(p, map), applyPca(p, queries), dim, ds.truth));
    }
  }
  const none = recall1(map, queries, D, ds.truth);
  report[row] = {
    images: n,
    dim,
    none,
    ...Object.fromEntries(Object.entries(cells).map(([k, v]) => [k, stats(v)])),
  };
  console.error(
    `${row} (${n} images, ${dim}-d): none ${none.toFixed(3)}; ` +
      Object.entries(cells).map(([k, v]) => {
        const s = stats(v);
        return `${k} ${s.min.toFixed(3)}..${s.max.toFixed(3)} (mean ${s.mean.toFixed(3)})`;
      }).join("; "),
  );
}
const json = JSON.stringify({ date: new Date().toISOString(), draws, shrinkages, rows: report });
if (values.out) await Deno.writeTextFile(values.out, json + "\n");
console.log(json);
