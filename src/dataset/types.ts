/**
 * Types of the place datasets read from disk (`../shared/docs/dataset_format.md`).
 * @module
 */
import type { Position } from "../types.ts";

/** One image of a dataset. */
export interface DatasetImage {
  /** 0-based row index within its list (database, queries, sequence or folder). */
  index: number;
  /** Path as written in the CSV (relative to the dataset folder), or the file name for image folders. */
  image: string;
  /** Absolute path of the image file. */
  path: string;
  /** Seconds since any epoch; evenly spaced (index * 1 s) when the CSV has no `stamp` column. */
  stamp: number;
  /** Metric position in a local frame: `x,y` as given, or `lat,lon` projected to local east/north metres. */
  position?: { x: number; y: number };
}

/** How the ground truth of a retrieval dataset was obtained. */
export type GroundTruthSource = "matches" | "positions";

/** A retrieval / localization dataset: a map traversal, a query traversal and the true pairs. */
export interface RetrievalDataset {
  /** Absolute dataset folder. */
  dir: string;
  database: DatasetImage[];
  queries: DatasetImage[];
  /**
   * For each query (same order as `queries`), the ascending database indices that are true matches.
   * Empty when the query's place is not in the map.
   */
  truth: number[][];
  /** `matches` when `matches.csv` was used, `positions` when truth came from positions within `radius`. */
  groundTruth: GroundTruthSource;
  /** Radius in metres used with positions (recorded even when matches.csv was used). */
  radius: number;
}

/** A loop-closure dataset: one traversal that revisits places. */
export interface LoopDataset {
  /** Absolute dataset folder. */
  dir: string;
  frames: DatasetImage[];
  /** For each frame, the ascending indices of earlier frames that show the same place (empty: no loop). */
  loops: number[][];
}

/** Re-exported for convenience: the position type of `src/types.ts`. */
export type { Position };
