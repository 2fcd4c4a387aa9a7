/**
 * Diagnose where a loop dataset's true revisits are lost: for every frame with a true loop, the rank and the
 * standardised similarity (z, as the loop detector computes it) of the best true place among all eligible
 * places, the background statistics, then the detector's answer frame by frame.
 *
 *   deno run -A scripts/loop_diagnose.ts <dataset> [--fit-on N] [--model DIR] [--json OUT] [--events]
 *
 * `--fit-on N`: fit the default model on the first N frames of the sequence (the vocabulary of the part seen
 * before the revisits) instead of the generic vocabulary.
 *
 * `--events`: then one line per hypothesis of the detector, with the cues measured against the one false event
 * at a turn (bench/results/2026-12-02-loop-detector.md): the frame's z at the event's place, its dip below the
 * track's previous hypotheses (median of up to 4), the frame's similarity to its own previous / next frame and
 * the map place's to its neighbours (all standardised against the frame's background, like z).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { readLoopDataset } from "../src/dataset/loop_dataset.ts";
import { decodeImage } from "../src/image/decode.ts";
import { LoopDetector, type LoopDetectorOptions } from "../src/localize/loop_detector.ts";
import { fitDefaultModel } from "../src/model/default_model.ts";
import { loadGenericModel } from "../src/model/generic_model.ts";
import { loadModel, loadModelBundle } from "../src/model/onnx_model.ts";
import type { DescriptorModel } from "../src/types.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    "fit-on": { type: "string" },
    model: { type: "string" },
    json: { type: "string" },
    detector: { type: "string" },
    events: { type: "boolean" },
  },
});
const ds = await readLoopDataset(positionals[0]);
const n = ds.frames.length;
let model: DescriptorModel;
if (values.model) model = await loadModel(values.model);
else if (values["fit-on"]) {
  const N = Number(values["fit-on"]);
  const imgs = [];
  for (const f of ds.frames.slice(0, N)) {
    imgs.push(await decodeImage(await Deno.readFile(f.path), { channels: 1, source: f.path }));
  }
  model = await loadModelBundle(await fitDefaultModel(imgs, { clusters: 64 }));
} else model = await loadGenericModel();
const vecs: Float32Array[] = [];
for (const f of ds.frames) {
  const img = await decodeImage(await Deno.readFile(f.path), {
    channels: model.info.inputChannels,
    source: f.path,
  });
  vecs.push((await model.describe(img)).global);
}
await model.close();
const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const S: number[][] = vecs.map((a) => vecs.map((b) => dot(a, b)));
const detOpts: LoopDetectorOptions = values.detector ? JSON.parse(values.detector) : {};
const det = new LoopDetector(detOpts);
const ex = det.excludeRecent;
const f2 = (x: number) => x.toFixed(2);
const rows: Record<string, unknown>[] = [];
const hyps: NonNullable<ReturnType<LoopDetector["observe"]>>[] = [];
console.log(
  "q  | truth | bg mean/std | recent | top(j z) | best true (j rank z zRaw) | hyp (match z S len span conf)",
);
for (let q = 0; q < n; q++) {
  const bound = Math.max(0, q - ex);
  const ids = Array.from({ length: bound }, (_, j) => j);
  const sims = ids.map((j) => S[q][j]);
  const recent = [];
  for (let j = bound; j < q; j++) recent.push(S[q][j]);
  const hyp = det.observe(q, { ids, similarities: sims, recent });
  if (hyp) hyps.push(hyp);
  if (bound < 10) continue;
  const mean = sims.reduce((a, b) => a + b, 0) / bound;
  const std = Math.sqrt(sims.reduce((a, b) => a + (b - mean) ** 2, 0) / bound);
  const rec = recent.length >= 2 ? (recent[0] + recent[1]) / 2 : -Infinity;
  const ref = Math.max(mean, rec);
  const order = ids.slice().sort((a, b) => S[q][b] - S[q][a]);
  const truth = ds.loops[q];
  let bt = -1;
  for (const j of truth) if (bt < 0 || S[q][j] > S[q][bt]) bt = j;
  const row = {
    q,
    name: ds.frames[q].image,
    truth: truth.length ? `${truth[0]}..${truth[truth.length - 1]}` : "",
    mean,
    std,
    recent: rec,
    top: order[0],
    topZ: (S[q][order[0]] - ref) / std,
    bestTrue: bt,
    rank: bt >= 0 ? order.indexOf(bt) + 1 : null,
    z: bt >= 0 ? (S[q][bt] - ref) / std : null,
    zRaw: bt >= 0 ? (S[q][bt] - mean) / std : null,
    hyp,
  };
  rows.push(row);
  console.log(
    `${q} ${ds.frames[q].image.slice(7, 15)} | ${row.truth} | ${f2(mean)}/${f2(std)} | ${f2(rec)} | ${
      order[0]
    } ${f2(row.topZ)} | ${bt >= 0 ? `${bt} ${row.rank} ${f2(row.z!)} ${f2(row.zRaw!)}` : "-"} | ${
      hyp
        ? `${hyp.match}${truth.includes(hyp.match) ? "T" : "F"} ${f2(hyp.z)} ${
          f2(hyp.evidence)
        } ${hyp.length} ${hyp.span} ${f2(hyp.confidence)}`
        : "-"
    }`,
  );
}
if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(rows));
if (values.events) {
  console.log("\nevent (T/F) | conf | z | dip | self prev/next z | map place prev/next z");
  const byQuery = new Map(hyps.map((h) => [h.query, h]));
  for (const h of hyps) {
    const q = h.query, j = h.match, bound = Math.max(0, q - ex);
    const sims = S[q].slice(0, bound);
    const mean = sims.reduce((a, b) => a + b, 0) / bound;
    const std = Math.sqrt(sims.reduce((a, b) => a + (b - mean) ** 2, 0) / bound);
    const zOf = (v: number | undefined) => v === undefined ? "-" : f2((v - mean) / std);
    // The track's previous hypotheses: those whose match lies on the line of this one (within maxAdvance).
    const prevZ: number[] = [];
    for (let p = q - 1; p >= q - 4; p--) {
      const e = byQuery.get(p);
      if (e && Math.abs(e.match - (j - (q - p))) <= 3) prevZ.push(e.z);
    }
    const dip = prevZ.length ? prevZ.sort((a, b) => a - b)[prevZ.length >> 1] - h.z : NaN;
    console.log(
      `${q} -> ${j} ${ds.loops[q].includes(j) ? "T" : "F"} | ${f2(h.confidence)} | ${f2(h.z)} | ${
        f2(dip)
      } | ${zOf(S[q][q - 1])}/${zOf(S[q][q + 1])} | ${zOf(S[j][j - 1])}/${zOf(S[j][j + 1])}`,
    );
  }
}
