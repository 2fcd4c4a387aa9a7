/**
 * `@waymark/waymark/eval`: Datasets (retrieval and loop layouts, CSV, image folders) and the retrieval,
 * stream and loop evaluations (`src/dataset`, `src/eval`).
 *
 * @module
 */
export { readRetrievalDataset, type ReadRetrievalDatasetOptions } from "../dataset/retrieval_dataset.ts";
export { readLoopDataset, type ReadLoopDatasetOptions } from "../dataset/loop_dataset.ts";
export { type ImageSource, readImageFolder, readImageSource } from "../dataset/image_folder.ts";
export { parseCsv, readCsvFile } from "../dataset/csv.ts";
export { type LatencySummary, recallAtN, summarizeLatency } from "./metrics.ts";
export type { DatasetImage, LoopDataset, RetrievalDataset } from "../dataset/types.ts";
export {
  evaluateRetrieval,
  type EvaluateRetrievalOptions,
  type RerankFn,
  type RetrievalReport,
  retrievalReportJson,
  type RetrievalVerifier,
} from "./retrieval.ts";
export { evaluateStream, type EvaluateStreamOptions, type StreamReport } from "./stream.ts";
export { evaluateLoops, type EvaluateLoopsOptions, type LoopsReport } from "./loops.ts";
export {
  runSuite,
  SUITE_ROWS,
  type SuiteOptions,
  type SuiteReport,
  suiteReportJson,
  suiteTable,
} from "./suite.ts";
export { ClassicVladModel, fitClassicModel, type FitClassicOptions } from "./classic.ts";
export { type Degradation, degrade, parseDegradations } from "./degrade.ts";
export { deriveLoopDataset, deriveRetrievalDataset } from "./derive.ts";
export { type AliasedLoopOptions, writeAliasedLoopDataset } from "./aliased_loops.ts";
