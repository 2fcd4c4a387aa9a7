/**
 * `waymark train <dataset> --out <model-dir>`: learn the default model's NetVLAD head and whitening with
 * NetVLAD's weakly supervised ranking loss (thin shell over `train()` of `src/train/train_model.ts`).
 * @module
 */
import { invalid } from "../errors.ts";
import {
  train,
  trainBackboneHead,
  type TrainModelProgress,
  type TrainOptions,
} from "../train/train_model.ts";
import { checkOutputFolder, EXIT_OK, numberOption, parseCommand, ProgressBar } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary = "train the NetVLAD head + whitening from a position-tagged dataset (ranking loss)";

const HELP = `waymark train <dataset> --out <model-dir> [options]

Learn the NetVLAD layer (soft-assignment weights and biases, centres) and the PCA whitening of the default
model on top of its fixed dense-SIFT front end, with NetVLAD's weakly supervised ranking loss:
queries from queries.csv, potential positives = database images within --pos-radius metres (or matches.csv
when there are no positions), negatives beyond --neg-radius metres (10 hardest of a random pool of 1000,
mined every epoch from a descriptor cache). The last --val-fraction of the query traversal is held out for
validation (its places never enter training); Recall@1 on it is reported after every epoch, the best
epoch's weights are kept, and training stops after --patience epochs without improvement.

Writes <model-dir>/manifest.json + model.onnx (use with --model on any command), <model-dir>/initial/ (the
untrained default model fitted on the same training images, for a before/after comparison),
<model-dir>/validation/ (the held-out split as a dataset: waymark eval retrieval <model-dir>/validation
--model <model-dir>/initial, then --model <model-dir>), <model-dir>/training.json (history), and
<model-dir>/checkpoint/ (for --resume).

Bring your own backbone: --backbone <file.onnx> trains the same head on a frozen feature-map ONNX
(one float32 input [N, channels, H, W] = (pixel/255 - mean)/std; output [N, C, h, w], the feature map before
pooling); the result is the backbone with the head appended, one ONNX model (opset 13..17).

Options:
  --out DIR            model folder to write (required)
  --epochs N           maximum epochs                                       default 10
  --lr X               learning rate                                        default 1e-3 (adam), 1e-2 (sgd)
  --optimizer O        adam | sgd (momentum 0.9)                            default adam
  --margin M           ranking-loss margin                                  default 0.1
  --pos-radius M       potential positives within M metres                  default 10
  --neg-radius M       negatives beyond M metres                            default 25
  --neg-frame-gap N    without positions: negatives > N frames from a match default 10
  --val-fraction F     held-out fraction of queries (end of the traversal)  default 0.2
  --batch N            tuples per optimizer step                            default 4
  --hard-negatives N   hard negatives per tuple                             default 10
  --pool N             random pool the hard negatives are mined from        default 1000
  --patience N         early stopping patience in epochs (0: off)           default 3
  --clusters K         NetVLAD clusters                                     default 64
  --pca-dim D          whitening dimension (0: none, as the default model)  default 0
  --max-positions N    grid positions per image used in training            default 1100
  --radius M           validation ground-truth radius without matches.csv   default 25
  --seed S             seed (initialisation, shuffling, negative pools)     default 1
  --keep best|last     head written: best validation epoch (ties: higher separation; the initial head
                       when no epoch beats it) or the last epoch's                     default best
  --resume             continue from <model-dir>/checkpoint
  --backbone FILE      feature-map ONNX to train the head on (instead of the default front end)
  --input-size WxH     backbone input size                                  required with --backbone
  --channels N         backbone input channels, 1 or 3                      default 3
  --mean a,b,c         backbone input mean per channel (pixel/255 scale)    default 0
  --std a,b,c          backbone input std per channel                       default 1
  --feature-output N   backbone output holding the feature map              default: its first output
  -h, --help           this help

The validation Recall@1 printed while training is computed on the training sub-grid of --max-positions
positions per image; waymark eval retrieval runs the exported model on the full grid, so its numbers differ
(use the printed compare commands for the before/after that counts).

Indoor datasets need smaller radii than the city-scale defaults (e.g. --pos-radius 2.5 --neg-radius 8).
`;

const num = (name: string, v: string | undefined, fallback: number, int = false) =>
  numberOption("train", name, v, fallback, int);

/** Entries of a training output folder (besides `*.onnx` and `*.tmp`). */
const TRAIN_OUTPUTS = new Set(["manifest.json", "training.json", "checkpoint", "initial", "validation"]);

/** Run `waymark train`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "train",
    help: HELP,
    positionals: { count: 1, what: "one dataset folder" },
    required: ["out"],
    options: {
      out: { type: "string" },
      epochs: { type: "string" },
      lr: { type: "string" },
      optimizer: { type: "string" },
      margin: { type: "string" },
      "pos-radius": { type: "string" },
      "neg-radius": { type: "string" },
      "neg-frame-gap": { type: "string" },
      "val-fraction": { type: "string" },
      batch: { type: "string" },
      "hard-negatives": { type: "string" },
      pool: { type: "string" },
      patience: { type: "string" },
      clusters: { type: "string" },
      "pca-dim": { type: "string" },
      "max-positions": { type: "string" },
      radius: { type: "string" },
      seed: { type: "string" },
      resume: { type: "boolean", default: false },
      keep: { type: "string" },
      backbone: { type: "string" },
      "input-size": { type: "string" },
      channels: { type: "string" },
      mean: { type: "string" },
      std: { type: "string" },
      "feature-output": { type: "string" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const kind = values.optimizer ?? "adam";
  const keep = values.keep ?? "best";
  if (keep !== "best" && keep !== "last") throw invalid("train", "keep", "best or last", keep);
  if (kind !== "adam" && kind !== "sgd") throw invalid("train", "optimizer", "adam or sgd", kind);
  const out = values.out;
  // Only a new path, an empty folder, or this command's own earlier output (a model bundle, its checkpoints:
  // --resume continues from them) is written.
  await checkOutputFolder(
    out,
    "train",
    (n) => TRAIN_OUTPUTS.has(n) || n.endsWith(".onnx") || n.endsWith(".tmp"),
  );
  let bar: ProgressBar | null = null;
  let stage = "";
  const onProgress = (p: TrainModelProgress) => {
    if (p.stage === "fit") {
      if (stage !== "fit") {
        stage = "fit";
        console.error("fitting the initial default model on the training images...");
      }
      return;
    }
    if (p.stage === "features") {
      if (stage !== "features") {
        stage = "features";
        bar = new ProgressBar("features       ", p.total);
      }
      bar!.update(p.done);
      return;
    }
    const t = p.train;
    if (t.phase === "init") {
      bar?.done();
      console.error(
        `validation Recall@1 before training: ${fmt(t.recallAt1)}  separation ${fmt(t.separation)}`,
      );
      stage = "train";
      return;
    }
    if (t.phase === "step") {
      if (t.step === 1) bar = new ProgressBar(`epoch ${t.epoch}/${t.epochs}`.padEnd(15), t.steps);
      bar!.update(t.step, `loss ${t.loss.toFixed(4)}`);
      return;
    }
    bar?.done();
    bar = null;
    console.error(
      `epoch ${t.epoch}/${t.epochs}: loss ${t.loss.toFixed(4)}  validation Recall@1 ${fmt(t.recallAt1)}` +
        `  separation ${fmt(t.separation)}`,
    );
  };
  const common: TrainOptions = {
    epochs: num("epochs", values.epochs, 10, true),
    optimizer: { kind, lr: values.lr === undefined ? undefined : num("lr", values.lr, 0) },
    margin: num("margin", values.margin, 0.1),
    posRadius: num("pos-radius", values["pos-radius"], 10),
    negRadius: num("neg-radius", values["neg-radius"], 25),
    negFrameGap: num("neg-frame-gap", values["neg-frame-gap"], 10, true),
    valFraction: num("val-fraction", values["val-fraction"], 0.2),
    batchSize: num("batch", values.batch, 4, true),
    hardNegatives: num("hard-negatives", values["hard-negatives"], 10, true),
    negativePool: num("pool", values.pool, 1000, true),
    patience: num("patience", values.patience, 3, true),
    clusters: num("clusters", values.clusters, 64, true),
    pcaDim: num("pca-dim", values["pca-dim"], 0, true),
    maxPositions: num("max-positions", values["max-positions"], 1100, true),
    evalRadius: num("radius", values.radius, 25),
    seed: num("seed", values.seed, 1, true),
    resume: values.resume,
    keep,
    onProgress,
  };
  const r = values.backbone === undefined
    ? await train(positionals[0], out, common)
    : await trainBackboneHead(positionals[0], values.backbone, out, { ...common, ...backboneInput(values) });
  console.log(
    [
      `model      ${r.out} (${
        keep === "last" ? `last epoch ${r.history.length}, ` : ""
      }best epoch ${r.bestEpoch}${r.earlyStopped ? ", early stopped" : ""}${
        keep === "best" && r.bestEpoch === 0
          ? "; no epoch beat the initial head on validation: it is kept"
          : ""
      })`,
      `initial    ${r.initialDir ?? "(not saved)"}`,
      `validation ${r.validationDir ?? "(none)"}`,
      `tuples     ${r.tuples} training queries (${r.mode}), ${r.validationQueries} validation queries`,
      `recall@1   ${fmt(r.initialRecallAt1)} before -> ${
        fmt(r.bestRecallAt1)
      } after (validation, training grid)`,
      `time       features ${r.featureSeconds.toFixed(1)} s, training ${r.trainSeconds.toFixed(1)} s ` +
      `(${
        (r.history.reduce((s, h) => s + h.seconds, 0) / Math.max(1, r.history.length)).toFixed(1)
      } s/epoch)`,
      ...(r.validationDir && r.initialDir
        ? [
          `compare    waymark eval retrieval ${r.validationDir} --model ${r.initialDir} --json   (before)`,
          `           waymark eval retrieval ${r.validationDir} --model ${r.out} --json   (after)`,
        ]
        : []),
    ].join("\n"),
  );
  return EXIT_OK;
}

function floats(name: string, v: string | undefined, n: number, fallback: number): number[] {
  if (v === undefined) return Array(n).fill(fallback);
  const xs = v.split(",").map((t) => Number(t));
  if (xs.length !== n || xs.some((x) => !Number.isFinite(x))) {
    throw invalid("train", name, `${n} comma-separated numbers`, v);
  }
  return xs;
}

function backboneInput(values: Record<string, string | boolean | undefined>) {
  const size = values["input-size"] as string | undefined;
  const m = size?.match(/^(\d+)x(\d+)$/);
  if (!m) throw invalid("train", "input-size", "WxH (e.g. 224x224) with --backbone", size);
  const channels = num("channels", values.channels as string | undefined, 3, true);
  if (channels !== 1 && channels !== 3) throw invalid("train", "channels", "1 or 3", channels);
  return {
    input: {
      width: Number(m[1]),
      height: Number(m[2]),
      channels: channels as 1 | 3,
      mean: floats("mean", values.mean as string | undefined, channels, 0),
      std: floats("std", values.std as string | undefined, channels, 1),
    },
    featureOutput: values["feature-output"] as string | undefined,
  };
}

function fmt(x: number): string {
  return Number.isNaN(x) ? "n/a" : x.toFixed(3);
}
