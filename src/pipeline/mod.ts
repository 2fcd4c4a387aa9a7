/**
 * `@waymark/waymark/pipeline`: The live pipeline's individual stages (decode, keyframe, describe, search,
 * filter, loop) and the place filter, calibration, loop detector and sequence-matching kernels they run
 * (`src/pipeline`, `src/localize`); `localize()` itself is in the root module.
 *
 * @module
 */
export { decodeStage, type DecodeStageOptions } from "./decode_stage.ts";
export { keyframeStage, type KeyframeStageOptions } from "./keyframe_stage.ts";
export { describeStage, type DescribeStageOptions } from "./describe_stage.ts";
export { FULL_SCAN_DEFAULT, type PlaceMap, searchStage, type SearchStageOptions } from "./search_stage.ts";
export { filterStage, type FilterStageOptions } from "./filter_stage.ts";
export { loopStage, type LoopStageOptions } from "./loop_stage.ts";
export { PlaceFilter, type PlaceFilterOptions, type PlaceObservation } from "../localize/place_filter.ts";
export { LoopDetector, type LoopDetectorOptions } from "../localize/loop_detector.ts";
export {
  DEFAULT_MIN_INLIERS,
  gateLoop,
  isUnverifiable,
  type LoopGateDecision,
  type LoopGateOptions,
} from "../localize/loop_gate.ts";
export { SequenceMatcher, type SequenceMatcherOptions } from "../localize/seq_match.ts";
export {
  type CalibrationMap,
  expectedCalibrationError,
  fitIsotonicCalibration,
} from "../localize/calibration.ts";
