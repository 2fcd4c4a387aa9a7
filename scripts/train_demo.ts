/**
 * End-to-end training demo through the CLI only: render a simulated route whose second traversal has a
 * changed condition, train the NetVLAD head on it with the ranking loss, and compare validation Recall@1
 * before and after with `waymark eval retrieval --model` on the held-out split that training wrote.
 *
 *   deno run -A scripts/train_demo.ts [--out DIR] [--frames 200] [--condition lighting] [--strength 3]
 *       [--aliasing 0.5] [--epochs 8] [--margin 0.2] [--seed 1] [--clusters 64] [--keep]
 *
 * The commands it runs (printed as it goes) are:
 *
 *   deno task waymark sim export DIR/route --frames 200 --traversals 2 --width 320 --height 240 \
 *       --condition lighting --strength 3 --aliasing 0.5 --seed 1 --force
 *   deno task waymark train DIR/route --out DIR/model --pos-radius 2.5 --neg-radius 8 --epochs 8 --margin 0.2
 *   deno task waymark eval retrieval DIR/model/validation --json                          # untrained, fitted on it
 *   deno task waymark eval retrieval DIR/model/validation --model DIR/model/initial --json # untrained, same init
 *   deno task waymark eval retrieval DIR/model/validation --model DIR/model --json         # trained
 *
 * Writes DIR/results.json. Without --out a temporary folder is used and removed unless --keep.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    out: { type: "string" },
    frames: { type: "string", default: "200" },
    condition: { type: "string", default: "lighting" },
    strength: { type: "string", default: "3" },
    aliasing: { type: "string", default: "0.5" },
    epochs: { type: "string", default: "8" },
    margin: { type: "string", default: "0.2" },
    lr: { type: "string" },
    clusters: { type: "string", default: "64" },
    seed: { type: "string", default: "1" },
    keep: { type: "boolean", default: false },
  },
});

const root = values.out ?? await Deno.makeTempDir({ prefix: "waymark_train_demo_" });
await Deno.mkdir(root, { recursive: true });
const route = join(root, "route");
const model = join(root, "model");
const cli = join(import.meta.dirname!, "..", "src", "cli", "main.ts");

/** Run `waymark <args>`, streaming stderr, returning stdout. */
async function waymark(args: string[]): Promise<string> {
  console.error(`\n$ deno task waymark ${args.join(" ")}`);
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const { code, stdout } = await p.output();
  const text = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(`waymark ${args.join(" ")} exited ${code}\n${text}`);
  return text;
}

function lastJson(text: string): Record<string, unknown> {
  const lines = text.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

try {
  const t0 = performance.now();
  console.log(
    await waymark([
      "sim",
      "export",
      route,
      "--frames",
      values.frames,
      "--traversals",
      "2",
      "--width",
      "320",
      "--height",
      "240",
      "--condition",
      values.condition,
      "--strength",
      values.strength,
      "--aliasing",
      values.aliasing,
      "--seed",
      values.seed,
      "--force",
    ]),
  );
  const trainArgs = [
    "train",
    route,
    "--out",
    model,
    "--pos-radius",
    "2.5",
    "--neg-radius",
    "8",
    "--epochs",
    values.epochs,
    "--margin",
    values.margin,
    "--clusters",
    values.clusters,
    "--seed",
    values.seed,
    ...(values.lr ? ["--lr", values.lr] : []),
  ];
  console.log(await waymark(trainArgs));
  const val = join(model, "validation");
  const evals: Record<string, Record<string, unknown>> = {};
  for (
    const [name, extra] of [
      ["default (fitted on the validation database)", []],
      ["initial (untrained, same init as training)", ["--model", join(model, "initial")]],
      ["trained", ["--model", model]],
    ] as [string, string[]][]
  ) {
    evals[name] = lastJson(await waymark(["eval", "retrieval", val, ...extra, "--json"]));
  }
  const training = JSON.parse(await Deno.readTextFile(join(model, "training.json")));
  const results = {
    settings: values,
    validationQueries: training.validationQueries,
    trainingTuples: training.tuples,
    bestEpoch: training.bestEpoch,
    epochs: training.history.length,
    secondsPerEpoch: training.history.reduce((s: number, h: { seconds: number }) => s + h.seconds, 0) /
      Math.max(1, training.history.length),
    eval: Object.fromEntries(
      Object.entries(evals).map((
        [k, v],
      ) => [k, { "recall@1": v["recall@1"], "recall@5": v["recall@5"], queries: v.queries }]),
    ),
    totalSeconds: (performance.now() - t0) / 1000,
  };
  await Deno.writeTextFile(join(root, "results.json"), JSON.stringify(results, null, 2) + "\n");
  console.log("\nvalidation split (held out, changed condition), waymark eval retrieval:");
  for (const [k, v] of Object.entries(results.eval)) {
    console.log(
      `  ${k.padEnd(46)} R@1 ${Number(v["recall@1"]).toFixed(3)}  R@5 ${Number(v["recall@5"]).toFixed(3)}`,
    );
  }
  console.log(`  ${results.validationQueries} queries; ${results.secondsPerEpoch.toFixed(1)} s/epoch`);
  console.log(`results: ${join(root, "results.json")}`);
} finally {
  if (!values.out && !values.keep) await Deno.remove(root, { recursive: true });
}
