/**
 * Learned NetVLAD head from augmented real images: build one training set from the shared rtabmap images
 * (map = its database images, native; queries = its queries under degradations, `src/eval/degrade.ts`)
 * and train the head of the default dense-SIFT model on it with `waymark train` (positives from the true
 * matches, negatives the map frames far from every match).
 *
 *   deno run -A scripts/learned_head.ts --out DIR [--data ../shared/data/rtabmap_samples_loop]
 *       [--variants night,darker:0.3,jpeg:30,crop:0.1-0.2:random,night+down:160x120] [--seed 7]
 *       [-- waymark train options]
 *
 * Without train options it trains with `--epochs 8 --seed 1 --val-fraction 0 --keep last --patience 0`, the
 * settings of bench/results/2026-12-02-learned-head.md: no validation block, because the loop's last queries
 * match its first map frames, so a held-out block at the end of the query traversal excludes (through its
 * negative frame window) every training query; the suite rows the head never saw are the test.
 *
 * Writes DIR/train/ (the training set: the native map once and every degraded query, ordered place by place,
 * with one derived dataset per degradation under DIR/train/variants/<i>/) and DIR/model/ (the `waymark train`
 * output, usable as `--model DIR/model`). `--out` must be a new or empty folder. The degradations use their
 * own seed, so the training pixels are not the suite rows' pixels (the places are the same: the rtabmap suite
 * rows are trained-on).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join, relative } from "node:path";
import { deriveRetrievalDataset } from "../src/eval/derive.ts";
import type { RetrievalDataset } from "../src/dataset/types.ts";
import { parseDegradations } from "../src/eval/degrade.ts";
import { invalid } from "../src/errors.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    out: { type: "string" },
    data: { type: "string", default: "../shared/data/rtabmap_samples_loop" },
    variants: { type: "string", default: "night,darker:0.3,jpeg:30,crop:0.1-0.2:random,night+down:160x120" },
    seed: { type: "string", default: "7" },
  },
});
const act = "build the learned-head training set";
if (!values.out) throw invalid(act, "--out", "a new or empty folder", values.out);
const root = values.out;
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) throw invalid(act, "--seed", "an integer >= 0", values.seed);
const specs = values.variants.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
if (specs.length === 0) throw invalid(act, "--variants", "at least one degradation spec", values.variants);
specs.forEach((s) => parseDegradations(s)); // a bad spec is refused before anything is written
await Deno.mkdir(root, { recursive: true });
for await (const _ of Deno.readDir(root)) throw invalid(act, "--out", "a new or empty folder", root);

// One derived dataset per degradation of the queries; the map is left native (copied byte for byte).
const train = join(root, "train");
const derived: RetrievalDataset[] = [];
for (let v = 0; v < specs.length; v++) {
  console.error(`deriving queries ${specs[v]}`);
  derived.push(
    await deriveRetrievalDataset(values.data, join(train, "variants", String(v)), {
      queries: specs[v],
      seed,
    }),
  );
}

/** Path of an image relative to the training-set folder, as its CSVs name it. */
const rel = (p: string) => relative(train, p);
const db = derived[0].database;
const queries: string[] = [], pairs: string[] = [];
const nPlaces = derived[0].queries.length;
for (let q = 0; q < nPlaces; q++) {
  for (const ds of derived) {
    const name = rel(ds.queries[q].path);
    queries.push(name);
    for (const d of ds.truth[q]) pairs.push(`${name},${rel(db[d].path)}`);
  }
}
await Deno.writeTextFile(join(train, "matches.csv"), ["query,database", ...pairs].join("\n") + "\n");
await Deno.writeTextFile(join(train, "queries.csv"), ["image", ...queries].join("\n") + "\n");
await Deno.writeTextFile(
  join(train, "database.csv"),
  ["image", ...db.map((i) => rel(i.path))].join("\n") + "\n",
);
console.error(
  `training set ${train}: ${db.length} map images, ${queries.length} queries (${specs.join(", ")})`,
);

const cli = join(import.meta.dirname!, "..", "src", "cli", "main.ts");
const trainOptions = positionals.length > 0
  ? positionals
  : ["--epochs", "8", "--seed", "1", "--val-fraction", "0", "--keep", "last", "--patience", "0"];
const args = ["train", train, "--out", join(root, "model"), ...trainOptions];
console.error(`$ deno task waymark ${args.join(" ")}`);
const { code } = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", cli, ...args],
  stdout: "inherit",
  stderr: "inherit",
}).output();
Deno.exit(code);
