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
 * This root holds what the README's "Library" section needs: the payload and event types, the errors, the live
 * pipeline (`localize`, `createLocalizer`; without a map it is the SLAM mode) with its verifier, frame sources
 * (`openFrameSource`) and `loadMap`. The rest of the public API is in subpath modules, each with its own
 * `mod.ts` (`deno.json` "exports"): `./map` (build, format, journal, compaction, vector indexes), `./io`
 * (sources, sinks, simulator), `./model` (runtime, default model, manifests, images), `./verify`, `./eval`
 * (datasets and evaluations), `./train` and `./pipeline` (the individual stages and the filter and loop
 * kernels). Every export is named explicitly; anything not exported is internal.
 *
 * @module
 */

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
export { type DatasetList, openFrameSource, type OpenFrameSourceOptions } from "./src/io/open_source.ts";
export { type LoadedMap, loadMap, type LoadMapOptions, readMapManifest } from "./src/map/map_loader.ts";
