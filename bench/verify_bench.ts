/**
 * Verification benchmark: Waymark's DELF-style verification against OpenCV's classic pipeline
 * (`@techstark/opencv-js` WASM: ORB 1000 features, BFMatcher Hamming knn k=2 with Lowe's ratio 0.75,
 * findHomography RANSAC 5 px) on the same image pairs of the shared indoor loop sequence, resized to 640x480:
 * true loop pairs (from loops.csv) and non-matching pairs (frames at least 10 apart with no loop between them).
 *
 * Reported, for both pipelines: per-pair time with the keyframe's features already stored (matching +
 * geometry: the bar is p50 <= 25 ms for Waymark), per-image feature extraction time, and the pair
 * classification AUC with the inlier count as score (Mann-Whitney, ties count half); for Waymark also the AUC
 * of its result `score` (inliers net of a third of the outliers). About 30 s on the shared 2-core box.
 *
 * Run: `deno run -A bench/verify_bench.ts [--pairs N] [--json]`. Without ../shared only a synthetic 640x480
 * pair timing is reported (with a note saying so).
 *
 * @module
 */
import { parseArgs } from "node:util";
import cvModule from "@techstark/opencv-js";
import sharp from "sharp";
import type { BenchResult } from "./_types.ts";
import { readLoopDataset } from "../src/dataset/loop_dataset.ts";
import type { LoopDataset } from "../src/dataset/types.ts";
import type { LocalFeatures, PixelImage } from "../src/types.ts";
import { MapFeatureBuilder, queryFeatures } from "../src/verify/eval_hooks.ts";
import { verifyPairWith } from "../src/verify/verifier.ts";
import { onnxNearestNeighbours } from "../src/verify/onnx_matcher.ts";
import { mulberry32 } from "../src/_rng.ts";

const W = 640, H = 480;

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Area under the ROC curve of `pos` vs `neg` scores (Mann-Whitney U, ties half). */
export function auc(pos: number[], neg: number[]): number {
  let s = 0;
  for (const p of pos) for (const n of neg) s += p > n ? 1 : p === n ? 0.5 : 0;
  return s / (pos.length * neg.length);
}

/**
 * The initialised OpenCV module, boxed: the Emscripten module object is a thenable, so returning it from an
 * async function (or awaiting it) would recurse forever.
 */
// deno-lint-ignore no-explicit-any
async function openCv(): Promise<{ cv: any }> {
  // deno-lint-ignore no-explicit-any
  const cv: any = cvModule;
  if (!cv.Mat) await new Promise<void>((r) => (cv.onRuntimeInitialized = () => r()));
  return { cv };
}

async function load(path: string): Promise<PixelImage> {
  const { data, info } = await sharp(path).removeAlpha().resize(W, H, { fit: "fill" }).raw().toBuffer({
    resolveWithObject: true,
  });
  return { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) };
}

/** Pair verification time on synthetic textured 640x480 pairs (when the shared sequence is absent). */
async function syntheticPairTime(): Promise<BenchResult> {
  const rand = mulberry32(3);
  const scene = (seed: number, dx: number): PixelImage => {
    const r = mulberry32(seed);
    const data = new Uint8Array(W * H * 3).fill(128);
    for (let s = 0; s < 600; s++) {
      const x0 = Math.floor(r() * W), y0 = Math.floor(r() * H), w = 3 + Math.floor(r() * 40);
      const h = 3 + Math.floor(r() * 40), v = Math.floor(r() * 256);
      for (let y = y0; y < Math.min(H, y0 + h); y++) {
        for (let x = Math.max(0, x0 + dx); x < Math.min(W, x0 + dx + w); x++) {
          data.fill(v, 3 * (y * W + x), 3 * (y * W + x) + 3);
        }
      }
    }
    return { width: W, height: H, channels: 3, data };
  };
  const builder = new MapFeatureBuilder();
  for (let i = 0; i < 6; i++) {
    await builder.add(i, scene(100 + (i >> 1), (i & 1) * Math.floor(10 + rand() * 20)));
  }
  const { features } = builder.finish();
  const nn = await onnxNearestNeighbours();
  const ms: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    for (let i = 0; i < 6; i += 2) {
      const t = performance.now();
      await verifyPairWith(nn, features.get(i + 1)!, features.get(i)!);
      ms.push(performance.now() - t);
    }
  }
  return {
    name: "verify/waymark/pair_p50",
    value: p50(ms),
    unit: "ms",
    note: "SYNTHETIC 640x480 pairs (../shared absent: no real-pair timing, AUC or OpenCV comparison)",
  };
}

/**
 * The bench's image pairs from a loop dataset: up to `count` true loop pairs (all by default, in a seeded
 * shuffle) and as many non-matching pairs (at least 10 frames apart, not a loop), seeded, so reruns agree.
 */
export function samplePairs(
  ds: LoopDataset,
  count = Infinity,
): { truePairs: [number, number][]; falsePairs: [number, number][] } {
  const rand = mulberry32(7);
  const truePairs: [number, number][] = [], falsePairs: [number, number][] = [];
  ds.loops.forEach((ms, q) => ms.forEach((m) => truePairs.push([q, m])));
  for (let i = truePairs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [truePairs[i], truePairs[j]] = [truePairs[j], truePairs[i]];
  }
  truePairs.length = Math.min(count, truePairs.length);
  while (falsePairs.length < truePairs.length) {
    const q = Math.floor(rand() * ds.frames.length), m = Math.floor(rand() * q);
    if (q - m < 10 || ds.loops[q].includes(m)) continue;
    falsePairs.push([q, m]);
  }
  return { truePairs, falsePairs };
}

/** Options of {@link bench}. */
export interface VerifyBenchOptions {
  /** True pairs (and as many false pairs). Default: every true pair of loops.csv (228 on the shared sequence). */
  pairs?: number;
  /** Dataset. Default ../shared/data/rtabmap_samples_loop. */
  dataset?: string;
}

/** Run the benchmark. */
export async function bench(options: VerifyBenchOptions = {}): Promise<BenchResult[]> {
  const dir = options.dataset ?? new URL("../../shared/data/rtabmap_samples_loop", import.meta.url).pathname;
  try {
    Deno.statSync(dir);
  } catch {
    console.warn(
      `[verify bench] ${dir} is absent (../shared is not in a fresh clone): the real-pair timings, AUCs and the ` +
        `OpenCV comparison are skipped; timing synthetic 640x480 pairs instead`,
    );
    return [await syntheticPairTime()];
  }
  const nPairs = options.pairs ?? Infinity;
  if (!(nPairs >= 1)) {
    throw new Error(`verify bench: 'pairs' must be a positive number, got ${options.pairs}`);
  }
  const ds = await readLoopDataset(dir);
  const { truePairs, falsePairs } = samplePairs(ds, nPairs);
  const used = [...new Set([...truePairs, ...falsePairs].flat())];
  const images = new Map<number, PixelImage>();
  for (const i of used) images.set(i, await load(ds.frames[i].path));

  // ---- Waymark: map features (PCA fitted on the map), then per-pair verification.
  const builder = new MapFeatureBuilder();
  for (const i of used) await builder.add(i, images.get(i)!);
  const { pca, features } = builder.finish();
  const extractMs: number[] = [];
  const queries = new Map<number, LocalFeatures>();
  for (const i of used.slice(0, 20)) {
    const t = performance.now();
    queries.set(i, await queryFeatures(images.get(i)!, pca));
    extractMs.push(performance.now() - t);
  }
  const nn = await onnxNearestNeighbours();
  const wm = { pos: [] as number[], neg: [] as number[], ms: [] as number[] };
  const wmScore = { pos: [] as number[], neg: [] as number[] };
  for (const [label, pairs] of [["pos", truePairs], ["neg", falsePairs]] as const) {
    for (const [q, m] of pairs) {
      const qf = features.get(q)!, cf = features.get(m)!;
      await verifyPairWith(nn, qf, cf); // warm
      const t = performance.now();
      const r = await verifyPairWith(nn, qf, cf);
      wm.ms.push(performance.now() - t);
      wm[label].push(r.inliers);
      wmScore[label].push(r.score);
    }
  }
  const meanKp = [...features.values()].reduce((s, f) => s + f.count, 0) / features.size;

  // ---- OpenCV: ORB + BFMatcher knn ratio test + findHomography RANSAC.
  const { cv } = await openCv();
  const orb = new cv.ORB(1000);
  // deno-lint-ignore no-explicit-any
  const cvFeat = new Map<number, { kp: any; des: any }>();
  const cvExtractMs: number[] = [];
  for (const i of used) {
    const img = images.get(i)!;
    const t = performance.now();
    const rgb = cv.matFromArray(H, W, cv.CV_8UC3, img.data);
    const gray = new cv.Mat();
    cv.cvtColor(rgb, gray, cv.COLOR_RGB2GRAY);
    const kp = new cv.KeyPointVector(), des = new cv.Mat(), noMask = new cv.Mat();
    orb.detectAndCompute(gray, noMask, kp, des);
    cvExtractMs.push(performance.now() - t);
    rgb.delete(), gray.delete(), noMask.delete();
    cvFeat.set(i, { kp, des });
  }
  const bf = new cv.BFMatcher(cv.NORM_HAMMING, false);
  const cvRes = { pos: [] as number[], neg: [] as number[], ms: [] as number[] };
  const cvPair = (q: number, m: number): number => {
    const a = cvFeat.get(q)!, b = cvFeat.get(m)!;
    if (a.des.rows < 4 || b.des.rows < 4) return 0;
    const knn = new cv.DMatchVectorVector();
    bf.knnMatch(a.des, b.des, knn, 2);
    const src: number[] = [], dst: number[] = [];
    for (let i = 0; i < knn.size(); i++) {
      const pair = knn.get(i);
      if (pair.size() >= 2 && pair.get(0).distance < 0.75 * pair.get(1).distance) {
        const d = pair.get(0);
        const p = a.kp.get(d.queryIdx).pt, r = b.kp.get(d.trainIdx).pt;
        src.push(p.x, p.y), dst.push(r.x, r.y);
      }
    }
    knn.delete();
    if (src.length < 8) return 0;
    const s = cv.matFromArray(src.length / 2, 1, cv.CV_32FC2, src);
    const d = cv.matFromArray(dst.length / 2, 1, cv.CV_32FC2, dst);
    const mask = new cv.Mat();
    const h = cv.findHomography(s, d, cv.RANSAC, 5, mask);
    let inliers = 0;
    if (!h.empty()) { for (let i = 0; i < mask.rows; i++) inliers += mask.data[i] ? 1 : 0; }
    s.delete(), d.delete(), mask.delete(), h.delete();
    return inliers;
  };
  for (const [label, pairs] of [["pos", truePairs], ["neg", falsePairs]] as const) {
    for (const [q, m] of pairs) {
      cvPair(q, m);
      const t = performance.now();
      const inl = cvPair(q, m);
      cvRes.ms.push(performance.now() - t);
      cvRes[label].push(inl);
    }
  }
  const meanCvKp = [...cvFeat.values()].reduce((s, f) => s + f.des.rows, 0) / cvFeat.size;
  for (const f of cvFeat.values()) f.kp.delete(), f.des.delete();
  orb.delete(), bf.delete();

  const note =
    `${truePairs.length} true + ${falsePairs.length} false pairs from ${
      dir.split("/").pop()
    } at ${W}x${H}; ` +
    `${navigator.hardwareConcurrency} logical CPUs`;
  return [
    {
      name: "verify/waymark/pair_p50",
      value: p50(wm.ms),
      unit: "ms",
      note: `mutual NN (ONNX GEMM) + affine RANSAC, stored features, ~${
        meanKp.toFixed(0)
      } kp/image, 40-d; ${note}`,
    },
    {
      name: "verify/waymark/extract_p50",
      value: p50(extractMs),
      unit: "ms",
      note: "query features: keypoint-first SIFT (2 px steps), 4 scales, top-1000 + NMS + PCA",
    },
    {
      name: "verify/waymark/auc",
      value: auc(wm.pos, wm.neg),
      unit: "ratio",
      note: "pair classification, inliers as score",
    },
    {
      name: "verify/waymark/score_auc",
      value: auc(wmScore.pos, wmScore.neg),
      unit: "ratio",
      note: "pair classification, the result's score (inliers net of a third of the outliers) as score",
    },
    {
      name: "verify/opencv_orb/pair_p50",
      value: p50(cvRes.ms),
      unit: "ms",
      note: `BFMatcher knn ratio 0.75 + findHomography RANSAC 5 px, stored features, ~${
        meanCvKp.toFixed(0)
      } kp/image`,
    },
    {
      name: "verify/opencv_orb/extract_p50",
      value: p50(cvExtractMs),
      unit: "ms",
      note: "ORB(1000) detectAndCompute incl. grey conversion",
    },
    {
      name: "verify/opencv_orb/auc",
      value: auc(cvRes.pos, cvRes.neg),
      unit: "ratio",
      note: "pair classification, inliers as score",
    },
  ];
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { pairs: { type: "string" }, json: { type: "boolean" } },
  });
  const results = await bench({ pairs: values.pairs ? Number(values.pairs) : undefined });
  if (values.json) console.log(JSON.stringify(results, null, 2));
  else {for (const r of results) {
      console.log(
        `${r.name.padEnd(32)} ${r.value.toFixed(3).padStart(9)} ${r.unit.padEnd(6)} ${r.note ?? ""}`,
      );
    }}
  Deno.exit(0);
}
