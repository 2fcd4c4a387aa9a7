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
import { join } from "node:path";
import { TrainingError } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import {
  buildDefaultModelGraph,
  defaultModelManifest,
  type DefaultModelParams,
  fitDefaultModel,
  type FitProgress,
  FrontEnd,
} from "../model/default_model.ts";
import { saveModelBundle } from "../model/onnx_model.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import type { DatasetImage, RetrievalDataset } from "../dataset/types.ts";
import type { PixelImage } from "../types.ts";
import { prepareGrid, subGridStride } from "./features.ts";
import type { HeadParams, PreparedFeatures } from "./netvlad_grad.ts";
import { trainHead, type TrainHeadOptions, type TrainHeadResult, type TrainProgress } from "./trainer.ts";
import { buildTuples } from "./tuples.ts";

/** Options of {@linkcode train}. Every field has a default. */
export interface TrainOptions
  extends Omit<TrainHeadOptions, "checkpointDir" | "onProgress" | "stopAfterEpochs"> {
  /** NetVLAD clusters K. Default 64. */
  clusters?: number;
  /** PCA whitening dimension (0: none). Default 256 (capped by the number of PCA samples). */
  pcaDim?: number;
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
  /** Progress of every stage. */
  onProgress?: (p: TrainModelProgress) => void;
  /** Stop after this many epochs of this call (a resumable interruption; for tests). */
  stopAfterEpochs?: number;
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
      out.push(prepareGrid(d.descriptors, "hwc", d.dim, d.gridHeight, d.gridWidth, stride));
      onProgress?.(i + 1, images.length);
    }
  } finally {
    await fe.close();
  }
  return out;
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
  const ds = typeof dataset === "string"
    ? await readRetrievalDataset(dataset, { radius: options.evalRadius ?? 25 })
    : dataset;
  const progress = options.onProgress ?? (() => {});
  // the split decides which database images may shape the initial model
  const split = buildTuples(ds, options);
  const excluded = new Set(split.excludedDatabase);
  const trainDb = ds.database.filter((_, i) => !excluded.has(i));
  const fitted = await fitDefaultModel(decodeAll(trainDb), {
    clusters: options.clusters ?? 64,
    pcaDim: options.pcaDim ?? 256,
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
  const params = defaultParamsWithHead(fitted.params, result.best);
  const onnx = buildDefaultModelGraph(params);
  const name = options.name ?? "waymark-dsift-netvlad-trained";
  const manifest = await defaultModelManifest(
    params,
    onnx,
    name,
    `Dense RootSIFT + NetVLAD (K=${params.netvlad.clusters}${
      params.pca ? `, whitened to ${params.pca.dim}` : ""
    }) with the head trained by NetVLAD's ranking loss on ${ds.dir}`,
    {
      trained: true,
      dataset: ds.dir,
      bestEpoch: result.bestEpoch,
      validationRecallAt1: { initial: result.initialRecallAt1, best: result.bestRecallAt1 },
    },
  );
  await saveModelBundle(out, { manifest, onnx });
  const report = {
    dataset: ds.dir,
    mode: result.mode,
    tuples: result.tuples,
    validationQueries: result.validationQueries,
    initialRecallAt1: result.initialRecallAt1,
    bestRecallAt1: result.bestRecallAt1,
    bestEpoch: result.bestEpoch,
    earlyStopped: result.earlyStopped,
    history: result.history,
    featureSeconds,
    trainSeconds,
    options: { ...options, onProgress: undefined },
  };
  await Deno.writeTextFile(join(out, "training.json"), JSON.stringify(report, null, 2) + "\n");
  return { ...result, out, initialDir, featureSeconds, trainSeconds };
}
