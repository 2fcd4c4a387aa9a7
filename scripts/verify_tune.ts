/**
 * Tuning harness for local-feature verification: pair-classification AUC (inlier count and result score) and
 * timings on a loop dataset's pairs, chosen like `bench/verify_bench.ts` (every true loop pair + as many random
 * non-loop pairs at least 10 frames apart, images resized to 640x480), for one or more configurations.
 *
 * Usage: deno run -A scripts/verify_tune.ts [dataset] [--config JSON]... [--pairs N]
 *   JSON: {"name": "...", "extract": {LocalFeatureOptions without pca/extractor}, "verify": {VerifyOptions}}
 */
import { parseArgs } from "node:util";
import sharp from "sharp";
import { readLoopDataset } from "../src/dataset/loop_dataset.ts";
import type { PixelImage } from "../src/types.ts";
import { type FeatureSetup, MapFeatureBuilder } from "../src/verify/eval_hooks.ts";
import { type VerifyOptions, verifyPair } from "../src/verify/verifier.ts";
import { auc, samplePairs } from "../bench/verify_bench.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    config: { type: "string", multiple: true },
    pairs: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`usage: deno run -A scripts/verify_tune.ts [dataset] [--pairs N] [--config JSON]...
  dataset      a loop-layout dataset (default ../shared/data/rtabmap_samples_loop)
  --pairs N    true and false pairs sampled (default all)
  --config J   a verification setup as JSON, e.g. '{"name":"homog","verify":{"model":"homography"}}';
               ({"name", "extract": LocalFeatureOptions, "verify": VerifyOptions}); repeat to compare
               several (default: the shipped setup)`);
  Deno.exit(0);
}
const dir = positionals[0] ?? new URL("../../shared/data/rtabmap_samples_loop", import.meta.url).pathname;
const W = 640, H = 480;

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ds = await readLoopDataset(dir);
const { truePairs, falsePairs } = samplePairs(ds, Number(values.pairs ?? Infinity));
const used = [...new Set([...truePairs, ...falsePairs].flat())];
const images = new Map<number, PixelImage>();
for (const i of used) {
  const { data, info } = await sharp(ds.frames[i].path).removeAlpha().resize(W, H, { fit: "fill" }).raw()
    .toBuffer({ resolveWithObject: true });
  images.set(i, { width: info.width, height: info.height, channels: 3, data: new Uint8Array(data) });
}
console.log(`${dir.split("/").pop()}: ${truePairs.length} true + ${falsePairs.length} false pairs`);

const configs: { name?: string; extract?: FeatureSetup; verify?: VerifyOptions }[] = (values.config ?? ["{}"])
  .map((c) => JSON.parse(c));
for (const cfg of configs) {
  const builder = new MapFeatureBuilder(cfg.extract ?? {});
  const ext: number[] = [];
  for (const i of used) {
    const t = performance.now();
    await builder.add(i, images.get(i)!);
    ext.push(performance.now() - t);
  }
  const { features } = builder.finish();
  const res = { pos: [] as number[], neg: [] as number[], spos: [] as number[], sneg: [] as number[] };
  const ms: number[] = [], mpos: number[] = [], mneg: number[] = [];
  for (const [label, pairs] of [["pos", truePairs], ["neg", falsePairs]] as const) {
    for (const [q, m] of pairs) {
      const t = performance.now();
      const r = verifyPair(features.get(q)!, features.get(m)!, cfg.verify ?? {});
      ms.push(performance.now() - t);
      res[label].push(r.inliers);
      res[label === "pos" ? "spos" : "sneg"].push(r.score);
      (label === "pos" ? mpos : mneg).push(r.matches);
    }
  }
  if (Deno.env.get("TUNE_DUMP")) {
    const f = falsePairs.map((p, k) => [...p, res.neg[k], mneg[k]]).sort((a, b) => b[2] - a[2]).slice(0, 12);
    const t = truePairs.map((p, k) => [...p, res.pos[k], mpos[k]]).sort((a, b) => a[2] - b[2]).slice(0, 12);
    console.log("top false (q,m,inl,matches):", JSON.stringify(f));
    console.log("bottom true (q,m,inl,matches):", JSON.stringify(t));
  }
  const kp = [...features.values()].reduce((s, f) => s + f.count, 0) / features.size;
  console.log(
    `${(cfg.name ?? JSON.stringify(cfg)).padEnd(40)} AUC inl ${auc(res.pos, res.neg).toFixed(3)} score ${
      auc(res.spos, res.sneg).toFixed(3)
    } | inl p50 T ${p50(res.pos)} F ${p50(res.neg)} | matches T ${p50(mpos)} F ${p50(mneg)} | kp ${
      kp.toFixed(0)
    } | extract ${p50(ext).toFixed(1)} ms, verify(js) ${p50(ms).toFixed(1)} ms`,
  );
}
