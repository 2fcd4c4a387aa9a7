/**
 * Publishes Waymark events over a rosbridge v2 connection:
 * - every event as JSON text in a `std_msgs/String` on `eventsTopic` (default `/waymark/events`);
 * - each estimate that has a metric position and is not `lost` as a `geometry_msgs/PoseWithCovarianceStamped`
 *   on `poseTopic` (default `/waymark/pose`), in `frameId` (default `map`).
 *
 * Covariance from confidence (row-major 6x6 over x, y, z, rot x, rot y, rot z): with `c` the calibrated
 * confidence clamped to [0.05, 1] and `s = positionSigmaM / c` (metres), the x and y variances are `s^2`, z is `s^2`
 * when the estimate has a z and 1e6 otherwise, and the rotations, which place recognition does not estimate,
 * are 1e6 (ROS's "unknown" by a large variance). Off-diagonal terms are 0. Orientation is the identity.
 *
 * Topics are advertised on every (re)connection. The sink never blocks: while disconnected, or while the
 * socket holds more than `maxBufferedBytes`, messages are dropped and counted.
 *
 * @example
 * ```ts ignore
 * import { RosbridgeSink } from "./rosbridge_sink.ts";
 * const sink = new RosbridgeSink("rosbridge://127.0.0.1:9090", { rosVersion: 1 });
 * const sub = sink.attach(pipelineEvents$);
 * ```
 *
 * @module
 */
import { type Observable, Subject, type Subscription } from "rxjs";
import { invalid, requirePositiveInt, requireRange } from "../errors.ts";
import type { LocationEstimate, WaymarkEvent } from "../types.ts";
import { type BackoffOptions, resolveBackoff } from "./backoff.ts";
import type { SourceEvent } from "./frame_source.ts";
import { ReconnectingSocket } from "./_reconnecting_socket.ts";
import { parseRosbridgeUrl } from "./rosbridge_protocol.ts";

/** Options of {@link RosbridgeSink}. */
export interface RosbridgeSinkOptions {
  /** Topic of the JSON events. Default `/waymark/events`. */
  eventsTopic?: string;
  /** Topic of the poses. Default `/waymark/pose`. */
  poseTopic?: string;
  /** Publish poses of metric estimates. Default true. */
  publishPose?: boolean;
  /** `header.frame_id` of the poses. Default `map`. */
  frameId?: string;
  /** ROS version of the bridge: type names and stamp fields (`secs/nsecs` or `sec/nanosec`). Default 1. */
  rosVersion?: 1 | 2;
  /** Position standard deviation at confidence 1, in metres. Default 1. */
  positionSigmaM?: number;
  /** Drop messages while the socket buffers more than this. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** Reconnect policy. Default: 250 ms doubling to 10 s, 20% jitter, never give up. */
  backoff?: BackoffOptions;
  /** Extra handshake headers. */
  headers?: Record<string, string>;
  /** Ping period to detect half-open connections (0 disables). Default 5000 ms. */
  pingIntervalMs?: number;
}

/** Counters of a {@link RosbridgeSink}. */
export interface RosbridgeSinkStats {
  /** Messages (events and poses) handed to the socket. */
  published: number;
  /** Poses among them. */
  poses: number;
  /** Messages dropped (disconnected or buffer full). */
  dropped: number;
}

/** The 36-entry covariance documented in the module doc. */
export function poseCovariance(confidence: number, positionSigmaM: number, hasZ: boolean): number[] {
  const c = Math.min(1, Math.max(0.05, Number.isFinite(confidence) ? confidence : 0));
  const v = (positionSigmaM / c) ** 2;
  const cov = new Array(36).fill(0);
  cov[0] = v;
  cov[7] = v;
  cov[14] = hasZ ? v : 1e6;
  cov[21] = cov[28] = cov[35] = 1e6;
  return cov;
}

/** The `msg` of a PoseWithCovarianceStamped for an estimate with a position. */
export function poseMessage(
  e: LocationEstimate,
  options: { frameId: string; rosVersion: 1 | 2; positionSigmaM: number; seq?: number },
): Record<string, unknown> {
  const p = e.position!;
  const secs = Math.floor(e.stamp);
  const nsecs = Math.min(999_999_999, Math.round((e.stamp - secs) * 1e9));
  const header = options.rosVersion === 2
    ? { stamp: { sec: secs, nanosec: nsecs }, frame_id: options.frameId }
    : { seq: options.seq ?? e.seq, stamp: { secs, nsecs }, frame_id: options.frameId };
  return {
    header,
    pose: {
      pose: { position: { x: p.x, y: p.y, z: p.z ?? 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
      covariance: poseCovariance(e.confidence, options.positionSigmaM, p.z !== undefined),
    },
  };
}

/** See module doc. */
export class RosbridgeSink {
  private readonly socket: ReconnectingSocket;
  private readonly events$ = new Subject<SourceEvent>();
  private readonly o: Required<Omit<RosbridgeSinkOptions, "backoff" | "headers" | "pingIntervalMs">>;
  private readonly types: { string: string; pose: string };
  private readonly counters: RosbridgeSinkStats = { published: 0, poses: 0, dropped: 0 };
  private closed = false;
  private fatal: Error | null = null;

  /** Connect (in the background) to `url` (`rosbridge://host[:port]` or `ws://host:port`). */
  constructor(url: string, options: RosbridgeSinkOptions = {}) {
    const action = "publish to rosbridge";
    const { wsUrl } = parseRosbridgeUrl(url);
    const rosVersion = options.rosVersion ?? 1;
    if (rosVersion !== 1 && rosVersion !== 2) throw invalid(action, "rosVersion", "1 or 2", rosVersion);
    const topic = (name: string, v: unknown) => {
      if (typeof v !== "string" || !v.startsWith("/")) {
        throw invalid(action, name, "a topic starting with '/'", v);
      }
      return v;
    };
    this.o = {
      eventsTopic: topic("eventsTopic", options.eventsTopic ?? "/waymark/events"),
      poseTopic: topic("poseTopic", options.poseTopic ?? "/waymark/pose"),
      publishPose: options.publishPose ?? true,
      frameId: options.frameId ?? "map",
      rosVersion,
      positionSigmaM: requireRange(action, "positionSigmaM", options.positionSigmaM ?? 1, 1e-6, 1e6),
      maxBufferedBytes: requirePositiveInt(
        action,
        "maxBufferedBytes",
        options.maxBufferedBytes ?? 4 * 1024 * 1024,
      ),
    };
    this.types = rosVersion === 2
      ? { string: "std_msgs/msg/String", pose: "geometry_msgs/msg/PoseWithCovarianceStamped" }
      : { string: "std_msgs/String", pose: "geometry_msgs/PoseWithCovarianceStamped" };
    this.socket = new ReconnectingSocket(wsUrl, {
      backoff: resolveBackoff(options.backoff, action),
      name: wsUrl,
      headers: options.headers,
      maxPayload: 16 * 1024 * 1024,
      pingIntervalMs: requireRange(action, "pingIntervalMs", options.pingIntervalMs ?? 5000, 0, 3_600_000),
    }, {
      onOpen: (ws) => {
        ws.send(
          JSON.stringify({
            op: "advertise",
            id: "waymark-events",
            topic: this.o.eventsTopic,
            type: this.types.string,
          }),
        );
        if (this.o.publishPose) {
          ws.send(
            JSON.stringify({
              op: "advertise",
              id: "waymark-pose",
              topic: this.o.poseTopic,
              type: this.types.pose,
            }),
          );
        }
      },
      onMessage: () => {},
      onConnection: (e) => this.events$.next(e),
      onFatal: (err) => {
        this.fatal = err;
        this.events$.error(err);
      },
    });
    this.socket.start();
  }

  /** Connection events (hot); errors when reconnecting is given up. */
  events(): Observable<SourceEvent> {
    return this.events$.asObservable();
  }

  /** Counters so far. */
  get stats(): RosbridgeSinkStats {
    return { ...this.counters };
  }

  /** True while a connection is open. */
  get connected(): boolean {
    return this.socket.socket !== null;
  }

  /** Publish one event (and its pose when it is a metric estimate). Never blocks. */
  send(event: WaymarkEvent): void {
    if (this.closed || this.fatal) return;
    this.publish(this.o.eventsTopic, { data: JSON.stringify(event) }, false);
    if (
      this.o.publishPose && event.kind === "estimate" && event.estimate.position &&
      event.estimate.status !== "lost"
    ) {
      const msg = poseMessage(event.estimate, this.o);
      this.publish(this.o.poseTopic, msg, true);
    }
  }

  /** Publish every event of `events$` until the returned subscription is unsubscribed. */
  attach(events$: Observable<WaymarkEvent>): Subscription {
    return events$.subscribe({ next: (e) => this.send(e) });
  }

  private publish(topic: string, msg: unknown, pose: boolean): void {
    const ws = this.socket.socket;
    if (!ws || ws.bufferedAmount > this.o.maxBufferedBytes) {
      this.counters.dropped++;
      return;
    }
    ws.send(JSON.stringify({ op: "publish", topic, msg }));
    this.counters.published++;
    if (pose) this.counters.poses++;
  }

  /** Unadvertise, close the connection, stop reconnecting. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.socket.stop((ws) => {
      ws.send(JSON.stringify({ op: "unadvertise", id: "waymark-events", topic: this.o.eventsTopic }));
      if (this.o.publishPose) {
        ws.send(JSON.stringify({ op: "unadvertise", id: "waymark-pose", topic: this.o.poseTopic }));
      }
    });
    if (!this.fatal) this.events$.complete();
  }
}
