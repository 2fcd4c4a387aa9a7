/**
 * Loop-closure recall at 100% precision on a loop dataset, with and without DELF-style verification.
 *
 * For each frame (in order): candidates = earlier frames outside a recent window, ranked by global-descriptor
 * cosine similarity; without verification the event is the top candidate (confidence = similarity); with
 * verification the top-k are verified and the event is the candidate with the most RANSAC inliers
 * (confidence = inliers, ties broken by similarity). Metrics as in docs/dataset_format.md.
 *
 * Separation: every verified (query, candidate) pair is labelled true or false by the ground truth; the script
 * prints the inlier-count AUC, percentiles on both sides and what a minimum-inlier gate keeps of each, which is
 * how the loop-closure gate's `minInliers` is chosen.
 *
 * Global descriptors: the generic model (`src/model/generic_model.ts`) or, as a stand-in, a spatial pyramid
 * (1x1 + 2x2) of mean-pooled dense SIFT (`--global sift`).
 *
 * Usage: deno run -A scripts/verify_eval_loops.ts [dataset] [--top-k 5] [--window 20] [--global auto|sift]
 *   [--model affine|homography] [--threshold 20] [--max-distance 0.8] [--max-keypoints 1000] [--sweep]
 *   [--legacy] (the earlier dense-grid SIFT front end, for comparison)
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
import { Verifier, type VerifyOptions } from "../src/verify/verifier.ts";

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
    "max-keypoints": { type: "string", default: "1000" },
    sweep: { type: "boolean", default: false },
    legacy: { type: "boolean", default: false },
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
    const mod = await import("../src/model/generic_model.ts");
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
const maxKeypoints = Number(values["max-keypoints"]);
// --legacy: the earlier front end (descriptor grid every 8 px, 3 scales, attention threshold 1e-4).
const legacy = values.legacy
  ? { sift: { dense: true }, scales: [1, 0.7071, 0.5], attentionThreshold: 1e-4 }
  : {};
const builder = new MapFeatureBuilder(
  useModelLocal ? { descriptorModel: model!, maxKeypoints } : { maxKeypoints, ...legacy },
);
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

// Candidates per query: earlier frames outside the recent window, ranked by global similarity.
const candidates: { i: number; s: number }[][] = ds.frames.map((_, q) => {
  const cands: { i: number; s: number }[] = [];
  for (let i = 0; i + window <= q; i++) {
    let s = 0;
    for (let k = 0; k < globals[q].length; k++) s += globals[q][k] * globals[i][k];
    cands.push({ i, s });
  }
  return cands.sort((a, b) => b.s - a.s);
});
const isLoop = (q: number, m: number) => ds.loops[q].includes(m);
const plain: LoopEventScore[] = [];
for (let q = 0; q < ds.frames.length; q++) {
  const c = candidates[q];
  if (c.length) plain.push({ query: q, match: c[0].i, confidence: c[0].s });
}
const fmt = (m: ReturnType<typeof loopMetrics>) =>
  `recall@100%P ${m.recallAt100Precision.toFixed(3)}  precision ${m.precision.toFixed(3)}  recall ${
    m.recall.toFixed(3)
  }  (${m.correct}/${m.events} events correct, ${m.loopFrames} loop frames)`;
console.log(
  `dataset ${dir}: ${ds.frames.length} frames, global=${model ? model.info.name : "pooled-dsift"}, local=${
    useModelLocal ? "model" : "ts-dsift"
  }, top-k ${topK}, window ${window}; local features ${(tExtract / ds.frames.length).toFixed(1)} ms/frame`,
);
console.log(`without verification: ${fmt(loopMetrics(plain, ds.loops))}`);

/** Area under the ROC curve (Mann-Whitney, ties half). */
function auc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return pos.length && neg.length ? s / (pos.length * neg.length) : NaN;
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

const configs: { name: string; options: VerifyOptions }[] = [
  {
    name: `${values.model} ${values.threshold}px d<${values["max-distance"]}`,
    options: {
      model: values.model as "affine" | "homography",
      threshold: Number(values.threshold),
      maxDistance: Number(values["max-distance"]),
    },
  },
];
if (values.sweep) {
  for (const threshold of [10, 20]) {
    for (const model of ["affine", "homography"] as const) {
      for (const maxDistance of [0.7, 0.8]) {
        const name = `${model} ${threshold}px d<${maxDistance}`;
        if (name !== configs[0].name) configs.push({ name, options: { model, threshold, maxDistance } });
      }
    }
  }
}
for (const { name, options } of configs) {
  const verifier = new Verifier(memoryStore(features), options);
  const verified: LoopEventScore[] = [];
  const pos: number[] = [], neg: number[] = [], posScore: number[] = [], negScore: number[] = [];
  let tVerify = 0, nVerify = 0;
  for (let q = 0; q < ds.frames.length; q++) {
    const head = candidates[q].slice(0, topK);
    if (head.length === 0) continue;
    const t = performance.now();
    const results = await verifier.verifyCandidates(features.get(q)!, head.map((c) => c.i));
    tVerify += performance.now() - t;
    nVerify += head.length;
    let best = 0;
    results.forEach((r, k) => {
      (isLoop(q, head[k].i) ? pos : neg).push(r.result.inliers);
      (isLoop(q, head[k].i) ? posScore : negScore).push(r.result.score);
      if (r.result.inliers > results[best].result.inliers) best = k;
    });
    // Event confidence: inliers, the global similarity breaking ties.
    verified.push({
      query: q,
      match: head[best].i,
      confidence: results[best].result.inliers + 0.5 * head[best].s,
    });
  }
  const negMax = Math.max(0, ...neg);
  const above = pos.filter((x) => x > negMax).length;
  console.log(`\n[${name}] verification ${(tVerify / nVerify).toFixed(2)} ms/pair`);
  console.log(`  loop events, most inliers among top-${topK}: ${fmt(loopMetrics(verified, ds.loops))}`);
  console.log(
    `  candidate pairs: ${pos.length} true, ${neg.length} false; inlier AUC ${
      auc(pos, neg).toFixed(3)
    }, score AUC ${auc(posScore, negScore).toFixed(3)}; ` +
      `true p10/p50 ${pct(pos, 10)}/${pct(pos, 50)}, false p50/p90/p99/max ${pct(neg, 50)}/${pct(neg, 90)}/${
        pct(neg, 99)
      }/${negMax}`,
  );
  for (const gate of [15, 30, 45, 60, 80, 100, 120, 150, 200]) {
    const tp = pos.filter((x) => x >= gate).length, fp = neg.filter((x) => x >= gate).length;
    console.log(
      `  gate inliers >= ${String(gate).padStart(3)}: keeps ${tp}/${pos.length} true pairs (${
        (tp / pos.length).toFixed(2)
      }), ${fp}/${neg.length} false (${(fp / neg.length).toFixed(2)})`,
    );
  }
  console.log(`  true pairs above every false pair: ${above}/${pos.length}`);
  const wrong = verified.filter((e) => !isLoop(e.query, e.match)).sort((x, y) => y.confidence - x.confidence)
    .slice(0, 5);
  console.log(
    "  top false events:",
    wrong.map((e) => `${e.query + 1}->${e.match + 1} (${e.confidence.toFixed(1)})`).join(", "),
  );
}
await model?.close();
