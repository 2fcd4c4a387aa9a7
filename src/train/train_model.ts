/**
 * `train(dataset, options)`: learn the NetVLAD head and whitening of the default model (dense RootSIFT front
 * end, fixed) from a position-tagged (or matches-only) retrieval dataset, and write a model folder that every
 * `--model <dir>` command accepts.
 *
 * 1. Read the dataset; split a held-out validation block of queries (`valFraction`, the end of the query
 *    traversal) and keep its places out of training.
 * 2. Initialise exactly as the default model does (`fitDefaultModel` on the training database images: k-means
 *    centres, `initParams`, power normalisation, PCA whitening); this initial model is written to
 *    `<out>/initial/` so that "before" and "after" can be evaluated alike.
 * 3. Compute the front end's dense descriptors of every image once (cached, on a sub-grid, see `features.ts`).
 * 4. Train the head (`trainer.ts`); checkpoints go to `<out>/checkpoint/` and `resume` continues from there.
 * 5. Build the trained model through the default model's graph builder and save it with its manifest to
 *    `<out>/`, plus `<out>/training.json` (options, history, Recall@1 before/after).
 *
 * @module
 */
import { isAbsolute, join, relative } from "node:path";
import { invalid, TrainingError } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import {
  buildDefaultModelGraph,
  defaultModelManifest,
  type DefaultModelParams,
  fitDefaultModel,
  type FitProgress,
  FrontEnd,
  weightedAggregation,
} from "../model/default_model.ts";
import { saveModelBundle } from "../model/onnx_model.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import type { DatasetImage, RetrievalDataset } from "../dataset/types.ts";
import type { PixelImage } from "../types.ts";
import { type FeatureMapInput, onnxFeatureExtractor, prepareGrid, subGridStride } from "./features.ts";
import { headOutputDim, type HeadParams, type PreparedFeatures } from "./netvlad_grad.ts";
import { GraphBuilder } from "../model/graph_builder.ts";
import { addNetVladLayer } from "../model/netvlad.ts";
import { createManifest } from "../model/manifest.ts";
import { initHead } from "./init_head.ts";
import { appendHead, scanOnnx } from "./onnx_merge.ts";
import { trainHead, type TrainHeadOptions, type TrainHeadResult, type TrainProgress } from "./trainer.ts";
import { buildTuples } from "./tuples.ts";

/** Options of {@linkcode train}. Every field has a default. */
export interface TrainOptions
  extends Omit<TrainHeadOptions, "checkpointDir" | "onProgress" | "stopAfterEpochs"> {
  /** NetVLAD clusters K. Default 64. */
  clusters?: number;
  /** PCA whitening dimension (0: none, as the default model). Default 0. */
  pcaDim?: number;
  /** Random crops per image added to the PCA samples (the PCA's cost grows with their cube). Default 2. */
  pcaCropsPerImage?: number;
  /** Power normalisation (signed sqrt) before whitening. Default true (as the default model). */
  powerNorm?: boolean;
  /** Network input width. Default 320 (as the default model). */
  inputWidth?: number;
  /** Grid positions per image kept for training (regular sub-grid). Default 1100 (stride 2 at 320x240). */
  maxPositions?: number;
  /** Radius (metres) of a true match for validation Recall@1 when the dataset has no matches.csv. Default 25. */
  evalRadius?: number;
  /** Model name in the manifest. Default "waymark-dsift-netvlad-trained". */
  name?: string;
  /** Write the initial (untrained) model to `<out>/initial/`. Default true. */
  saveInitial?: boolean;
  /**
   * Write the held-out validation split as a dataset folder `<out>/validation/` (all database rows, the
   * validation queries, their true matches; image paths through a link `dataset` to the training set), for
   * `waymark eval retrieval --model`. Default true.
   */
  writeValidation?: boolean;
  /** Progress of every stage. */
  onProgress?: (p: TrainModelProgress) => void;
  /** Stop after this many epochs of this call (a resumable interruption; for tests). */
  stopAfterEpochs?: number;
  /**
   * Which head the model gets: "best" (best validation Recall@1, ties broken by separation; the initial head
   * when no epoch beat it) or "last" (after the last epoch). Default "best".
   */
  keep?: "best" | "last";
}

function checkKeep(keep: unknown): void {
  if (keep !== undefined && keep !== "best" && keep !== "last") {
    throw invalid("train", "keep", '"best" or "last"', keep);
  }
}

function keptHead(result: TrainHeadResult, keep: TrainOptions["keep"]): HeadParams {
  return keep === "last" ? result.last : result.best;
}

/** Progress of {@linkcode train}. */
export type TrainModelProgress =
  | { stage: "fit"; fit: FitProgress }
  | { stage: "features"; done: number; total: number }
  | { stage: "train"; train: TrainProgress };

/** Result of {@linkcode train}. */
export interface TrainModelResult extends TrainHeadResult {
  /** The model folder written. */
  out: string;
  /** The initial model folder (when saved). */
  initialDir?: string;
  /** The validation split dataset folder (when written). */
  validationDir?: string;
  /** Seconds of feature extraction and of training. */
  featureSeconds: number;
  trainSeconds: number;
}

async function decode(im: DatasetImage): Promise<PixelImage> {
  return await decodeImage(await Deno.readFile(im.path), { source: im.path, channels: 1 });
}

async function* decodeAll(images: DatasetImage[]): AsyncIterable<PixelImage> {
  for (const im of images) yield await decode(im);
}

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

function imageRows(list: DatasetImage[], name: (im: DatasetImage) => string): string {
  const hasPos = list.every((im) => im.position);
  const head = hasPos ? "image,stamp,x,y" : "image,stamp";
  const rows = list.map((im) =>
    [
      csvField(name(im)),
      String(im.stamp),
      ...(hasPos ? [String(im.position!.x), String(im.position!.y)] : []),
    ]
      .join(",")
  );
  return [head, ...rows].join("\n") + "\n";
}

/** Name of the link, inside a validation split, to the training dataset folder. */
const DATASET_LINK = "dataset";

/**
 * Write the validation split of `ds` as a retrieval dataset folder: every database row, the `validation`
 * queries, and `matches.csv` from their ground truth. The folder holds only CSVs and a symbolic link
 * `dataset` to the training dataset folder; image paths go through it (`dataset/images/...`), so that they
 * stay inside the split's folder as dataset readers require. Images outside the training dataset folder (it
 * named them by absolute path) keep their absolute path (reading those needs absolute paths allowed).
 */
export async function writeValidationSplit(
  ds: RetrievalDataset,
  validation: number[],
  dir: string,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const link = join(dir, DATASET_LINK);
  await Deno.remove(link).catch(() => {}); // an earlier split's link (the link only, never its target)
  await Deno.symlink(ds.dir, link, { type: "dir" });
  const name = (im: DatasetImage) => {
    const rel = relative(ds.dir, im.path);
    return rel.startsWith("..") || isAbsolute(rel) ? im.path : `${DATASET_LINK}/${rel.split("\\").join("/")}`;
  };
  const queries = validation.map((q) => ds.queries[q]);
  const matches = ["query,database"];
  for (const q of validation) {
    for (const d of ds.truth[q]) {
      matches.push(`${csvField(name(ds.queries[q]))},${csvField(name(ds.database[d]))}`);
    }
  }
  for (
    const [file, text] of [
      ["database.csv", imageRows(ds.database, name)],
      ["queries.csv", imageRows(queries, name)],
      ["matches.csv", matches.join("\n") + "\n"],
    ]
  ) {
    await Deno.writeTextFile(join(dir, file + ".tmp"), text);
    await Deno.rename(join(dir, file + ".tmp"), join(dir, file));
  }
}

/** Head parameters (float64, trainable) from a default model's parameters. */
export function headFromDefaultParams(p: DefaultModelParams): HeadParams {
  const nv = p.netvlad;
  return {
    K: nv.clusters,
    C: nv.dim,
    weight: Float64Array.from(nv.weight),
    bias: nv.bias ? Float64Array.from(nv.bias) : new Float64Array(nv.clusters),
    centres: Float64Array.from(nv.centroids),
    powerNorm: p.powerNorm,
    whitening: p.pca
      ? {
        outDim: p.pca.dim,
        matrix: Float64Array.from(p.pca.components),
        mean: Float64Array.from(p.pca.mean),
      }
      : undefined,
  };
}

/** Default model parameters with the head replaced by trained parameters (front end and input unchanged). */
export function defaultParamsWithHead(base: DefaultModelParams, head: HeadParams): DefaultModelParams {
  if (head.C !== base.netvlad.dim || !!head.whitening !== !!base.pca) {
    throw new TrainingError("Cannot export: the trained head does not fit the default model's front end");
  }
  return {
    ...base,
    powerNorm: !!head.powerNorm,
    netvlad: {
      clusters: head.K,
      dim: head.C,
      alpha: base.netvlad.alpha,
      weight: Float32Array.from(head.weight),
      bias: Float32Array.from(head.bias),
      centroids: Float32Array.from(head.centres),
    },
    pca: head.whitening && base.pca
      ? {
        inputDim: head.K * head.C,
        dim: head.whitening.outDim,
        mean: Float32Array.from(head.whitening.mean),
        components: Float32Array.from(head.whitening.matrix),
        eigenvalues: base.pca.eigenvalues,
      }
      : null,
  };
}

/** Extract the fixed front-end features of images (decoded one by one; only features are kept). */
export async function frontEndFeatures(
  images: DatasetImage[],
  params: DefaultModelParams,
  maxPositions: number,
  onProgress?: (done: number, total: number) => void,
): Promise<PreparedFeatures[]> {
  const fe = await FrontEnd.create(params.inputWidth, params.inputHeight, { frontEnd: params.frontEnd });
  const out: PreparedFeatures[] = [];
  try {
    for (let i = 0; i < images.length; i++) {
      const [d] = await fe.run([await decode(images[i])]);
      const stride = subGridStride(d.gridHeight, d.gridWidth, maxPositions);
      out.push(
        prepareGrid(
          d.descriptors,
          "hwc",
          d.dim,
          d.gridHeight,
          d.gridWidth,
          stride,
          weightedAggregation(params.frontEnd),
        ),
      );
      onProgress?.(i + 1, images.length);
    }
  } finally {
    await fe.close();
  }
  return out;
}

/** The fields every `training.json` reports about the run's result. */
function trainingSummary(result: TrainHeadResult) {
  return {
    mode: result.mode,
    tuples: result.tuples,
    validationQueries: result.validationQueries,
    initialRecallAt1: result.initialRecallAt1,
    bestRecallAt1: result.bestRecallAt1,
    bestEpoch: result.bestEpoch,
  };
}

/** The dataset of a training run (read from its folder when a path is given), after checking `options.keep`. */
async function openTrainingDataset(
  dataset: string | RetrievalDataset,
  options: TrainOptions,
): Promise<RetrievalDataset> {
  const ds = typeof dataset === "string"
    ? await readRetrievalDataset(dataset, { radius: options.evalRadius ?? 25 })
    : dataset;
  checkKeep(options.keep);
  return ds;
}

/**
 * Train the default model's NetVLAD head + whitening on a retrieval dataset folder and write the model to `out`.
 *
 * @example
 * ```ts ignore
 * import { train } from "./train_model.ts";
 * const r = await train("sim-route", "models/trained", { epochs: 5 });
 * console.log(r.initialRecallAt1, "->", r.bestRecallAt1);
 * ```
 */
export async function train(
  dataset: string | RetrievalDataset,
  out: string,
  options: TrainOptions = {},
): Promise<TrainModelResult> {
  const ds = await openTrainingDataset(dataset, options);
  const progress = options.onProgress ?? (() => {});
  // the split decides which database images may shape the initial model
  const split = buildTuples(ds, options);
  const excluded = new Set(split.excludedDatabase);
  const trainDb = ds.database.filter((_, i) => !excluded.has(i));
  const fitted = await fitDefaultModel(decodeAll(trainDb), {
    clusters: options.clusters ?? 64,
    pcaDim: options.pcaDim ?? 0,
    pcaCropsPerImage: options.pcaCropsPerImage ?? 2,
    powerNorm: options.powerNorm ?? true,
    inputWidth: options.inputWidth ?? 320,
    seed: options.seed ?? 1,
    name: "waymark-dsift-netvlad-initial",
    onProgress: (fit) => progress({ stage: "fit", fit }),
  });
  let initialDir: string | undefined;
  if (options.saveInitial ?? true) {
    initialDir = join(out, "initial");
    await saveModelBundle(initialDir, { manifest: fitted.manifest, onnx: fitted.onnx });
  }
  const maxPositions = options.maxPositions ?? 1100;
  const t0 = performance.now();
  const all = [...ds.database, ...ds.queries];
  const feats = await frontEndFeatures(
    all,
    fitted.params,
    maxPositions,
    (done, total) => progress({ stage: "features", done, total }),
  );
  const featureSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const result = await trainHead(
    ds,
    { database: feats.slice(0, ds.database.length), queries: feats.slice(ds.database.length) },
    headFromDefaultParams(fitted.params),
    {
      ...options,
      checkpointDir: join(out, "checkpoint"),
      onProgress: (train) => progress({ stage: "train", train }),
    },
  );
  const trainSeconds = (performance.now() - t1) / 1000;
  const kept = keptHead(result, options.keep);
  const params = defaultParamsWithHead(fitted.params, kept);
  const onnx = buildDefaultModelGraph(params);
  const name = options.name ?? "waymark-dsift-netvlad-trained";
  const manifest = await defaultModelManifest(
    params,
    onnx,
    name,
    `with the head trained by NetVLAD's ranking loss on ${ds.dir}`,
    {
      trained: true,
      dataset: ds.dir,
      bestEpoch: result.bestEpoch,
      kept: options.keep ?? "best",
      validationRecallAt1: { initial: result.initialRecallAt1, best: result.bestRecallAt1 },
    },
  );
  await saveModelBundle(out, { manifest, onnx });
  const report = {
    dataset: ds.dir,
    ...trainingSummary(result),
    kept: options.keep ?? "best",
    earlyStopped: result.earlyStopped,
    history: result.history,
    featureSeconds,
    trainSeconds,
    options: { ...options, onProgress: undefined },
  };
  await Deno.writeTextFile(join(out, "training.json"), JSON.stringify(report, null, 2) + "\n");
  let validationDir: string | undefined;
  if ((options.writeValidation ?? true) && split.validation.length > 0) {
    validationDir = join(out, "validation");
    await writeValidationSplit(ds, split.validation, validationDir);
  }
  return { ...result, out, initialDir, validationDir, featureSeconds, trainSeconds };
}

/** Options of {@linkcode trainBackboneHead}: {@linkcode TrainOptions} plus the backbone's input contract. */
export interface TrainBackboneOptions extends TrainOptions {
  /** The backbone's image input: size, channels, mean/std (see `features.ts`). */
  input: FeatureMapInput;
  /** Backbone output holding the [N, C, h, w] feature map. Default: its first output. */
  featureOutput?: string;
}

/**
 * Append the head (NetVLAD, optional power normalisation and whitening, L2) as ONNX nodes reading `x`
 * ([N, C, h, w]); returns the name of the [N, D] descriptor.
 */
export function addTrainedHead(g: GraphBuilder, x: string, head: HeadParams): string {
  const nv = {
    clusters: head.K,
    dim: head.C,
    alpha: 0,
    weight: Float32Array.from(head.weight),
    bias: Float32Array.from(head.bias),
    centroids: Float32Array.from(head.centres),
  };
  let v = addNetVladLayer(g, x, nv, { layout: "NCHW" }).vlad;
  if (head.powerNorm) v = g.l2Normalize(g.mul(g.sign(v), g.sqrt(g.abs(v))), 1);
  if (head.whitening) {
    const { outDim, matrix, mean } = head.whitening;
    const KC = head.K * head.C;
    const wt = new Float32Array(KC * outDim);
    const bias = new Float32Array(outDim);
    for (let r = 0; r < outDim; r++) {
      let sum = 0;
      for (let j = 0; j < KC; j++) {
        wt[j * outDim + r] = matrix[r * KC + j];
        sum += matrix[r * KC + j] * mean[j];
      }
      bias[r] = -sum;
    }
    v = g.add(
      g.matmul(v, g.constant(wt, [KC, outDim], "head_whitening")),
      g.constant(bias, [outDim], "head_whitening_bias"),
    );
    v = g.l2Normalize(v, 1);
  }
  return v;
}

/**
 * Train a NetVLAD head (+ optional whitening) on top of a frozen bring-your-own backbone exported as a
 * feature-map ONNX (input [N, channels, H, W], output [N, C, h, w]; see `features.ts`), and write
 * backbone + head as one ONNX model with a manifest to `out`. Initialisation: k-means on the training
 * database images' features, `initParams` ("vladv2" by default), PCA whitening when `pcaDim` > 0.
 */
export async function trainBackboneHead(
  dataset: string | RetrievalDataset,
  backbone: string,
  out: string,
  options: TrainBackboneOptions,
): Promise<TrainModelResult> {
  const ds = await openTrainingDataset(dataset, options);
  const progress = options.onProgress ?? (() => {});
  const bytes = await Deno.readFile(backbone).catch((e) => {
    throw new TrainingError(`Cannot read backbone ${backbone}: ${(e as Error).message}`, { cause: e });
  });
  const summary = scanOnnx(bytes, backbone);
  const featureOutput = options.featureOutput ?? summary.outputs[0];
  if (summary.inputs.length !== 1) {
    throw new TrainingError(
      `${backbone}: a feature-map backbone has exactly one input, found ${summary.inputs.join(", ")}`,
    );
  }
  const split = buildTuples(ds, options);
  const t0 = performance.now();
  const fx = await onnxFeatureExtractor(bytes, {
    input: options.input,
    outputName: featureOutput,
    maxPositions: options.maxPositions ?? 1100,
    label: backbone,
  });
  const all = [...ds.database, ...ds.queries];
  const feats: PreparedFeatures[] = [];
  try {
    for (let i = 0; i < all.length; i++) {
      feats.push(...await fx.extract([await decode3(all[i], options.input.channels)]));
      progress({ stage: "features", done: i + 1, total: all.length });
    }
  } finally {
    await fx.close();
  }
  const featureSeconds = (performance.now() - t0) / 1000;
  const excluded = new Set(split.excludedDatabase);
  const db = feats.slice(0, ds.database.length);
  const initial = initHead(db.filter((_, i) => !excluded.has(i)), {
    clusters: options.clusters ?? 64,
    whitenDim: options.pcaDim ?? 0,
    seed: options.seed ?? 1,
  });
  initial.powerNorm = options.powerNorm ?? false;
  const t1 = performance.now();
  const result = await trainHead(ds, { database: db, queries: feats.slice(ds.database.length) }, initial, {
    ...options,
    checkpointDir: join(out, "checkpoint"),
    onProgress: (train) => progress({ stage: "train", train }),
  });
  const trainSeconds = (performance.now() - t1) / 1000;
  const write = async (dir: string, head: HeadParams, name: string, what: string) => {
    const g = new GraphBuilder("waymark_netvlad_head");
    const x = g.input(featureOutput, ["N", head.C, "h", "w"]);
    g.output(addTrainedHead(g, x, head), "global", ["N", headOutputDim(head)]);
    const onnx = appendHead(bytes, g.toBytes({ opset: 17 }), featureOutput, backbone);
    const D = headOutputDim(head);
    await saveModelBundle(dir, {
      onnx,
      manifest: await createManifest(onnx, {
        name,
        input: {
          name: summary.inputs[0],
          width: options.input.width,
          height: options.input.height,
          channels: options.input.channels,
          layout: "NCHW",
          mean: options.input.mean ?? Array(options.input.channels).fill(0),
          std: options.input.std ?? Array(options.input.channels).fill(1),
        },
        outputs: { global: { name: "global", dim: D } },
        description: `${what} NetVLAD head (K=${head.K}) on the frozen backbone ${backbone}`,
        provenance: {
          kind: "backbone-netvlad",
          backbone,
          featureOutput,
          clusters: head.K,
          powerNorm: !!head.powerNorm,
          pcaDim: head.whitening?.outDim ?? null,
          dataset: ds.dir,
        },
      }),
    });
  };
  let initialDir: string | undefined;
  if (options.saveInitial ?? true) {
    initialDir = join(out, "initial");
    await write(initialDir, initial, "waymark-backbone-netvlad-initial", "Untrained (k-means + initParams)");
  }
  await write(
    out,
    keptHead(result, options.keep),
    options.name ?? "waymark-backbone-netvlad-trained",
    "Trained",
  );
  await Deno.writeTextFile(
    join(out, "training.json"),
    JSON.stringify(
      {
        dataset: ds.dir,
        backbone,
        ...trainingSummary(result),
        history: result.history,
        featureSeconds,
        trainSeconds,
      },
      null,
      2,
    ) + "\n",
  );
  let validationDir: string | undefined;
  if ((options.writeValidation ?? true) && split.validation.length > 0) {
    validationDir = join(out, "validation");
    await writeValidationSplit(ds, split.validation, validationDir);
  }
  return { ...result, out, initialDir, validationDir, featureSeconds, trainSeconds };
}

async function decode3(im: DatasetImage, channels: 1 | 3): Promise<PixelImage> {
  return await decodeImage(await Deno.readFile(im.path), { source: im.path, channels });
}
