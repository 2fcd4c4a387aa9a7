/**
 * Publishes Waymark events over a rosbridge v2 connection as standard ROS messages (builders and their
 * documentation in `ros_outputs.ts`; the README's "Use with ROS" section has the table):
 *
 * | topic (option)                        | type                                        | when                     |
 * |---------------------------------------|---------------------------------------------|--------------------------|
 * | `/waymark/events` (`eventsTopic`)     | `std_msgs/String`, JSON of every event      | every event              |
 * | `/waymark/pose` (`poseTopic`)         | `geometry_msgs/PoseWithCovarianceStamped`   | estimates with a position, not lost |
 * | `/tf` (`tfTopic`)                     | `tf2_msgs/TFMessage` (`frameId` -> `childFrameId`) | with each pose     |
 * | `/waymark/loops` (`loopsTopic`)       | `std_msgs/String`, JSON `waymark.loop/1`    | each loop closure        |
 * | `/waymark/markers` (`markersTopic`)   | `visualization_msgs/MarkerArray`            | each pose, loop, and every 5 s |
 * | `/diagnostics` (`diagnosticsTopic`)   | `diagnostic_msgs/DiagnosticArray`           | each stats event (1 Hz)  |
 *
 * Estimates on the events topic carry their top 5 hypotheses (`fullEstimates` keeps all). Type names and
 * stamps follow `rosVersion` (`sensor_msgs/msg/...`, `sec/nanosec` for 2). Stamps are the image's exact stamp.
 * Set a topic to `""` to not publish it (the events topic excepted).
 *
 * Topics are advertised on every (re)connection. The sink never blocks: while disconnected, or while the
 * socket holds more than `maxBufferedBytes`, messages are dropped and counted.
 *
 * @example
 * ```ts ignore
 * import { RosbridgeSink } from "./rosbridge_sink.ts";
 * const sink = new RosbridgeSink("rosbridge://127.0.0.1:9090", { rosVersion: 1, frameId: "map" });
 * const sub = sink.attach(pipelineEvents$);
 * ```
 *
 * @module
 */
import { type Observable, Subject, type Subscription } from "rxjs";
import { invalid, requirePositiveInt, requireRange } from "../errors.ts";
import type { LocationEstimate, Position, StatsEvent, WaymarkEvent } from "../types.ts";
import { type BackoffOptions, resolveBackoff } from "./backoff.ts";
import type { SourceEvent } from "./frame_source.ts";
import { ReconnectingSocket } from "./_reconnecting_socket.ts";
import { parseRosbridgeUrl } from "./rosbridge_protocol.ts";
import {
  COMPACT_TOP,
  compactEvent,
  diagnosticArray,
  exactTimeOf,
  loopJson,
  markerArray,
  poseCovariance,
  poseMessage,
  rosTypeNames,
  tfMessage,
} from "./ros_outputs.ts";
import { timeOfSeconds } from "./ros_time.ts";

export { poseCovariance, poseMessage };

/** Options of {@link RosbridgeSink}. */
export interface RosbridgeSinkOptions {
  /** Topic of the JSON events. Default `/waymark/events`. */
  eventsTopic?: string;
  /** Topic of the poses (`""`: none). Default `/waymark/pose`. */
  poseTopic?: string;
  /** Publish poses of metric estimates. Default true. */
  publishPose?: boolean;
  /** Topic of the transforms (`""`: none). Default `/tf`. */
  tfTopic?: string;
  /** Topic of the loop closures' JSON (`""`: none). Default `/waymark/loops`. */
  loopsTopic?: string;
  /** Topic of the RViz markers (`""`: none). Default `/waymark/markers`. */
  markersTopic?: string;
  /** Topic of the health reports (`""`: none). Default `/diagnostics`. */
  diagnosticsTopic?: string;
  /** `header.frame_id` of poses, markers and the parent of the transform. Default `map`. */
  frameId?: string;
  /** Child frame of the transform. Default `camera`. */
  childFrameId?: string;
  /** Estimates on the events topic keep every hypothesis instead of the top 5. Default false. */
  fullEstimates?: boolean;
  /** Map places drawn by the markers (those with positions). Default none. */
  places?: { position?: Position }[];
  /** ROS version of the bridge: type names and stamp fields (`secs/nsecs` or `sec/nanosec`). Default 1. */
  rosVersion?: 1 | 2;
  /** Position standard deviation at confidence 1, in metres (see the covariance). Default 1. */
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
  /** Messages handed to the socket (all topics). */
  published: number;
  /** Poses among them. */
  poses: number;
  /** Messages dropped (disconnected or buffer full). */
  dropped: number;
}

/** Most loop edges the markers keep (the oldest go first). */
const MAX_LOOP_EDGES = 5000;
/** The markers are also republished this often, so that a late RViz sees the places. */
const MARKERS_EVERY_MS = 5000;

/** See module doc. */
export class RosbridgeSink {
  private readonly socket: ReconnectingSocket;
  private readonly events$ = new Subject<SourceEvent>();
  private readonly o: {
    topics: { events: string; pose: string; tf: string; loops: string; markers: string; diagnostics: string };
    frameId: string;
    childFrameId: string;
    rosVersion: 1 | 2;
    positionSigmaM: number;
    maxBufferedBytes: number;
    top: number;
  };
  private readonly types: ReturnType<typeof rosTypeNames>;
  private readonly counters: RosbridgeSinkStats = { published: 0, poses: 0, dropped: 0 };
  private readonly places: Position[];
  private lastEstimate: LocationEstimate | undefined;
  private readonly loopEdges: [Position, Position][] = [];
  private lastStats: StatsEvent | null = null;
  private lastMarkersAt = 0;
  private closed = false;
  private fatal: Error | null = null;

  /** Connect (in the background) to `url` (`rosbridge://host[:port]` or `ws://host:port`). */
  constructor(url: string, options: RosbridgeSinkOptions = {}) {
    const action = "publish to rosbridge";
    const { wsUrl } = parseRosbridgeUrl(url);
    const rosVersion = options.rosVersion ?? 1;
    if (rosVersion !== 1 && rosVersion !== 2) throw invalid(action, "rosVersion", "1 or 2", rosVersion);
    const topic = (name: string, v: unknown, optional = true) => {
      if (optional && v === "") return "";
      if (typeof v !== "string" || !/^\/[A-Za-z0-9_/~]*$/.test(v) || v === "/") {
        throw invalid(
          action,
          name,
          "a topic starting with '/'" + (optional ? " (or empty: not published)" : ""),
          v,
        );
      }
      return v;
    };
    const frame = (name: string, v: unknown) => {
      if (typeof v !== "string" || !/^[A-Za-z0-9_/]+$/.test(v)) {
        throw invalid(action, name, "a frame name", v);
      }
      return v;
    };
    this.o = {
      topics: {
        events: topic("eventsTopic", options.eventsTopic ?? "/waymark/events", false),
        pose: options.publishPose === false ? "" : topic("poseTopic", options.poseTopic ?? "/waymark/pose"),
        tf: topic("tfTopic", options.tfTopic ?? "/tf"),
        loops: topic("loopsTopic", options.loopsTopic ?? "/waymark/loops"),
        markers: topic("markersTopic", options.markersTopic ?? "/waymark/markers"),
        diagnostics: topic("diagnosticsTopic", options.diagnosticsTopic ?? "/diagnostics"),
      },
      frameId: frame("frameId", options.frameId ?? "map"),
      childFrameId: frame("childFrameId", options.childFrameId ?? "camera"),
      rosVersion,
      positionSigmaM: requireRange(action, "positionSigmaM", options.positionSigmaM ?? 1, 1e-6, 1e6),
      maxBufferedBytes: requirePositiveInt(
        action,
        "maxBufferedBytes",
        options.maxBufferedBytes ?? 4 * 1024 * 1024,
      ),
      top: options.fullEstimates ? 0 : COMPACT_TOP,
    };
    this.places = (options.places ?? []).flatMap((p) => (p.position ? [p.position] : []));
    this.types = rosTypeNames(rosVersion);
    const advertised = (): [string, string, string][] => {
      const t = this.o.topics;
      const list: [string, string, string][] = [
        ["waymark-events", t.events, this.types.string],
        ["waymark-pose", t.pose, this.types.pose],
        ["waymark-tf", t.tf, this.types.tf],
        ["waymark-loops", t.loops, this.types.string],
        ["waymark-markers", t.markers, this.types.markers],
        ["waymark-diagnostics", t.diagnostics, this.types.diagnostics],
      ];
      return list.filter(([, topic]) => topic !== "");
    };
    this.socket = new ReconnectingSocket(wsUrl, {
      backoff: resolveBackoff(options.backoff, action),
      name: wsUrl,
      headers: options.headers,
      maxPayload: 16 * 1024 * 1024,
      pingIntervalMs: requireRange(action, "pingIntervalMs", options.pingIntervalMs ?? 5000, 0, 3_600_000),
    }, {
      onOpen: (ws) => {
        for (const [id, topic, type] of advertised()) {
          ws.send(JSON.stringify({ op: "advertise", id, topic, type }));
        }
      },
      onMessage: () => {},
      onConnection: (e) => this.events$.next(e),
      onFatal: (err) => {
        this.fatal = err;
        this.events$.error(err);
      },
    });
    this.advertisedList = advertised;
    this.socket.start();
  }

  private readonly advertisedList: () => [string, string, string][];

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

  /** Publish one event and the standard messages it implies (see the module doc). Never blocks. */
  send(event: WaymarkEvent): void {
    if (this.closed || this.fatal) return;
    const t = this.o.topics;
    this.publish(t.events, { data: JSON.stringify(compactEvent(event, this.o.top)) });
    const v = this.o.rosVersion;
    switch (event.kind) {
      case "estimate": {
        const e = event.estimate;
        this.lastEstimate = e;
        if (e.position && e.status !== "lost") {
          if (t.pose) {
            const msg = poseMessage(e, { ...this.o, frameId: this.o.frameId }, event.hypotheses);
            if (this.publish(t.pose, msg)) this.counters.poses++;
          }
          if (t.tf) this.publish(t.tf, tfMessage(e, this.o));
          this.publishMarkers(e);
        } else if (Date.now() - this.lastMarkersAt > MARKERS_EVERY_MS) {
          this.publishMarkers(e);
        }
        return;
      }
      case "loop": {
        const q = this.lastEstimate?.seq === event.query.seq ? this.lastEstimate.position : undefined;
        if (t.loops) this.publish(t.loops, { data: JSON.stringify(loopJson(event, this.o.frameId, q)) });
        if (q && event.match.position) {
          this.loopEdges.push([q, event.match.position]);
          if (this.loopEdges.length > MAX_LOOP_EDGES) this.loopEdges.shift();
          this.publishMarkers(this.lastEstimate!, exactTimeOf(event.query));
        }
        return;
      }
      case "stats": {
        if (t.diagnostics) {
          const prev = this.lastStats;
          const dt = prev ? event.stamp - prev.stamp : 0;
          const rates = prev && dt > 0
            ? {
              received: (event.received - prev.received) / dt,
              processed: (event.processed - prev.processed) / dt,
            }
            : null;
          this.publish(
            t.diagnostics,
            diagnosticArray(event, { rates, publishDropped: this.counters.dropped }, prev, v),
          );
        }
        this.lastStats = event;
        return;
      }
      default:
        return;
    }
  }

  private publishMarkers(e: LocationEstimate, time = exactTimeOf(e)): void {
    if (!this.o.topics.markers) return;
    this.lastMarkersAt = Date.now();
    const msg = markerArray(
      { places: this.places, estimate: e, loops: this.loopEdges },
      time ?? timeOfSeconds(Date.now() / 1000),
      this.o.frameId,
      this.o.rosVersion,
    );
    this.publish(this.o.topics.markers, msg);
  }

  /** Publish every event of `events$` until the returned subscription is unsubscribed. */
  attach(events$: Observable<WaymarkEvent>): Subscription {
    return events$.subscribe({ next: (e) => this.send(e) });
  }

  private publish(topic: string, msg: unknown): boolean {
    const ws = this.socket.socket;
    if (!ws || ws.bufferedAmount > this.o.maxBufferedBytes) {
      this.counters.dropped++;
      return false;
    }
    ws.send(JSON.stringify({ op: "publish", topic, msg }));
    this.counters.published++;
    return true;
  }

  /** Unadvertise, close the connection, stop reconnecting. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.socket.stop((ws) => {
      for (const [id, topic] of this.advertisedList()) {
        ws.send(JSON.stringify({ op: "unadvertise", id, topic }));
      }
    });
    if (!this.fatal) this.events$.complete();
  }
}
