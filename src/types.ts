/**
 * Typed payloads shared across Waymark: frames in, descriptors and hypotheses in the middle, estimates and
 * events out. Events are discriminated unions on `kind`.
 *
 * Conventions:
 * - `stamp` is seconds (float) since any epoch; `seq` is a per-source, monotonically increasing frame number.
 * - Positions are metric, in a local frame (`x`, `y` metres). Datasets given in WGS84 are converted to a local
 *   east/north frame on load (see `src/dataset/`).
 * - Image pixels are 8-bit unless the raw encoding says otherwise.
 *
 * @module
 */

/**
 * An exact time: whole seconds and nanoseconds (0..999,999,999), as ROS stamps carry it (`secs/nsecs` in ROS 1,
 * `sec/nanosec` in ROS 2). A float in seconds cannot hold every nanosecond of a present-day stamp, so outputs
 * that must equal an input stamp use this; `stamp` (float seconds) is derived from it.
 */
export interface ExactTime {
  sec: number;
  nanosec: number;
}

/** A metric position in a local frame (metres). */
export interface Position {
  x: number;
  y: number;
  z?: number;
}

/** A compressed image as it arrived (JPEG, PNG, …). */
export interface EncodedImage {
  kind: "encoded";
  /** Container format as declared by the sender, e.g. `"jpeg"`, `"png"`; `"auto"` sniffs the bytes. */
  format: string;
  data: Uint8Array;
}

/** ROS `sensor_msgs/Image` pixel encodings that Waymark accepts. */
export type RawEncoding = "rgb8" | "bgr8" | "rgba8" | "bgra8" | "mono8" | "mono16";

/** Raw pixels exactly as published (no conversion): `step` bytes per row. */
export interface RawImage {
  kind: "raw";
  width: number;
  height: number;
  encoding: RawEncoding;
  /** Bytes per row (>= width * bytesPerPixel). */
  step: number;
  /** For mono16: true when samples are big-endian. */
  bigEndian: boolean;
  data: Uint8Array;
}

/** One camera frame entering the pipeline. */
export interface CameraFrame {
  seq: number;
  stamp: number;
  /** The exact stamp when the source has one (a ROS `header.stamp`); `stamp` is derived from it. */
  time?: ExactTime;
  /** Camera / ROS frame_id. */
  frameId: string;
  image: EncodedImage | RawImage;
  /** Ground-truth or GNSS/odometry position when the source knows it (datasets, simulator). */
  position?: Position;
  /** Where the frame came from (file path, topic, URL), for messages and evaluation. */
  source?: string;
}

/** Decoded 8-bit pixels, interleaved, row-major, tightly packed. */
export interface PixelImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** A frame after the decode stage. */
export interface DecodedFrame {
  frame: CameraFrame;
  pixels: PixelImage;
}

/** Which ONNX Runtime execution provider to use. `auto` tries CUDA then falls back to CPU (logged). */
export type ProviderChoice = "auto" | "cuda" | "cpu";

/** Static facts about a loaded descriptor model. */
export interface ModelInfo {
  /** Registry or manifest name, e.g. `"waymark-dsift-netvlad"`. */
  name: string;
  /** Content hash identifying the exact weights; maps record it and refuse other models. */
  id: string;
  /** Global descriptor length D. */
  descriptorDim: number;
  /** Network input size (the frame is resized to this). */
  inputWidth: number;
  inputHeight: number;
  inputChannels: 1 | 3;
  /** Execution provider actually in use. */
  provider: "cpu" | "cuda";
  /** Dense local descriptors available (second output), for DELF-style verification. */
  localDim?: number;
}

/**
 * Dense local descriptors on a regular grid, as produced by the model's front end.
 * Grid cell (gx, gy) has its receptive-field centre at image pixel
 * (offset + gx * stride, offset + gy * stride) * scale, in the coordinates of the model's input image.
 */
export interface DenseLocalFeatures {
  gridWidth: number;
  gridHeight: number;
  dim: number;
  stride: number;
  offset: number;
  /** gridHeight * gridWidth * dim, row-major, descriptor-contiguous (HWC). */
  descriptors: Float32Array;
  /** Optional per-location attention score (gridHeight * gridWidth). */
  attention?: Float32Array;
  /** Size of the image these coordinates refer to. */
  imageWidth: number;
  imageHeight: number;
}

/** Result of running a descriptor model on one image. */
export interface DescriptorOutput {
  /** L2-normalised global descriptor, length ModelInfo.descriptorDim. */
  global: Float32Array;
  local?: DenseLocalFeatures;
  /**
   * How much of the image the descriptor rests on, in [0, 1]: the mean weight of the local descriptors (the
   * default model's noise floor weighs each by its signal over the image's own noise level). Models without a
   * `support` output leave it undefined.
   */
  support?: number;
}

/** A global image descriptor model (default NetVLAD or bring-your-own ONNX). */
export interface DescriptorModel {
  readonly info: ModelInfo;
  /** Describe one decoded image (any size: the model resizes to its input). */
  describe(image: PixelImage, options?: { local?: boolean }): Promise<DescriptorOutput>;
  /** Describe several images in one batch. */
  describeBatch(images: PixelImage[], options?: { local?: boolean }): Promise<DescriptorOutput[]>;
  /** Release the ONNX session. */
  close(): Promise<void>;
}

/** A global descriptor attached to its frame. */
export interface GlobalDescriptor {
  seq: number;
  stamp: number;
  vector: Float32Array;
  /** ModelInfo.id of the model that computed it. */
  modelId: string;
}

/** Sparse local features of one image after keypoint selection and PCA (DELF). */
export interface LocalFeatures {
  /** Number of keypoints. */
  count: number;
  /** Descriptor length after PCA. */
  dim: number;
  /** x,y pairs in image pixels (count * 2). */
  keypoints: Float32Array;
  /** Scale (pyramid factor) per keypoint. */
  scales: Float32Array;
  /** Attention score per keypoint. */
  attention: Float32Array;
  /** count * dim, L2-normalised rows. */
  descriptors: Float32Array;
  imageWidth: number;
  imageHeight: number;
}

/** Metadata of one place (keyframe) in a map. */
export interface PlaceMeta {
  placeId: number;
  /** Image path (relative to the dataset) or source description. */
  image: string;
  stamp?: number;
  position?: Position;
}

/** One retrieval candidate for a query frame. */
export interface PlaceHypothesis {
  placeId: number;
  /** Cosine similarity (inner product of L2-normalised descriptors). */
  similarity: number;
  rank: number;
  position?: Position;
  /** Inlier count when the candidate was geometrically verified. */
  inliers?: number;
}

/** Localization status of an estimate. */
export type LocalizationStatus = "localized" | "uncertain" | "lost";

/** A smoothed location estimate. `placeId` is null when lost (unknown place). */
export interface LocationEstimate {
  stamp: number;
  /** The frame's exact stamp, when its source had one. */
  time?: ExactTime;
  seq: number;
  placeId: number | null;
  position?: Position;
  /** Calibrated probability that placeId is correct. */
  confidence: number;
  status: LocalizationStatus;
  /**
   * Set when the frame held nothing to localize on (status `lost`, confidence 0): `too-small` or `uniform` (see
   * `src/pipeline/frame_checks.ts`).
   */
  skipped?: string;
}

/** A 2D transform (row-major 3x3) from query image to match image pixels. */
export interface ImageTransform {
  model: "affine" | "homography";
  matrix: number[];
}

/** Result of verifying one (query, candidate) pair geometrically. */
export interface VerificationResult {
  ok: boolean;
  inliers: number;
  /** Tentative (mutual-NN) matches before RANSAC. */
  matches: number;
  score: number;
  transform?: ImageTransform;
  /** Why verification could not be done (blank image, too few keypoints…), when it could not. */
  reason?: string;
}

// ---------------------------------------------------------------- events

/** A smoothed estimate for one processed frame. */
export interface EstimateEvent {
  kind: "estimate";
  estimate: LocationEstimate;
  /** Raw top-k hypotheses that fed the filter. */
  hypotheses: PlaceHypothesis[];
  latencyMs: number;
}

/** A loop closure for a SLAM back end: frame `query` shows the same place as earlier place `match`. */
export interface LoopClosureEvent {
  kind: "loop";
  query: { seq: number; stamp: number; time?: ExactTime; placeId?: number; image?: string };
  match: { placeId: number; stamp?: number; time?: ExactTime; image?: string; position?: Position };
  /** [query stamp, match stamp]. */
  stamps: [number, number];
  /** Descriptor similarity of the pair. */
  score: number;
  confidence: number;
  inliers?: number;
  transform?: ImageTransform;
}

/** Frame counters, emitted every second by the pipeline. */
export interface StatsEvent {
  kind: "stats";
  stamp: number;
  received: number;
  processed: number;
  dropped: number;
  /** Frames skipped for lack of content (`LocationEstimate.skipped`), among `processed`. */
  skipped?: number;
  /** Error events emitted so far: the sum of `errorsByCause`. */
  errors: number;
  /**
   * Error events emitted so far by cause (`ErrorEvent.cause`; an error without one counts as `"other"`). The
   * pipeline always sets it; `withSourceEvents` adds the source's rejections, so that on the merged stream each
   * count equals the error events of that cause before this stats event.
   */
  errorsByCause?: Record<string, number>;
  /** Frames the source knows were published but never reached it (ROS 1 `header.seq` gaps); see `withSourceEvents`. */
  lostUpstream?: number;
  provider?: string;
  latencyMs?: { p50: number; p90: number; p99: number };
}

/**
 * Why an `ErrorEvent` was emitted (its `cause`; `StatsEvent.errorsByCause` counts by it):
 * - `source`: a message or file the frame source rejected (malformed, oversize, unsupported encoding);
 * - `stamp`: a frame stamp outside the sane range (`checkStamp` in `src/pipeline/frame_checks.ts`);
 * - `decode`: frame bytes that could not be decoded to pixels;
 * - `keyframe`, `describe`, `search`, `filter`, `loop`: that pipeline stage failed on the frame (e.g. the model);
 * - `verification`: geometric verification of a keyframe failed;
 * - `other`: an error event that names no cause.
 * The rosbridge source adds `bridge` (the bridge's side failed: a status error, an incomplete fragment set, an
 * unknown op), `backpressure` (a message dropped because decodes were queued) and uses `decode` for a message
 * whose content does not decode; `warning` marks an event that rejected nothing (stats do not count it).
 * The set is open: a source or sink may add its own causes (documented where they are emitted); consumers
 * should treat an unknown cause like `other`.
 */
export type ErrorCause =
  | "source"
  | "stamp"
  | "decode"
  | "keyframe"
  | "describe"
  | "search"
  | "filter"
  | "loop"
  | "verification"
  | "other"
  // deno-lint-ignore ban-types
  | (string & {});

/** A non-fatal error: a bad frame or message. The stream continues. */
export interface ErrorEvent {
  kind: "error";
  stamp: number;
  /** Error class name, e.g. `"ImageDecodeError"`. */
  error: string;
  /** What kind of failure this is, for counting (see {@link ErrorCause}); absent counts as `"other"`. */
  cause?: ErrorCause;
  message: string;
  seq?: number;
  source?: string;
}

/** Connection state of a source. */
export interface ConnectionEvent {
  kind: "connection";
  stamp: number;
  source: string;
  state: "connecting" | "open" | "closed" | "reconnecting";
  attempt?: number;
  delayMs?: number;
}

/** Asynchronous verification outcome for a keyframe's candidates (off the fast path). */
export interface VerificationEvent {
  kind: "verification";
  seq: number;
  stamp: number;
  results: { placeId: number; result: VerificationResult }[];
}

/** Every event Waymark emits downstream. */
export type WaymarkEvent =
  | EstimateEvent
  | LoopClosureEvent
  | StatsEvent
  | ErrorEvent
  | ConnectionEvent
  | VerificationEvent;
