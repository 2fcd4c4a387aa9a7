/**
 * Replay the loop detector on the suite's six loop rows from cached descriptors: every frame a keyframe, dense
 * comparison with every eligible earlier frame, the recent window's similarities as the stage passes them, the
 * frame's descriptor support; scored like `eval loops` without verification (events at the unverified operating
 * point, and every hypothesis ranked by confidence). The baseline reproduces the suite's unverified column.
 *
 *   deno run -A scripts/loop_replay.ts <cache dir> [--variants FILE.json] [--events] [--verify]
 *     [--suite-cache DIR (default .waymark-cache/suite)] [--data rtabmap_samples_loop folder]
 *
 * The descriptors are computed once per row with the generic model and stored in the cache dir (JSON);
 * `--variants` holds `{ name: LoopDetectorOptions }` (default: the defaults only). `--verify` instead runs
 * `eval loops` itself on each row with the variant's detector options and the pipeline's verifier (slower, the
 * suite's numbers with and without verification).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readLoopDataset } from "../src/dataset/loop_dataset.ts";
import { decodeImage } from "../src/image/decode.ts";
import { LoopDetector, type LoopDetectorOptions } from "../src/localize/loop_detector.ts";
import { acceptUnverified } from "../src/localize/loop_gate.ts";
import { type ScoredLoopEvent, scoreLoops } from "../src/localize/loop_metrics.ts";
import { loadGenericModel } from "../src/model/generic_model.ts";
import { suiteRowDir } from "./_suite_rows.ts";

const ROW_NAMES = [
  "loops-rtabmap",
  "loops-rtabmap-160x120",
  "loops-sim",
  "aliased-real",
  "aliased-real-night",
  "aliased-sim",
];

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    variants: { type: "string" },
    events: { type: "boolean" },
    verify: { type: "boolean" },
    "suite-cache": { type: "string", default: ".waymark-cache/suite" },
    data: { type: "string" },
  },
});
const data = values.data ??
  join(Deno.env.get("WAYMARK_SHARED") ?? "../shared", "data", "rtabmap_samples_loop");
// The rows' datasets as `waymark eval suite --rows <the six>` cached them (run it once first).
const ROWS: [string, string][] = [];
for (const name of ROW_NAMES) ROWS.push([name, await suiteRowDir(name, values["suite-cache"]!, data)]);
const cache = positionals[0];
const variants: Record<string, LoopDetectorOptions> = values.variants
  ? JSON.parse(await Deno.readTextFile(values.variants))
  : { defaults: {} };

interface Row {
  name: string;
  loops: number[][];
  vecs: Float32Array[];
  support: (number | undefined)[];
}
const rows: Row[] = [];
let model: Awaited<ReturnType<typeof loadGenericModel>> | undefined;
for (const [name, dir] of ROWS) {
  const ds = await readLoopDataset(dir);
  const file = join(cache, `${name}.json`);
  let stored: { vecs: number[][]; support: (number | null)[] };
  try {
    stored = JSON.parse(await Deno.readTextFile(file));
  } catch {
    model ??= await loadGenericModel();
    const vecs: number[][] = [], support: (number | null)[] = [];
    for (const f of ds.frames) {
      const img = await decodeImage(await Deno.readFile(f.path), {
        channels: model.info.inputChannels,
        source: f.path,
      });
      const out = await model.describe(img);
      vecs.push(Array.from(out.global));
      support.push(out.support ?? null);
    }
    stored = { vecs, support };
    await Deno.writeTextFile(file, JSON.stringify(stored));
  }
  rows.push({
    name,
    loops: ds.loops,
    vecs: stored.vecs.map((v) => Float32Array.from(v)),
    support: stored.support.map((s) => s ?? undefined),
  });
}
await model?.close();

const dot = (a: Float32Array, b: Float32Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const f3 = (x: number) => Number.isNaN(x) ? "n.a." : x.toFixed(3);
if (values.verify) {
  const { evaluateLoops } = await import("../src/eval/loops.ts");
  const { loadPipelineVerifier } = await import("../src/pipeline/verifier_loader.ts");
  for (const [vname, opts] of Object.entries(variants)) {
    const cells: string[] = [];
    for (const [name, dir] of ROWS) {
      const r = await evaluateLoops(dir, { detector: opts, verifier: await loadPipelineVerifier({}) });
      const s = r.scores, v = r.verifiedScores!;
      cells.push(
        `${name} ${f3(s.precision)}/${f3(s.recall)}/${f3(s.recallAt100Precision)} v${f3(v.precision)}/${
          f3(v.recallAt100Precision)
        }`,
      );
    }
    console.log(`${vname}: ${cells.join(" | ")}`);
  }
  Deno.exit(0);
}
for (const [vname, opts] of Object.entries(variants)) {
  const cells: string[] = [];
  for (const row of rows) {
    const det = new LoopDetector(opts);
    const ex = det.excludeRecent, n = row.vecs.length;
    const events: ScoredLoopEvent[] = [];
    for (let q = 0; q < n; q++) {
      const bound = Math.max(0, q - ex);
      const ids = Array.from({ length: bound }, (_, j) => j);
      const sims = ids.map((j) => dot(row.vecs[q], row.vecs[j]));
      const recent: number[] = [];
      for (let j = bound; j < q; j++) recent.push(dot(row.vecs[q], row.vecs[j]));
      const h = det.observe(q, { ids, similarities: sims, recent, support: row.support[q] });
      if (h) {
        events.push({ query: q, match: h.match, confidence: h.confidence });
        if (values.events) {
          const t = row.loops[q].includes(h.match) ? "T" : "F";
          console.log(
            `${vname} ${row.name} q${q} -> ${h.match} ${t} conf ${h.confidence.toFixed(3)} z ${
              h.z.toFixed(2)
            } S ${h.evidence.toFixed(2)} len ${h.length} span ${h.span}`,
          );
        }
      }
    }
    const s = scoreLoops(events.filter((e) => acceptUnverified(e.confidence, {})), row.loops);
    const all = scoreLoops(events, row.loops);
    cells.push(
      `${row.name} ${f3(s.precision)}/${f3(s.recall)}/${f3(s.recallAt100Precision)} h${
        f3(all.recallAt100Precision)
      } (${s.events}ev)`,
    );
  }
  console.log(`${vname}: ${cells.join(" | ")}`);
}
