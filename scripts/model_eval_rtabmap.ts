/**
 * Quick retrieval check of the default model on a retrieval-layout dataset (default:
 * ../shared/data/rtabmap_samples_loop): fit on database images, describe queries, exact search,
 * Recall@1/5/10. Usage: deno run -A scripts/model_eval_rtabmap.ts [--dataset DIR] [--clusters 64]
 * [--pca 0] [--variant vladv1] [--width 320] [--cell 4] [--step 1] [--sigma 0.8] [--contrast 0] [--no-power]
 */
import { parseArgs } from "node:util";
import { decodeImage } from "../src/image/decode.ts";
import { fitDefaultModel } from "../src/model/default_model.ts";
import { loadModelBundle } from "../src/model/onnx_model.ts";
import { readGenericModelBundle } from "../src/model/generic_model.ts";

const { values: a } = parseArgs({
  options: {
    dataset: {
      type: "string",
      default: new URL("../../shared/data/rtabmap_samples_loop", import.meta.url).pathname,
    },
    clusters: { type: "string", default: "64" },
    pca: { type: "string", default: "0" },
    variant: { type: "string", default: "vladv1" },
    width: { type: "string", default: "320" },
    cell: { type: "string", default: "4" },
    step: { type: "string", default: "1" },
    sigma: { type: "string", default: "0.8" },
    contrast: { type: "string", default: "0" },
    samples: { type: "string", default: "1000" },
    crops: { type: "string", default: "6" },
    "no-power": { type: "boolean", default: false },
    generic: { type: "boolean", default: false },
    clip: { type: "boolean", default: true },
    "no-clip": { type: "boolean", default: false },
    threads: { type: "string" },
  },
});
const dir = a.dataset!;
const rows = (f: string) =>
  Deno.readTextFileSync(`${dir}/${f}`).trim().split(/\r?\n/).slice(1).map((l) => l.split(","));
const db = rows("database.csv").map((r) => r[0]);
const qs = rows("queries.csv").map((r) => r[0]);
const truth = new Map<string, Set<string>>();
for (const [q, d] of rows("matches.csv")) {
  if (!truth.has(q)) truth.set(q, new Set());
  truth.get(q)!.add(d);
}
const load = (p: string) => decodeImage(Deno.readFileSync(`${dir}/${p}`), { channels: 1, source: p });
const dbImgs = await Promise.all(db.map(load));
const qImgs = await Promise.all(qs.map(load));
const t0 = performance.now();
const bundle = a.generic ? (await readGenericModelBundle()) : await fitDefaultModel(dbImgs, {
  clusters: Number(a.clusters),
  pcaDim: Number(a.pca),
  variant: a.variant as "vladv1" | "vladv2",
  inputWidth: Number(a.width),
  samplesPerImage: Number(a.samples),
  pcaCropsPerImage: Number(a.crops),
  powerNorm: !a["no-power"],
  frontEnd: {
    cellSize: Number(a.cell),
    gridStep: Number(a.step),
    smoothSigma: Number(a.sigma),
    contrastThreshold: Number(a.contrast),
  },
});
const fitMs = performance.now() - t0;
const model = await loadModelBundle(bundle, {
  provider: "cpu",
  intraOpNumThreads: a.threads ? Number(a.threads) : undefined,
});
const dbD = (await model.describeBatch(dbImgs)).map((o) => o.global);
const qD: Float32Array[] = [];
const times: number[] = [];
for (const img of qImgs) {
  const s = performance.now();
  qD.push((await model.describe(img)).global);
  times.push(performance.now() - s);
}
const hits = [0, 0, 0];
let evaluated = 0;
qs.forEach((q, i) => {
  const t = truth.get(q);
  if (!t) return;
  evaluated++;
  const sims = dbD.map((d, j) => {
    let s = 0;
    for (let k = 0; k < d.length; k++) s += d[k] * qD[i][k];
    return [s, j] as const;
  }).sort((x, y) => y[0] - x[0]);
  [1, 5, 10].forEach((n, ni) => {
    if (sims.slice(0, n).some(([, j]) => t.has(db[j]))) hits[ni]++;
  });
});
times.sort((x, y) => x - y);
const result = {
  "recall@1": hits[0] / evaluated,
  "recall@5": hits[1] / evaluated,
  "recall@10": hits[2] / evaluated,
  queries: evaluated,
  dim: model.info.descriptorDim,
  input: `${model.info.inputWidth}x${model.info.inputHeight}`,
  describe_p50_ms: +times[times.length >> 1].toFixed(2),
  fit_s: +(fitMs / 1000).toFixed(1),
  options: a,
};
console.log(JSON.stringify(result));
await model.close();
