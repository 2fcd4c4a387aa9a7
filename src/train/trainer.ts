/**
 * The training loop for the NetVLAD head (+ whitening) over fixed, cached feature maps: NetVLAD's weakly
 * supervised ranking loss with hard negatives mined from a descriptor cache refreshed every epoch, SGD or Adam,
 * validation Recall@1 after every epoch, early stopping, and checkpoint/resume that reproduces an
 * uninterrupted run exactly (seeded PRNG whose state is checkpointed; the cache is recomputed from the
 * checkpointed parameters).
 *
 * This file knows nothing of images or ONNX: `train_model.ts` extracts the features and exports the model.
 *
 * @module
 */
import { invalid, TrainingError } from "../errors.ts";
import {
  cloneHeadParams,
  gradTensors,
  headBackward,
  headForward,
  headOutputDim,
  type HeadParams,
  paramTensors,
  type PreparedFeatures,
  validateHeadParams,
  zeroGradients,
} from "./netvlad_grad.ts";
import { createOptimizer, type OptimizerOptions, resolveOptimizerOptions } from "./optim.ts";
import { rankingLossWithGradients } from "./ranking_loss.ts";
import { Rng } from "./rng.ts";
import {
  bestPositive,
  buildTuples,
  mineNegatives,
  resolveTupleOptions,
  type TupleDataset,
  type TupleOptions,
} from "./tuples.ts";
import { type EpochRecord, loadCheckpoint, saveCheckpoint, type TrainingState } from "./checkpoint.ts";

/** Cached, prepared feature maps of every image of the dataset (same order as the dataset lists). */
export interface TrainingFeatures {
  database: PreparedFeatures[];
  queries: PreparedFeatures[];
}

/** Progress report after each step / epoch. */
export interface TrainProgress {
  phase: "init" | "step" | "epoch";
  epoch: number;
  epochs: number;
  /** Steps done in this epoch and steps per epoch. */
  step: number;
  steps: number;
  /** Running mean loss per tuple in this epoch. */
  loss: number;
  /** Validation Recall@1 (after the epoch; NaN during the epoch or without validation). */
  recallAt1: number;
  /** Validation separation (see {@linkcode ValidationScores}); NaN during the epoch or without validation. */
  separation: number;
}

/** Options of {@linkcode trainHead}. Every field has a default. */
export interface TrainHeadOptions extends TupleOptions {
  /** Epochs (upper bound; early stopping may end sooner). Default 10. */
  epochs?: number;
  /** Ranking-loss margin m. Default 0.1. */
  margin?: number;
  /** Hard negatives per tuple. Default 10. */
  hardNegatives?: number;
  /** Random pool from which hard negatives are mined. Default 1000. */
  negativePool?: number;
  /** Tuples per optimizer step (gradients averaged). Default 4. */
  batchSize?: number;
  /** Optimizer. Default Adam, lr 1e-3 (SGD: lr 1e-2, momentum 0.9). */
  optimizer?: OptimizerOptions;
  /** Seed of the PRNG (shuffling, negative pools). Default 0. */
  seed?: number;
  /**
   * Stop after this many epochs without a validation improvement (higher Recall@1, or equal Recall@1 and a
   * separation gain over {@linkcode SEPARATION_MIN_GAIN}). Default 3; 0 disables.
   */
  patience?: number;
  /** Folder for checkpoints (saved after every epoch). Default: none. */
  checkpointDir?: string;
  /** Resume from the checkpoint in `checkpointDir` when there is one. Default false. */
  resume?: boolean;
  /** Called with progress (a CLI draws its bar with it). */
  onProgress?: (p: TrainProgress) => void;
  /** Stop (as if interrupted) after this many epochs of this call; used to test resume. Default: none. */
  stopAfterEpochs?: number;
}

/** Result of {@linkcode trainHead}. */
export interface TrainHeadResult {
  /**
   * Parameters with the best validation Recall@1, ties broken by the validation separation (the last ones when
   * there is no validation split). The initial parameters when no epoch beat them.
   */
  best: HeadParams;
  /** Parameters after the last epoch. */
  last: HeadParams;
  initialRecallAt1: number;
  bestRecallAt1: number;
  bestEpoch: number;
  history: EpochRecord[];
  /** True when early stopping ended the run. */
  earlyStopped: boolean;
  /** Number of training tuples and validation queries. */
  tuples: number;
  validationQueries: number;
  mode: "positions" | "matches";
}

type ResolvedOptions =
  & Required<Omit<TrainHeadOptions, "checkpointDir" | "onProgress" | "stopAfterEpochs">>
  & {
    checkpointDir?: string;
  };

function resolve(o: TrainHeadOptions): ResolvedOptions {
  const act = "train";
  const r = {
    ...resolveTupleOptions(o),
    epochs: o.epochs ?? 10,
    margin: o.margin ?? 0.1,
    hardNegatives: o.hardNegatives ?? 10,
    negativePool: o.negativePool ?? 1000,
    batchSize: o.batchSize ?? 4,
    // lr undefined: the optimizer's default for its kind (Adam 1e-3, SGD 1e-2)
    optimizer: resolveOptimizerOptions({ kind: "adam", ...o.optimizer }) as OptimizerOptions,
    seed: o.seed ?? 0,
    patience: o.patience ?? 3,
    checkpointDir: o.checkpointDir,
    resume: o.resume ?? false,
  };
  if (!Number.isInteger(r.epochs) || r.epochs < 0) throw invalid(act, "epochs", "an integer >= 0", r.epochs);
  if (!(r.margin >= 0) || !Number.isFinite(r.margin)) {
    throw invalid(act, "margin", "a finite number >= 0", r.margin);
  }
  for (const k of ["hardNegatives", "negativePool", "batchSize"] as const) {
    if (!Number.isInteger(r[k]) || r[k] <= 0) throw invalid(act, k, "a positive integer", r[k]);
  }
  if (!Number.isInteger(r.patience) || r.patience < 0) {
    throw invalid(act, "patience", "an integer >= 0", r.patience);
  }
  if (!Number.isFinite(r.seed)) throw invalid(act, "seed", "a finite number", r.seed);
  if (r.resume && !r.checkpointDir) throw invalid(act, "resume", "used with checkpointDir", r.resume);
  resolveOptimizerOptions(r.optimizer);
  return r;
}

/** Descriptors of every image under `p`, row-major (n x D), as float32. */
export function describeAll(p: HeadParams, feats: PreparedFeatures[]): Float32Array {
  const D = headOutputDim(p);
  const out = new Float32Array(feats.length * D);
  feats.forEach((f, i) => out.set(headForward(p, f).output, i * D));
  return out;
}

/** Validation scores of {@linkcode validationScores}. */
export interface ValidationScores {
  /** Recall@1 (NaN when no query has a true match). */
  recallAt1: number;
  /**
   * Mean over the queries with a true match of (best inner product with a true match - best inner product with
   * any other database image): positive when the first hit is true, a continuous measure of how clearly.
   * NaN when no query has a true match.
   */
  separation: number;
}

/**
 * Recall@1 and separation of `queries` against the database by inner product of unit descriptors; queries with
 * empty truth are skipped.
 */
export function validationScores(
  queryDescs: Float32Array,
  dbDescs: Float32Array,
  D: number,
  queries: number[],
  truth: number[][],
): ValidationScores {
  const nDb = dbDescs.length / D;
  let hit = 0, n = 0, sep = 0;
  queries.forEach((q, qi) => {
    const t = truth[q];
    if (!t || t.length === 0) return;
    n++;
    const isTrue = new Set(t);
    let best = -1, bestS = -Infinity, bestTrue = -Infinity, bestFalse = -Infinity;
    const qo = qi * D;
    for (let i = 0; i < nDb; i++) {
      let s = 0;
      const o = i * D;
      for (let d = 0; d < D; d++) s += queryDescs[qo + d] * dbDescs[o + d];
      if (s > bestS) {
        bestS = s;
        best = i;
      }
      if (isTrue.has(i)) bestTrue = Math.max(bestTrue, s);
      else bestFalse = Math.max(bestFalse, s);
    }
    if (isTrue.has(best)) hit++;
    // every database image a true match: nothing to separate from
    sep += Number.isFinite(bestFalse) ? bestTrue - bestFalse : 0;
  });
  return n === 0 ? { recallAt1: NaN, separation: NaN } : { recallAt1: hit / n, separation: sep / n };
}

/**
 * Recall@1 of `queries` against the database by inner product of unit descriptors; queries with empty truth are
 * skipped. NaN when no query has a true match.
 */
export function recallAt1(
  queryDescs: Float32Array,
  dbDescs: Float32Array,
  D: number,
  queries: number[],
  truth: number[][],
): number {
  return validationScores(queryDescs, dbDescs, D, queries, truth).recallAt1;
}

/**
 * Whether validation scores `a` beat `b`: higher Recall@1, or equal Recall@1 and higher separation (the coarse
 * Recall@1 of a small validation split ties often; the separation still tells a better head from a worse one).
 * Without validation (NaN) the newer scores always win.
 */
export function betterScores(a: ValidationScores, b: ValidationScores): boolean {
  if (Number.isNaN(a.recallAt1) || Number.isNaN(b.recallAt1)) return true;
  if (a.recallAt1 !== b.recallAt1) return a.recallAt1 > b.recallAt1;
  return Number.isNaN(b.separation) || a.separation > b.separation + SEPARATION_MIN_GAIN;
}

/** The least separation gain that counts as an improvement at equal Recall@1. */
export const SEPARATION_MIN_GAIN = 1e-4;

function fingerprint(p: HeadParams, o: ResolvedOptions, nDb: number, nQ: number): string {
  return JSON.stringify({
    K: p.K,
    C: p.C,
    outDim: p.whitening?.outDim ?? null,
    powerNorm: !!p.powerNorm,
    nDb,
    nQ,
    posRadius: o.posRadius,
    negRadius: o.negRadius,
    negFrameGap: o.negFrameGap,
    valFraction: o.valFraction,
    margin: o.margin,
    hardNegatives: o.hardNegatives,
    negativePool: o.negativePool,
    batchSize: o.batchSize,
    optimizer: resolveOptimizerOptions(o.optimizer),
    seed: o.seed,
  });
}

/**
 * Train the head from `initial` parameters on cached features of a dataset.
 *
 * @throws {TrainingError} no tuples, features inconsistent with the dataset or the head, or a checkpoint that
 *   belongs to another configuration.
 */
export async function trainHead(
  ds: TupleDataset,
  features: TrainingFeatures,
  initial: HeadParams,
  options: TrainHeadOptions = {},
): Promise<TrainHeadResult> {
  const o = resolve(options);
  validateHeadParams(initial);
  if (features.database.length !== ds.database.length || features.queries.length !== ds.queries.length) {
    throw new TrainingError(
      `Cannot train: ${features.database.length}/${features.queries.length} feature maps for ` +
        `${ds.database.length}/${ds.queries.length} database/query images`,
    );
  }
  for (const f of [...features.database, ...features.queries]) {
    if (f.C !== initial.C) {
      throw new TrainingError(`Cannot train: a feature map has C = ${f.C}, the head ${initial.C}`);
    }
  }
  const split = buildTuples(ds, o);
  const D = headOutputDim(initial);
  const nDb = ds.database.length;
  const fp = fingerprint(initial, o, nDb, ds.queries.length);
  const valQueries = split.validation;
  const trainQueries = split.train.map((t) => t.query);
  const refresh = (p: HeadParams) => {
    const db = describeAll(p, features.database);
    const tq = describeAll(p, trainQueries.map((q) => features.queries[q]));
    const vq = describeAll(p, valQueries.map((q) => features.queries[q]));
    return { db, tq, scores: validationScores(vq, db, D, valQueries, ds.truth) };
  };

  let state: TrainingState | null = null;
  if (o.resume && o.checkpointDir) {
    state = await loadCheckpoint(o.checkpointDir);
    if (state && state.fingerprint !== fp) {
      throw new TrainingError(
        `Cannot resume from ${o.checkpointDir}: the checkpoint was made with other options or data ` +
          `(${state.fingerprint}) than now (${fp})`,
        { context: { file: o.checkpointDir } },
      );
    }
  }
  const params = state ? state.params : cloneHeadParams(initial);
  const optimizer = createOptimizer(paramTensors(params), o.optimizer);
  const rng = state ? Rng.fromState(state.rngState) : new Rng(o.seed);
  let cache = refresh(params);
  if (state) optimizer.load(state.optimizer);
  else {
    state = {
      epoch: 0,
      params,
      best: cloneHeadParams(params),
      bestRecallAt1: cache.scores.recallAt1,
      bestSeparation: cache.scores.separation,
      bestEpoch: 0,
      initialRecallAt1: cache.scores.recallAt1,
      epochsWithoutImprovement: 0,
      optimizer: optimizer.state(),
      rngState: rng.state(),
      history: [],
      stopped: false,
      fingerprint: fp,
    };
  }
  const st = state;
  st.params = params;
  const steps = Math.ceil(split.train.length / o.batchSize);
  options.onProgress?.({
    phase: "init",
    epoch: st.epoch,
    epochs: o.epochs,
    step: 0,
    steps,
    loss: NaN,
    recallAt1: cache.scores.recallAt1,
    separation: cache.scores.separation,
  });
  const tensors = paramTensors(params);
  let epochsThisCall = 0;
  while (st.epoch < o.epochs && !st.stopped) {
    if (options.stopAfterEpochs !== undefined && epochsThisCall >= options.stopAfterEpochs) break;
    const t0 = performance.now();
    const epoch = st.epoch + 1;
    const order = rng.shuffle(split.train.map((_, i) => i));
    let lossSum = 0;
    let tuplesDone = 0;
    for (let s = 0; s < steps; s++) {
      const grads = zeroGradients(params);
      const batch = order.slice(s * o.batchSize, (s + 1) * o.batchSize);
      for (const ti of batch) {
        const tuple = split.train[ti];
        const qDesc = cache.tq.subarray(ti * D, (ti + 1) * D);
        const pIdx = bestPositive(tuple, qDesc, cache.db, D);
        const negs = mineNegatives(tuple, qDesc, cache.db, D, o.hardNegatives, o.negativePool, rng);
        if (negs.length === 0) continue;
        const fq = headForward(params, features.queries[tuple.query]);
        const fpw = headForward(params, features.database[pIdx]);
        const fn = negs.map((n) => headForward(params, features.database[n]));
        const lg = rankingLossWithGradients(fq.output, [fpw.output], fn.map((f) => f.output), o.margin);
        lossSum += lg.loss;
        tuplesDone++;
        if (lg.violations === 0) continue;
        headBackward(params, features.queries[tuple.query], fq, lg.dq, grads);
        headBackward(params, features.database[pIdx], fpw, lg.dp, grads);
        negs.forEach((n, j) => {
          if (lg.hinge[j] > 0) headBackward(params, features.database[n], fn[j], lg.dn[j], grads);
        });
      }
      const gt = gradTensors(grads);
      const scale = 1 / Math.max(1, batch.length);
      for (const g of gt) for (let i = 0; i < g.length; i++) g[i] *= scale;
      optimizer.step(tensors, gt);
      options.onProgress?.({
        phase: "step",
        epoch,
        epochs: o.epochs,
        step: s + 1,
        steps,
        loss: lossSum / Math.max(1, tuplesDone),
        recallAt1: NaN,
        separation: NaN,
      });
    }
    cache = refresh(params);
    const rec: EpochRecord = {
      epoch,
      loss: lossSum / Math.max(1, tuplesDone),
      recallAt1: cache.scores.recallAt1,
      separation: cache.scores.separation,
      seconds: (performance.now() - t0) / 1000,
    };
    st.history.push(rec);
    st.epoch = epoch;
    // improvement: higher R@1, or equal R@1 and higher separation (no validation at all: keep the latest)
    if (betterScores(cache.scores, { recallAt1: st.bestRecallAt1, separation: st.bestSeparation })) {
      st.best = cloneHeadParams(params);
      st.bestRecallAt1 = cache.scores.recallAt1;
      st.bestSeparation = cache.scores.separation;
      st.bestEpoch = epoch;
      st.epochsWithoutImprovement = 0;
    } else {
      st.epochsWithoutImprovement++;
      if (o.patience > 0 && st.epochsWithoutImprovement >= o.patience) st.stopped = true;
    }
    st.optimizer = optimizer.state();
    st.rngState = rng.state();
    if (o.checkpointDir) await saveCheckpoint(o.checkpointDir, st);
    epochsThisCall++;
    options.onProgress?.({
      phase: "epoch",
      epoch,
      epochs: o.epochs,
      step: steps,
      steps,
      loss: rec.loss,
      recallAt1: rec.recallAt1,
      separation: cache.scores.separation,
    });
  }
  return {
    best: st.best,
    last: cloneHeadParams(params),
    initialRecallAt1: st.initialRecallAt1,
    bestRecallAt1: st.bestRecallAt1,
    bestEpoch: st.bestEpoch,
    history: st.history,
    earlyStopped: st.stopped,
    tuples: split.train.length,
    validationQueries: valQueries.length,
    mode: split.mode,
  };
}
