/**
 * `@waymark/waymark/train`: Training of the NetVLAD head: k-means, ranking loss, tuples and hard negatives,
 * the trainer, checkpoints (`src/train`).
 *
 * @module
 */
export { kmeans, type KMeansOptions, type KMeansResult } from "./kmeans.ts";
export { rankingLoss, rankingLossWithGradients } from "./ranking_loss.ts";
export {
  train,
  trainBackboneHead,
  type TrainBackboneOptions,
  type TrainModelProgress,
  type TrainModelResult,
  type TrainOptions,
  writeValidationSplit,
} from "./train_model.ts";
export {
  trainHead,
  type TrainHeadOptions,
  type TrainHeadResult,
  type TrainProgress,
  type ValidationScores,
  validationScores,
} from "./trainer.ts";
export { bestPositive, buildTuples, mineNegatives, type TupleOptions, type TupleSplit } from "./tuples.ts";
export { loadCheckpoint, type TrainingState } from "./checkpoint.ts";
