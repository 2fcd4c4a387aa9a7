/**
 * Waymark: live visual localization for robots and vehicles.
 *
 * Camera frames stream in (WebSocket, rosbridge v2, dataset replay, or the built-in simulated camera); an RxJS
 * pipeline computes a NetVLAD global descriptor per frame with ONNX Runtime, asks an HNSW index for place
 * hypotheses, verifies keyframes with DELF-style local features (attention-selected keypoints, mutual nearest
 * neighbours, RANSAC) off the fast path, and turns hypotheses into smoothed location estimates with a
 * calibrated confidence and loop-closure events.
 *
 * ```ts ignore
 * import { loadMap, localize, openFrameSource } from "./mod.ts";
 *
 * const map = await loadMap("maps/office");
 * const source = await openFrameSource("ws://127.0.0.1:9000/camera");
 * const { estimates$, loops$ } = localize(source.frames(), { map, model: map.model });
 * estimates$.subscribe((e) => console.log(e.estimate.status, e.estimate.placeId, e.estimate.confidence));
 * loops$.subscribe((l) => console.log("loop", l.stamps, "inliers", l.inliers));
 * ```
 *
 * Every export below is named explicitly; anything not exported here is internal.
 *
 * @module
 */

// ---------------------------------------------------------------------------------------------------------------
// Payloads and events (src/types.ts) and errors (src/errors.ts)
export type {
  CameraFrame,
  ConnectionEvent,
  DecodedFrame,
  DenseLocalFeatures,
  DescriptorModel,
  DescriptorOutput,
  EncodedImage,
  ErrorEvent,
  EstimateEvent,
  GlobalDescriptor,
  ImageTransform,
  LocalFeatures,
  LocalizationStatus,
  LocationEstimate,
  LoopClosureEvent,
  ModelInfo,
  PixelImage,
  PlaceHypothesis,
  PlaceMeta,
  Position,
  ProviderChoice,
  RawEncoding,
  RawImage,
  StatsEvent,
  VerificationEvent,
  VerificationResult,
  WaymarkEvent,
} from "./src/types.ts";
export {
  BridgeProtocolError,
  CborError,
  DatasetError,
  FrameFormatError,
  ImageDecodeError,
  IndexError,
  InferenceError,
  MapFormatError,
  ModelLoadError,
  TrainingError,
  UnknownNameError,
  ValidationError,
  WaymarkError,
} from "./src/errors.ts";

// ---------------------------------------------------------------------------------------------------------------
// The live pipeline (src/pipeline) and its kernels (src/localize)
export {
  createLocalizer,
  DEFAULT_KEYFRAMES,
  type FrameTiming,
  localize,
  type Localizer,
  type LocalizerOptions,
  type LocalizerStreams,
  SESSION_DENSE_LIMIT,
  SESSION_HNSW,
} from "./src/pipeline/localize_pipeline.ts";
export { type BackpressurePolicy, parseBackpressurePolicy } from "./src/pipeline/backpressure.ts";
export type { VerificationCandidate, VerificationQuery, Verifier } from "./src/pipeline/verification_hook.ts";
export {
  loadPipelineVerifier,
  type PipelineVerifierOptions,
  useMapFeatures,
  type VerifierMapRef,
} from "./src/pipeline/verifier_loader.ts";
export {
  createGeometricVerifier,
  type GeometricVerifier,
  type GeometricVerifierOptions,
  type MapFeatureSource,
} from "./src/pipeline/geometric_verifier.ts";
export { withSourceEvents } from "./src/pipeline/with_source.ts";
export { decodeStage, type DecodeStageOptions } from "./src/pipeline/decode_stage.ts";
export { keyframeStage, type KeyframeStageOptions } from "./src/pipeline/keyframe_stage.ts";
export { describeStage, type DescribeStageOptions } from "./src/pipeline/describe_stage.ts";
export {
  FULL_SCAN_DEFAULT,
  type PlaceMap,
  searchStage,
  type SearchStageOptions,
} from "./src/pipeline/search_stage.ts";
export { filterStage, type FilterStageOptions } from "./src/pipeline/filter_stage.ts";
export { loopStage, type LoopStageOptions } from "./src/pipeline/loop_stage.ts";
export { PlaceFilter, type PlaceFilterOptions, type PlaceObservation } from "./src/localize/place_filter.ts";
export { LoopDetector, type LoopDetectorOptions } from "./src/localize/loop_detector.ts";
export {
  DEFAULT_MIN_INLIERS,
  gateLoop,
  isUnverifiable,
  type LoopGateDecision,
  type LoopGateOptions,
} from "./src/localize/loop_gate.ts";
export { SequenceMatcher, type SequenceMatcherOptions } from "./src/localize/seq_match.ts";
export {
  type CalibrationMap,
  expectedCalibrationError,
  fitIsotonicCalibration,
} from "./src/localize/calibration.ts";

// ---------------------------------------------------------------------------------------------------------------
// Frame sources and event sinks (src/io)
export {
  connectionEvent,
  errorEvent,
  type FrameSource,
  type SourceCounters,
  type SourceEvent,
} from "./src/io/frame_source.ts";
export { type DatasetList, openFrameSource, type OpenFrameSourceOptions } from "./src/io/open_source.ts";
export { WebSocketSource, websocketSource, type WebSocketSourceOptions } from "./src/io/websocket_source.ts";
export { RosbridgeSource, rosbridgeSource, type RosbridgeSourceOptions } from "./src/io/rosbridge_source.ts";
export {
  type ReplayEntry,
  ReplaySource,
  replaySource,
  type ReplaySourceOptions,
} from "./src/io/replay_source.ts";
export {
  createSimulatorSource,
  simulatorSource,
  type SimulatorSourceOptions,
} from "./src/io/simulator_source.ts";
export {
  parsePublishUrl,
  WebSocketSink,
  type WebSocketSinkOptions,
  type WebSocketSinkStats,
} from "./src/io/websocket_sink.ts";
export {
  poseCovariance,
  RosbridgeSink,
  type RosbridgeSinkOptions,
  type RosbridgeSinkStats,
} from "./src/io/rosbridge_sink.ts";
export { JsonlSink, type JsonlSinkOptions, type JsonlSinkStats } from "./src/io/jsonl_sink.ts";
export { decodeRawFrame, encodeRawFrame, type RawFrame, type RawFrameInput } from "./src/io/raw_frame.ts";
export { type BackoffOptions } from "./src/io/backoff.ts";
export { parseRosbridgeUrl, type RosbridgeCompression } from "./src/io/rosbridge_protocol.ts";

// ---------------------------------------------------------------------------------------------------------------
// Simulated camera (the embedded default input)
export { createSimulator, type Simulator, type SimulatorOptions } from "./src/io/simulator/simulator.ts";
export { type ExportOptions, exportSimDataset, type ExportSummary } from "./src/io/simulator/export.ts";
export {
  CONDITION_NAMES,
  type ConditionName,
  type TraversalSetup,
  traversalSetup,
} from "./src/io/simulator/conditions.ts";
export { loopPairs, retrievalMatches, samePlace } from "./src/io/simulator/ground_truth.ts";

// ---------------------------------------------------------------------------------------------------------------
// Models: ONNX runtime adapter, the default NetVLAD model, bring-your-own manifests, registry (src/model)
export { createSession, type RuntimeSession, type SessionOptions } from "./src/model/runtime.ts";
export {
  loadModel,
  type LoadModelOptions,
  OnnxDescriptorModel,
  readModelBundle,
  saveModelBundle,
} from "./src/model/onnx_model.ts";
export {
  type ModelBundle,
  type ModelManifest,
  readManifest,
  validateManifest,
} from "./src/model/manifest.ts";
export {
  buildDefaultModelGraph,
  buildFrontEndGraph,
  type DefaultModelParams,
  fitDefaultModel,
  type FitDefaultOptions,
  type FittedDefaultModel,
  type FrontEnd,
  frontEndDescriptors,
} from "./src/model/default_model.ts";
export { loadGenericModel, readGenericModelBundle } from "./src/model/generic_model.ts";
export {
  addNetVladLayer,
  initParams,
  netvladForward,
  type NetVladParams,
  type NetVladVariant,
} from "./src/model/netvlad.ts";
export { GraphBuilder } from "./src/model/graph_builder.ts";
export { applyPca, fitPca, type PcaParams } from "./src/model/pca.ts";
export {
  DEFAULT_PRESET,
  getPreset,
  listPresets,
  MODEL_PRESETS,
  type ModelPreset,
} from "./src/model/registry.ts";

// ---------------------------------------------------------------------------------------------------------------
// Images (src/image)
export { decodeImage, type DecodeOptions } from "./src/image/decode.ts";
export { prepareImage } from "./src/image/prepare.ts";

// ---------------------------------------------------------------------------------------------------------------
// Vector indexes (src/index)
export type { SearchHit, SearchOptions, VectorIndex } from "./src/index/vector_index.ts";
export { HNSW_DEFAULTS, HnswIndex, type HnswIndexOptions } from "./src/index/hnsw_index.ts";
export { BruteForceIndex, type BruteForceIndexOptions } from "./src/index/brute_force_index.ts";
export { jsSimilarityScanner, scanRows, type SimilarityScanner } from "./src/index/similarity_scan.ts";
export { createSimilarityScanner, type SimilarityScannerOptions } from "./src/model/similarity_scanner.ts";

// ---------------------------------------------------------------------------------------------------------------
// Maps: build, on-disk format, journal, load (src/map)
export {
  buildMap,
  type BuildMapOptions,
  type BuildMapResult,
  decodeImageFile,
  type LocalFeaturesBuildFacts,
} from "./src/map/build_map.ts";
export { type LoadedMap, loadMap, type LoadMapOptions, readMapManifest } from "./src/map/map_loader.ts";
export {
  type LocalFeatureExtraction,
  MAP_FORMAT,
  MAP_VERSION,
  type MapLocalFeaturesInfo,
  type MapManifest,
} from "./src/map/format.ts";
export { MapLocalFeatures, type MapLocalFeaturesOptions } from "./src/map/local_features.ts";
export { DEFAULT_LOCAL_FEATURE_EXTRACTION, LocalFeatureCollector } from "./src/map/local_features_writer.ts";
export { type FsyncPolicy, type JournalOptions, KeyframeJournal } from "./src/map/journal.ts";
export { compactMap, type CompactMapOptions } from "./src/map/compact.ts";

// ---------------------------------------------------------------------------------------------------------------
// Datasets and evaluation (src/dataset, src/eval)
export { readRetrievalDataset, type ReadRetrievalDatasetOptions } from "./src/dataset/retrieval_dataset.ts";
export { readLoopDataset, type ReadLoopDatasetOptions } from "./src/dataset/loop_dataset.ts";
export { type ImageSource, readImageFolder, readImageSource } from "./src/dataset/image_folder.ts";
export { parseCsv, readCsvFile } from "./src/dataset/csv.ts";
export { type LatencySummary, recallAtN, summarizeLatency } from "./src/eval/metrics.ts";
export type { DatasetImage, LoopDataset, RetrievalDataset } from "./src/dataset/types.ts";
export {
  evaluateRetrieval,
  type EvaluateRetrievalOptions,
  type RerankFn,
  type RetrievalReport,
  retrievalReportJson,
  type RetrievalVerifier,
} from "./src/eval/retrieval.ts";
export { evaluateStream, type EvaluateStreamOptions, type StreamReport } from "./src/eval/stream.ts";
export { evaluateLoops, type EvaluateLoopsOptions, type LoopsReport } from "./src/eval/loops.ts";

// ---------------------------------------------------------------------------------------------------------------
// DELF-style verification: local features, matching, RANSAC (src/verify)
export {
  DEFAULT_LOCAL_FEATURE_OPTIONS,
  type DenseExtractor,
  extractLocalFeatures,
  type LocalFeatureOptions,
  modelExtractor,
  siftExtractor,
  type SiftTuning,
} from "./src/verify/local_features.ts";
export {
  checkDelfContract,
  DELF_FORMAT,
  type DelfContract,
  type DelfModel,
  loadDelfModel,
} from "./src/verify/delf_contract.ts";
export { matchDescriptors, type MatchOptions, mutualMatches } from "./src/verify/match.ts";
export { plausibleTransform, ransac, type RansacOptions, type RansacResult } from "./src/verify/ransac.ts";
export {
  type PairVerification,
  rerankByVerification,
  verificationScore,
  Verifier as LocalFeatureVerifier,
  type VerifierOptions,
  type VerifyOptions,
  verifyPair,
} from "./src/verify/verifier.ts";
export { decodeLocalFeatures, encodeLocalFeatures } from "./src/verify/features_codec.ts";

// ---------------------------------------------------------------------------------------------------------------
// Training: k-means, init_params, ranking loss (src/train)
export { kmeans, type KMeansOptions, type KMeansResult } from "./src/train/kmeans.ts";
export { rankingLoss, rankingLossWithGradients } from "./src/train/ranking_loss.ts";
export {
  train,
  trainBackboneHead,
  type TrainBackboneOptions,
  type TrainModelProgress,
  type TrainModelResult,
  type TrainOptions,
  writeValidationSplit,
} from "./src/train/train_model.ts";
export {
  trainHead,
  type TrainHeadOptions,
  type TrainHeadResult,
  type TrainProgress,
  type ValidationScores,
  validationScores,
} from "./src/train/trainer.ts";
export {
  bestPositive,
  buildTuples,
  mineNegatives,
  type TupleOptions,
  type TupleSplit,
} from "./src/train/tuples.ts";
export { loadCheckpoint, type TrainingState } from "./src/train/checkpoint.ts";
