/**
 * The standard ROS messages Waymark publishes (pure builders; `rosbridge_sink.ts` sends them). Every stamp is
 * the image's exact `header.stamp` when the frame had one (`time`), in the ROS version's shape (`secs/nsecs` or
 * `sec/nanosec`); only events from float-stamped sources fall back to the float.
 *
 * - Pose, `geometry_msgs/PoseWithCovarianceStamped`: the estimate's place position in `frame_id` (default
 *   `map`). Orientation: the identity, since maps hold no headings; the rotation variances say so (1e6).
 *   Covariance (row-major 6x6 over x, y, z, rot x, rot y, rot z), from the posterior's spread over places: with
 *   `c` the calibrated confidence clamped to [0.05, 1], the estimate's place has weight `c` and the other
 *   hypotheses that have positions share `1 - c` in proportion to their similarity; the x/y(/z) block is the
 *   weighted scatter of their positions about the estimate plus `(positionSigmaM / c)^2` on the diagonal (the
 *   place's own extent). z without a z position, and the rotations, are 1e6 (unknown).
 * - TF, `tf2_msgs/TFMessage` on `/tf`: `frame_id` -> `childFrameId` (default `camera`), same translation and
 *   rotation as the pose.
 * - Loop closures, JSON in `std_msgs/String` ({@link loopJson}, schema `waymark.loop/1`), and a
 *   `visualization_msgs/MarkerArray` ({@link markerArray}).
 * - Health, `diagnostic_msgs/DiagnosticArray` on `/diagnostics` ({@link diagnosticArray}).
 * - Estimates on the events topic in a compact form: the top 5 hypotheses ({@link compactEvent}).
 *
 * @module
 */
import type {
  EstimateEvent,
  ExactTime,
  LocationEstimate,
  LoopClosureEvent,
  PlaceHypothesis,
  Position,
  StatsEvent,
  WaymarkEvent,
} from "../types.ts";
import { rosStamp, secondsOf, timeOfSeconds } from "./ros_time.ts";

/** ROS 1 or 2. */
export type RosVersion = 1 | 2;

/** Type names per ROS version. */
export function rosTypeNames(v: RosVersion): {
  string: string;
  pose: string;
  tf: string;
  markers: string;
  diagnostics: string;
} {
  const t = (pkg: string, name: string) => (v === 2 ? `${pkg}/msg/${name}` : `${pkg}/${name}`);
  return {
    string: t("std_msgs", "String"),
    pose: t("geometry_msgs", "PoseWithCovarianceStamped"),
    tf: t("tf2_msgs", "TFMessage"),
    markers: t("visualization_msgs", "MarkerArray"),
    diagnostics: t("diagnostic_msgs", "DiagnosticArray"),
  };
}

/** The exact time of an estimate or loop query (its image's), else the nearest to its float stamp. */
export function exactTimeOf(x: { stamp: number; time?: ExactTime }): ExactTime {
  return x.time ?? timeOfSeconds(x.stamp);
}

/** A `std_msgs/Header` in the version's shape (ROS 1 has `seq`). */
export function rosHeader(t: ExactTime, frameId: string, v: RosVersion, seq = 0): Record<string, unknown> {
  return v === 2
    ? { stamp: rosStamp(t, 2), frame_id: frameId }
    : { seq, stamp: rosStamp(t, 1), frame_id: frameId };
}

const UNKNOWN = 1e6;

/**
 * The 36-entry covariance documented in the module doc. Without `hypotheses` (or with none positioned but the
 * estimate's place) it is diagonal: `(positionSigmaM / c)^2`.
 */
export function poseCovariance(
  confidence: number,
  positionSigmaM: number,
  hasZ: boolean,
  spread?: { at: Position; placeId: number | null; hypotheses: PlaceHypothesis[] },
): number[] {
  const c = Math.min(1, Math.max(0.05, Number.isFinite(confidence) ? confidence : 0));
  const base = (positionSigmaM / c) ** 2;
  const s = [[0, 0, 0], [0, 0, 0], [0, 0, 0]];
  if (spread) {
    const others = spread.hypotheses.filter((h) => h.position && h.placeId !== spread.placeId);
    const total = others.reduce((a, h) => a + Math.max(0, h.similarity), 0);
    for (const h of others) {
      const w = total > 0 ? (1 - c) * Math.max(0, h.similarity) / total : (1 - c) / others.length;
      const d = [
        h.position!.x - spread.at.x,
        h.position!.y - spread.at.y,
        (h.position!.z ?? 0) - (spread.at.z ?? 0),
      ];
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) s[i][j] += w * d[i] * d[j];
    }
  }
  const cov = new Array(36).fill(0);
  const dims = hasZ ? 3 : 2;
  for (let i = 0; i < dims; i++) {
    for (let j = 0; j < dims; j++) cov[i * 6 + j] = s[i][j] + (i === j ? base : 0);
  }
  if (!hasZ) cov[14] = UNKNOWN;
  cov[21] = cov[28] = cov[35] = UNKNOWN;
  return cov;
}

/** Options shared by the pose and TF builders. */
export interface PoseOptions {
  frameId: string;
  rosVersion: RosVersion;
  positionSigmaM: number;
  seq?: number;
}

/** The `msg` of a PoseWithCovarianceStamped for an estimate with a position. */
export function poseMessage(
  e: LocationEstimate,
  options: PoseOptions,
  hypotheses: PlaceHypothesis[] = [],
): Record<string, unknown> {
  const p = e.position!;
  return {
    header: rosHeader(exactTimeOf(e), options.frameId, options.rosVersion, options.seq ?? e.seq),
    pose: {
      pose: { position: { x: p.x, y: p.y, z: p.z ?? 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
      covariance: poseCovariance(e.confidence, options.positionSigmaM, p.z !== undefined, {
        at: p,
        placeId: e.placeId,
        hypotheses,
      }),
    },
  };
}

/** The `msg` of a TFMessage: `frameId` -> `childFrameId` at the estimate's position. */
export function tfMessage(
  e: LocationEstimate,
  options: { frameId: string; childFrameId: string; rosVersion: RosVersion },
): Record<string, unknown> {
  const p = e.position!;
  return {
    transforms: [{
      header: rosHeader(exactTimeOf(e), options.frameId, options.rosVersion, e.seq),
      child_frame_id: options.childFrameId,
      transform: { translation: { x: p.x, y: p.y, z: p.z ?? 0 }, rotation: { x: 0, y: 0, z: 0, w: 1 } },
    }],
  };
}

/** An exact time in JSON: `{sec, nanosec}` plus the float seconds as a convenience. */
function jsonTime(t: ExactTime): { sec: number; nanosec: number; seconds: number } {
  return { sec: t.sec, nanosec: t.nanosec, seconds: secondsOf(t) };
}

/**
 * A loop closure as the JSON a pose-graph back end reads (schema `waymark.loop/1`):
 * ```
 * { "schema": "waymark.loop/1",
 *   "query": { "seq", "stamp": {sec, nanosec, seconds}, "place_id"?, "image"?, "position"? },
 *   "match": { "place_id", "stamp"?: {sec, nanosec, seconds}, "image"?, "position"? },
 *   "confidence", "score", "inliers"?,
 *   "image_transform"?: { "model": "affine" | "homography", "matrix": [9 numbers, row-major, query -> match px] },
 *   "relative_position"?: { x, y, z }   // match minus query, metres, when both positions are known
 *   "frame_id" }
 * ```
 * Place recognition gives no metric rotation: a back end takes the relative position (when present) with the
 * inliers as its confidence, or adds its own scan/feature alignment between the two stamped images.
 * @param queryPosition the query frame's estimated position, when known (the latest estimate's).
 */
export function loopJson(
  e: LoopClosureEvent,
  frameId: string,
  queryPosition?: Position,
): Record<string, unknown> {
  const query: Record<string, unknown> = { seq: e.query.seq, stamp: jsonTime(exactTimeOf(e.query)) };
  if (e.query.placeId !== undefined) query.place_id = e.query.placeId;
  if (e.query.image !== undefined) query.image = e.query.image;
  if (queryPosition) query.position = queryPosition;
  const match: Record<string, unknown> = { place_id: e.match.placeId };
  if (e.match.time) match.stamp = jsonTime(e.match.time);
  else if (e.match.stamp !== undefined && Number.isFinite(e.match.stamp)) {
    match.stamp = jsonTime(timeOfSeconds(e.match.stamp));
  }
  if (e.match.image !== undefined) match.image = e.match.image;
  if (e.match.position) match.position = e.match.position;
  const out: Record<string, unknown> = {
    schema: "waymark.loop/1",
    query,
    match,
    confidence: e.confidence,
    score: e.score,
    frame_id: frameId,
  };
  if (e.inliers !== undefined) out.inliers = e.inliers;
  if (e.transform) out.image_transform = e.transform;
  if (queryPosition && e.match.position) {
    out.relative_position = {
      x: e.match.position.x - queryPosition.x,
      y: e.match.position.y - queryPosition.y,
      z: (e.match.position.z ?? 0) - (queryPosition.z ?? 0),
    };
  }
  return out;
}

/** What the marker array draws. */
export interface MarkerState {
  /** Map places with positions (drawn as grey points). */
  places: Position[];
  /** The current estimate (a sphere coloured by status), if any. */
  estimate?: LocationEstimate;
  /** Loop edges so far (query position -> match position). */
  loops: [Position, Position][];
}

const point = (p: Position) => ({ x: p.x, y: p.y, z: p.z ?? 0 });

/**
 * A `visualization_msgs/MarkerArray` in namespace `waymark`: id 0 the map's places (POINTS, grey), id 1 the
 * current estimate (SPHERE: green localized, yellow uncertain; deleted when lost or absent), id 2 the loop edges
 * (LINE_LIST, magenta).
 */
export function markerArray(
  state: MarkerState,
  t: ExactTime,
  frameId: string,
  v: RosVersion,
): Record<string, unknown> {
  const header = rosHeader(t, frameId, v);
  const pose = { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } };
  const base = (id: number, type: number, action: number) => ({
    header,
    ns: "waymark",
    id,
    type,
    action,
    pose,
    scale: { x: 0.3, y: 0.3, z: 0.3 },
    color: { r: 0.6, g: 0.6, b: 0.6, a: 1 },
    lifetime: v === 2 ? { sec: 0, nanosec: 0 } : { secs: 0, nsecs: 0 },
    frame_locked: false,
    points: [] as unknown[],
    colors: [],
    text: "",
    mesh_resource: "",
    mesh_use_embedded_materials: false,
  });
  const POINTS = 8, SPHERE = 2, LINE_LIST = 5, ADD = 0, DELETE = 2;
  const places = { ...base(0, POINTS, ADD), points: state.places.map(point) };
  const e = state.estimate;
  const current = e && e.position && e.status !== "lost"
    ? {
      ...base(1, SPHERE, ADD),
      pose: { ...pose, position: point(e.position) },
      scale: { x: 1, y: 1, z: 1 },
      color: e.status === "localized"
        ? { r: 0.1, g: 0.9, b: 0.1, a: 0.9 }
        : { r: 0.95, g: 0.8, b: 0.1, a: 0.9 },
    }
    : base(1, SPHERE, DELETE);
  const loops = {
    ...base(2, LINE_LIST, ADD),
    scale: { x: 0.1, y: 0, z: 0 },
    color: { r: 0.9, g: 0.1, b: 0.9, a: 1 },
    points: state.loops.flatMap(([a, b]) => [point(a), point(b)]),
  };
  return { markers: [places, current, loops] };
}

/** Health inputs besides the latest stats. */
export interface HealthState {
  /** Frames a second received and processed since the previous stats (null before the second one). */
  rates: { received: number; processed: number } | null;
  /** Messages the sink itself dropped (disconnected or its buffer full). */
  publishDropped: number;
}

/**
 * A `diagnostic_msgs/DiagnosticArray` with one status `waymark: localization`: level OK, WARN (frames dropped or
 * rejected since the last report, or none processed) or ERROR (nothing received while rates are known), and
 * key/values: rates, drops by cause, frames lost upstream, latency percentiles, provider.
 */
export function diagnosticArray(
  s: StatsEvent,
  health: HealthState,
  previous: StatsEvent | null,
  v: RosVersion,
): Record<string, unknown> {
  const t = timeOfSeconds(s.stamp);
  const values: { key: string; value: string }[] = [
    { key: "received", value: String(s.received) },
    { key: "processed", value: String(s.processed) },
    { key: "dropped (backpressure)", value: String(s.dropped) },
    { key: "errors", value: String(s.errors) },
  ];
  for (const [cause, n] of Object.entries(s.errorsByCause ?? {})) {
    values.push({ key: `errors: ${cause}`, value: String(n) });
  }
  if (s.lostUpstream !== undefined) values.push({ key: "lost upstream", value: String(s.lostUpstream) });
  values.push({ key: "publish dropped", value: String(health.publishDropped) });
  if (health.rates) {
    values.push({ key: "received rate (Hz)", value: health.rates.received.toFixed(2) });
    values.push({ key: "processed rate (Hz)", value: health.rates.processed.toFixed(2) });
  }
  if (s.latencyMs) {
    values.push({ key: "latency p50 (ms)", value: s.latencyMs.p50.toFixed(1) });
    values.push({ key: "latency p90 (ms)", value: s.latencyMs.p90.toFixed(1) });
    values.push({ key: "latency p99 (ms)", value: s.latencyMs.p99.toFixed(1) });
  }
  if (s.provider) values.push({ key: "provider", value: s.provider });
  const newLoss = previous
    ? s.dropped - previous.dropped + s.errors - previous.errors + (s.lostUpstream ?? 0) -
      (previous.lostUpstream ?? 0)
    : s.dropped + s.errors + (s.lostUpstream ?? 0);
  let level = 0, message = "OK";
  if (health.rates && health.rates.received === 0) [level, message] = [2, "no frames received"];
  else if (newLoss > 0) [level, message] = [1, `${newLoss} frames dropped or rejected since the last report`];
  else if (health.rates && health.rates.processed === 0) [level, message] = [1, "no frames processed"];
  // DiagnosticStatus.level is a byte: sent as a number (0 OK, 1 WARN, 2 ERROR).
  return {
    header: rosHeader(t, "", v),
    status: [{ level, name: "waymark: localization", message, hardware_id: "waymark", values }],
  };
}

/** Hypotheses kept in a compact estimate. */
export const COMPACT_TOP = 5;

/** An event as sent on the events topic: estimates keep their top `top` hypotheses (all when `top` is 0). */
export function compactEvent(e: WaymarkEvent, top = COMPACT_TOP): WaymarkEvent {
  if (e.kind !== "estimate" || top === 0 || e.hypotheses.length <= top) return e;
  const out: EstimateEvent = { ...e, hypotheses: e.hypotheses.slice(0, top) };
  return out;
}
