/**
 * Loop-closure recall at 100% precision on a loop dataset, with and without DELF-style verification.
 *
 * For each frame (in order): candidates = earlier frames outside a recent window, ranked by global-descriptor
 * cosine similarity; without verification the event is the top candidate (confidence = similarity); with
 * verification the top-k are verified and the event is the candidate with the most RANSAC inliers
 * (confidence = inliers, ties broken by similarity). Metrics as in docs/dataset_format.md.
 *
 * Global descriptors: the default model (`src/model/default_model.ts`, when present) or, as a stand-in, a
 * spatial pyramid (1x1 + 2x2) of mean-pooled dense SIFT (`--global sift`).
 *
 * Usage: deno run -A scripts/verify_eval_loops.ts [dataset] [--top-k 5] [--window 20] [--global model|sift]
 */
import { parseArgs } from "node:util";
import { readLoopDataset } from "../src/dataset/loop_dataset.ts";
import { decodeImage } from "../src/image/decode.ts";
import type { DescriptorModel, PixelImage } from "../src/types.ts";
import { denseSift, resizeGray, toGray } from "../src/verify/dense_sift.ts";
import {
  type LoopEventScore,
  loopMetrics,
  MapFeatureBuilder,
  memoryStore,
} from "../src/verify/eval_hooks.ts";
import { Verifier } from "../src/verify/verifier.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    "top-k": { type: "string", default: "5" },
    window: { type: "string", default: "20" },
    global: { type: "string", default: "auto" },
    local: { type: "string", default: "sift" },
    model: { type: "string", default: "affine" },
    threshold: { type: "string", default: "20" },
    "max-distance": { type: "string", default: "0.8" },
  },
});
const dir = positionals[0] ?? new URL("../../shared/data/rtabmap_samples_loop", import.meta.url).pathname;
const topK = Number(values["top-k"]), window = Number(values.window);

/** Stand-in global descriptor: 1x1 + 2x2 mean-pooled dense SIFT at half resolution, each block L2-normalised. */
function pooledSift(image: PixelImage): Float32Array {
  const g = resizeGray(toGray(image), image.width, image.height, 0.5);
  const d = denseSift(g.gray, g.width, g.height);
  const out = new Float32Array(5 * 128);
  for (let gy = 0; gy < d.gridHeight; gy++) {
    for (let gx = 0; gx < d.gridWidth; gx++) {
      const cell = 1 + (gy * 2 >= d.gridHeight ? 2 : 0) + (gx * 2 >= d.gridWidth ? 1 : 0);
      for (let k = 0; k < 128; k++) {
        const v = d.descriptors[(gy * d.gridWidth + gx) * 128 + k];
        out[k] += v;
        out[cell * 128 + k] += v;
      }
    }
  }
  for (let b = 0; b < 5; b++) {
    let n = 0;
    for (let k = 0; k < 128; k++) n += out[b * 128 + k] ** 2;
    for (let k = 0; k < 128; k++) out[b * 128 + k] /= Math.sqrt(n) * Math.sqrt(5) || 1;
  }
  return out;
}

async function loadDefaultModel(): Promise<DescriptorModel | null> {
  try {
    const mod = await import("../src/model/default_model.ts");
    // deno-lint-ignore no-explicit-any
    const m = mod as any;
    if (typeof m.loadGenericModel === "function") return await m.loadGenericModel();
  } catch (err) {
    console.error(
      `default model unavailable (${(err as Error).message.split("\n")[0]}); using pooled dense SIFT`,
    );
  }
  return null;
}

const ds = await readLoopDataset(dir);
const model = values.global === "sift" ? null : await loadDefaultModel();
const useModelLocal = values.local === "model" && model !== null;
const builder = new MapFeatureBuilder(useModelLocal ? { descriptorModel: model! } : {});
const globals: Float32Array[] = [];
let tExtract = 0;
for (const f of ds.frames) {
  const img = await decodeImage(await Deno.readFile(f.path), { source: f.image });
  globals.push(model ? (await model.describe(img)).global : pooledSift(img));
  const t = performance.now();
  await builder.add(f.index, img);
  tExtract += performance.now() - t;
}
const { features } = builder.finish();
const verifier = new Verifier(memoryStore(features), {
  model: values.model as "affine" | "homography",
  threshold: Number(values.threshold),
  maxDistance: Number(values["max-distance"]),
});
const plain: LoopEventScore[] = [], verified: LoopEventScore[] = [];
let tVerify = 0, nVerify = 0;
for (let q = 0; q < ds.frames.length; q++) {
  const cands: { i: number; s: number }[] = [];
  for (let i = 0; i + window <= q; i++) {
    let s = 0;
    for (let k = 0; k < globals[q].length; k++) s += globals[q][k] * globals[i][k];
    cands.push({ i, s });
  }
  if (cands.length === 0) continue;
  cands.sort((a, b) => b.s - a.s);
  plain.push({ query: q, match: cands[0].i, confidence: cands[0].s });
  const head = cands.slice(0, topK);
  const t = performance.now();
  const results = await verifier.verifyCandidates(features.get(q)!, head.map((c) => c.i));
  tVerify += performance.now() - t;
  nVerify += head.length;
  let best = -1;
  for (let k = 0; k < head.length; k++) {
    if (best < 0 || results[k].result.inliers > results[best].result.inliers) best = k;
  }
  // Confidence: inliers, with the similarity as a tie-breaker below one inlier.
  verified.push({
    query: q,
    match: head[best].i,
    confidence: results[best].result.inliers + 0.5 * head[best].s,
  });
}
const a = loopMetrics(plain, ds.loops), b = loopMetrics(verified, ds.loops);
const fmt = (m: typeof a) =>
  `recall@100%P ${m.recallAt100Precision.toFixed(3)}  precision ${m.precision.toFixed(3)}  recall ${
    m.recall.toFixed(3)
  }  (${m.correct}/${m.events} events correct, ${m.loopFrames} loop frames)`;
console.log(
  `dataset ${dir}: ${ds.frames.length} frames, global=${model ? model.info.name : "pooled-dsift"}, local=${
    useModelLocal ? "model" : "ts-dsift"
  }, top-k ${topK}, window ${window}`,
);
console.log(`without verification: ${fmt(a)}`);
console.log(`with verification:    ${fmt(b)}`);
console.log(
  `local features ${(tExtract / ds.frames.length).toFixed(1)} ms/frame; verification ${
    (tVerify / nVerify).toFixed(2)
  } ms/pair`,
);
const wrong = verified.filter((e) => !ds.loops[e.query].includes(e.match)).sort((x, y) =>
  y.confidence - x.confidence
).slice(0, 5);
console.log(
  "top false verified events:",
  wrong.map((e) => `${e.query + 1}->${e.match + 1} (${e.confidence.toFixed(1)})`).join(", "),
);
const ok = verified.filter((e) => ds.loops[e.query].includes(e.match)).sort((x, y) =>
  x.confidence - y.confidence
).slice(0, 5);
console.log(
  "weakest true verified events:",
  ok.map((e) => `${e.query + 1}->${e.match + 1} (${e.confidence.toFixed(1)})`).join(", "),
);
await model?.close();
