/**
 * A rosbridge v2 client as a `FrameSource`: subscribes to a `sensor_msgs/CompressedImage` or `sensor_msgs/Image`
 * topic (ROS 1 or ROS 2 type names) with `compression` none, cbor, cbor-raw or png, reassembles fragments,
 * and reconnects (re-subscribing) after a drop with capped exponential backoff.
 *
 * Every malformed message (invalid JSON or CBOR, bad base64, unknown op, wrong encoding, size mismatch, absurd
 * sizes, incomplete fragment sets, an error `status`) is a counted `ErrorEvent` on `events()`; the stream goes on.
 * Each is also counted by cause in `counters.errorsByCause`: `decode` (the frame arrived but its content does
 * not decode), `bridge` (the bridge's side: a status error, a fragment set that never completed, an unknown op,
 * a publish for another topic), `backpressure` (dropped here because asynchronous decodes were queued), and
 * `upstream` (frames missing between two ROS 1 `header.seq` numbers: dropped by the server's queue or the
 * network before they reached us; counted, not reported one by one).
 *
 * Message type: `options.type`, else the URL's `?type=`, else asked from the bridge with the rosapi service
 * `/rosapi/topic_type` on each connection (`discoverType`), else (no rosapi answer within `typeTimeoutMs`, or
 * the topic not known to it) the topic-name rule (`sensor_msgs/CompressedImage` when the topic ends in
 * `compressed`, else `sensor_msgs/Image`), with a warning saying so. A topic whose reported type is not an
 * image is an error event naming both, and no subscription is made.
 *
 * Warnings (the type fallback, no message after subscribing) are `ErrorEvent`s named `RosbridgeWarning`; they
 * are not counted as errors. The idle warning names the topic, the type and what to check, and repeats with
 * backoff (`idleTimeoutMs`, then twice as long each time, at most 60 s apart) until a frame arrives.
 *
 * Frames carry `header.stamp` exactly (`time`, integer seconds and nanoseconds; `stamp` is derived from it) and
 * name the image by topic and exact stamp (`source`: `/camera/image@1700000000.000000042`), which loop events
 * and SLAM map places reference. A message without a stamp gets the arrival time and the source's name.
 *
 * rosbridge 0.11 quirks handled: fragments always use id 0 and a float `total`; the server reports no error for a
 * bad subscription (hence the idle warning); with `fragment_size` set, CBOR messages larger than it are
 * silently dropped by the server, so that combination is refused up front.
 *
 * @example
 * ```ts ignore
 * import { rosbridgeSource } from "./rosbridge_source.ts";
 * const src = rosbridgeSource("rosbridge://127.0.0.1:9090/camera/image/compressed", { compression: "cbor" });
 * src.events().subscribe((e) => console.log(e));
 * const sub = src.frames().subscribe((f) => console.log(f.seq, f.stamp, f.image.kind));
 * ```
 *
 * @module
 */
import { BridgeProtocolError, invalid, requirePositiveInt, requireRange, WaymarkError } from "../errors.ts";
import { type BackoffOptions, resolveBackoff } from "./backoff.ts";
import { type FrameParts, SocketSource } from "./_socket_source.ts";
import { formatTime } from "./ros_time.ts";
import type { WsSocket } from "./_ws.ts";
import type { ErrorCause } from "../types.ts";
import { FragmentAssembler } from "./fragment_assembler.ts";
import {
  type DecodedRosImage,
  decodeRosImageBytes,
  decodeRosImageMessage,
  imageKindOfType,
  type RosImageLimits,
} from "./ros_messages.ts";
import {
  decodePngPayload,
  parseRosbridgeBinary,
  parseRosbridgeCompression,
  parseRosbridgeText,
  parseRosbridgeUrl,
  parseRosTypeName,
  type RosbridgeCompression,
  type RosbridgeMessage,
  type SubscribeOp,
} from "./rosbridge_protocol.ts";

/** Options of {@link rosbridgeSource}. */
export interface RosbridgeSourceOptions {
  /** Topic; required unless the URL carries it (`rosbridge://host:port/topic`). */
  topic?: string;
  /**
   * Message type (ROS 1 `sensor_msgs/CompressedImage` or ROS 2 `sensor_msgs/msg/Image` form; ROS 2 names select
   * CDR for cbor-raw). Default: the URL's `?type=`, else asked from the bridge, else the topic-name rule (see the
   * module doc).
   */
  type?: string;
  /** Ask the bridge for the topic's type (`/rosapi/topic_type`) when none is given. Default true. */
  discoverType?: boolean;
  /** How long to wait for the rosapi answer before the name rule. Default 2000 ms. */
  typeTimeoutMs?: number;
  /** ROS version whose type names the name rule produces (`sensor_msgs/msg/...` for 2). Default 1. */
  rosVersion?: 1 | 2;
  /** `none` (JSON), `cbor`, `cbor-raw` or `png`. Default `none`. */
  compression?: RosbridgeCompression;
  /** Minimum ms between messages, enforced by the server (`throttle_rate`). Default 0. */
  throttleRate?: number;
  /** Server-side queue length (`queue_length`); 1 keeps only the latest. Default 1. */
  queueLength?: number;
  /** Ask the server to fragment messages larger than this (`fragment_size`, bytes). Default unset. */
  fragmentSize?: number;
  /** Subscription id. Default `waymark-<topic>`. */
  id?: string;
  /** Reconnect policy. Default: 250 ms doubling to 10 s, 20% jitter, never give up. */
  backoff?: BackoffOptions;
  /**
   * Ping the server this often and drop (then reconnect) a connection that missed the previous pong: detects
   * half-open connections. 0 disables. Default 5000 ms.
   */
  pingIntervalMs?: number;
  /** Extra HTTP headers of the WebSocket handshake (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Largest accepted WebSocket message in bytes. Default 64 MiB. */
  maxPayload?: number;
  /** Incomplete fragment sets are dropped (and reported) after this long. Default 5000 ms. */
  fragmentTimeoutMs?: number;
  /**
   * Warn when no frame arrives for this long after subscribing (then again with backoff, see the module doc);
   * 0 disables. Default 0 (the CLI sets 5000).
   */
  idleTimeoutMs?: number;
  /** Image size limits. Defaults: 16384 px per side, 256 MiB. */
  limits?: RosImageLimits;
}

/** A warning of a rosbridge source (a type fallback, no message after subscribing); not counted as an error. */
export class RosbridgeWarning extends WaymarkError {}

/** The type the topic-name rule gives: CompressedImage when the topic ends in `compressed`, else Image. */
export function typeFromTopicName(topic: string, rosVersion: 1 | 2 = 1): string {
  const name = /compressed$/.test(topic) ? "CompressedImage" : "Image";
  return rosVersion === 2 ? `sensor_msgs/msg/${name}` : `sensor_msgs/${name}`;
}

const IMAGE_TYPES = "sensor_msgs/CompressedImage or sensor_msgs/Image (ROS 1 or 2 form)";

/** A rosbridge topic as a frame source; see the module doc. */
export class RosbridgeSource extends SocketSource {
  /** The topic subscribed to. */
  readonly topic: string;
  private origin: "given" | "bridge" | "name";
  private currentType: string;
  private readonly subscribe: SubscribeOp;
  private readonly assembler: FragmentAssembler;
  private sweepTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private typeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly idleTimeoutMs: number;
  private idleDelayMs = 0;
  private readonly limits: RosImageLimits;
  private readonly discover: boolean;
  private readonly typeTimeoutMs: number;
  private readonly rosVersion: 1 | 2;
  private typeQuery: string | null = null;
  private typeQueries = 0;
  private lastRosSeq: number | null = null;

  constructor(url: string, options: RosbridgeSourceOptions = {}) {
    const action = "subscribe to rosbridge";
    const parsed = parseRosbridgeUrl(url);
    const topic = options.topic ?? parsed.topic;
    if (!topic || !topic.startsWith("/")) {
      throw invalid(action, "topic", "a topic starting with '/' (in the URL or the options)", topic);
    }
    const fromUrl = parsed.options ?? {};
    const rosVersion = options.rosVersion ?? 1;
    if (rosVersion !== 1 && rosVersion !== 2) throw invalid(action, "rosVersion", "1 or 2", rosVersion);
    const given = options.type ?? fromUrl.type;
    if (given !== undefined) {
      parseRosTypeName(action, given);
      if (!imageKindOfType(given)) throw invalid(action, "type", IMAGE_TYPES, given);
    }
    const compression = parseRosbridgeCompression(
      action,
      options.compression ?? fromUrl.compression ?? "none",
    );
    options = {
      ...options,
      throttleRate: options.throttleRate ?? fromUrl.throttleRate,
      queueLength: options.queueLength ?? fromUrl.queueLength,
      fragmentSize: options.fragmentSize ?? fromUrl.fragmentSize,
    };
    const throttleRate = requireRange(action, "throttleRate", options.throttleRate ?? 0, 0, 3_600_000);
    const queueLength = requirePositiveInt(action, "queueLength", options.queueLength ?? 1);
    if (options.fragmentSize !== undefined) {
      requirePositiveInt(action, "fragmentSize", options.fragmentSize);
      if (compression === "cbor" || compression === "cbor-raw") {
        throw invalid(
          action,
          "fragmentSize",
          `unset with compression ${compression} (rosbridge silently drops CBOR messages larger than fragment_size)`,
          options.fragmentSize,
        );
      }
    }
    const maxPayload = requirePositiveInt(action, "maxPayload", options.maxPayload ?? 64 * 1024 * 1024);
    const idleTimeoutMs = requireRange(action, "idleTimeoutMs", options.idleTimeoutMs ?? 0, 0, 86_400_000);
    const typeTimeoutMs = requireRange(action, "typeTimeoutMs", options.typeTimeoutMs ?? 2000, 1, 600_000);
    super(`${parsed.wsUrl}${topic}`, parsed.wsUrl, {
      backoff: resolveBackoff(options.backoff, action),
      headers: options.headers,
      maxPayload,
      pingIntervalMs: requireRange(action, "pingIntervalMs", options.pingIntervalMs ?? 5000, 0, 3_600_000),
      maxPendingAsync: Math.max(2, queueLength * 2),
    });
    this.topic = topic;
    this.rosVersion = rosVersion;
    this.currentType = given ?? typeFromTopicName(topic, rosVersion);
    this.origin = given !== undefined ? "given" : "name";
    this.discover = given === undefined && (options.discoverType ?? true);
    this.typeTimeoutMs = typeTimeoutMs;
    this.idleTimeoutMs = idleTimeoutMs;
    this.limits = options.limits ?? {};
    this.assembler = new FragmentAssembler({
      timeoutMs: options.fragmentTimeoutMs ?? 5000,
      maxBytes: Math.max(maxPayload, 1024),
    });
    const sub: SubscribeOp = {
      op: "subscribe",
      id: options.id ?? `waymark-${topic}`,
      topic,
      type: this.currentType,
      throttle_rate: throttleRate,
      queue_length: queueLength,
    };
    if (compression !== "none") sub.compression = compression;
    if (options.fragmentSize !== undefined) sub.fragment_size = options.fragmentSize;
    this.subscribe = sub;
  }

  /** The message type subscribed with (given, reported by the bridge, or from the topic name). */
  get type(): string {
    return this.currentType;
  }

  /** Where the type came from: given (option or URL), the bridge (rosapi), or the topic-name rule. */
  get typeOrigin(): "given" | "bridge" | "name" {
    return this.origin;
  }

  protected onOpen(ws: WsSocket): void {
    this.assembler.clear();
    this.lastRosSeq = null;
    this.idleDelayMs = this.idleTimeoutMs;
    if (!this.discover) {
      this.sendSubscribe(ws);
      return;
    }
    // Ask rosapi first; subscribe when it answers or when it does not within typeTimeoutMs.
    const id = `waymark-type-${++this.typeQueries}`;
    this.typeQuery = id;
    ws.send(
      JSON.stringify({ op: "call_service", id, service: "/rosapi/topic_type", args: { topic: this.topic } }),
    );
    if (this.typeTimer) clearTimeout(this.typeTimer);
    this.typeTimer = setTimeout(() => {
      this.typeTimer = null;
      if (this.typeQuery !== id) return;
      this.typeQuery = null;
      this.useNameRule(
        `no answer from the rosapi service /rosapi/topic_type within ${this.typeTimeoutMs} ms (is rosapi running? ` +
          `'roslaunch rosbridge_server rosbridge_websocket.launch' starts it)`,
      );
    }, this.typeTimeoutMs);
  }

  private useNameRule(why: string): void {
    this.currentType = typeFromTopicName(this.topic, this.rosVersion);
    this.origin = "name";
    this.reportWarning(
      new RosbridgeWarning(
        `Type of ${this.topic} unknown: ${why}; subscribing as ${this.currentType} by the topic-name rule ` +
          `(give the type with --ros-type or ?type= to be sure)`,
      ),
    );
    const ws = this.openSocket;
    if (ws) this.sendSubscribe(ws);
  }

  private handleTypeAnswer(m: RosbridgeMessage): void {
    if (m.id !== this.typeQuery) return; // a late answer to an earlier connection's question
    this.typeQuery = null;
    if (this.typeTimer) clearTimeout(this.typeTimer);
    this.typeTimer = null;
    const values = m.values as Record<string, unknown> | undefined;
    const reported = values && typeof values === "object" ? values.type : undefined;
    if (m.result === false || typeof reported !== "string") {
      this.useNameRule(`the rosapi call failed (${JSON.stringify(m.values ?? null).slice(0, 120)})`);
      return;
    }
    if (reported === "") {
      this.useNameRule("rosapi does not know the topic (nothing publishes it yet, or the name is misspelt)");
      return;
    }
    if (!imageKindOfType(reported)) {
      this.reportError(
        new BridgeProtocolError(
          `Cannot subscribe to ${this.topic} as the bridge reports its type is ${reported}, not ${IMAGE_TYPES}`,
        ),
        "bridge",
      );
      return;
    }
    this.currentType = reported;
    this.origin = "bridge";
    const ws = this.openSocket;
    if (ws) this.sendSubscribe(ws);
  }

  private sendSubscribe(ws: WsSocket): void {
    this.subscribe.type = this.currentType;
    ws.send(JSON.stringify(this.subscribe));
    this.armIdle();
  }

  protected override beforeClose(ws: WsSocket): void {
    ws.send(JSON.stringify({ op: "unsubscribe", id: this.subscribe.id, topic: this.topic }));
  }

  protected override onStop(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.typeTimer) clearTimeout(this.typeTimer);
    this.sweepTimer = this.idleTimer = this.typeTimer = null;
    this.typeQuery = null;
    this.assembler.clear();
  }

  protected onMessage(data: Uint8Array | string): void | Promise<void> {
    if (typeof data === "string") return this.handleText(data, 0);
    return this.handle(parseRosbridgeBinary(data), 0);
  }

  /** Errors thrown by the bridge-side checks are `bridge`; everything else that fails a message is `decode`. */
  protected override causeOf(err: unknown): ErrorCause {
    return err instanceof Error && BRIDGE_ERRORS.has(err) ? "bridge" : "decode";
  }

  private handleText(text: string, depth: number): void | Promise<void> {
    return this.handle(parseRosbridgeText(text), depth);
  }

  private handle(m: RosbridgeMessage, depth: number): void | Promise<void> {
    if (depth > 3) throw bridgeError(`Cannot handle op '${m.op}' nested ${depth} levels deep`);
    switch (m.op) {
      case "publish":
        return this.handlePublish(m);
      case "fragment": {
        const r = this.assembler.add(m);
        for (const e of r.errors) this.reportError(e, "bridge");
        this.armSweep();
        if (r.complete !== undefined) return this.handleText(r.complete, depth + 1);
        return;
      }
      case "png": {
        let data: unknown = m.data;
        if (m.num !== undefined || m.total !== undefined) {
          // A fragmented PNG (protocol spec: id, num, total on the png op): reassemble its base64 first.
          const r = this.assembler.add({ ...m, id: `png:${String(m.id ?? "")}` });
          for (const e of r.errors) this.reportError(e, "bridge");
          this.armSweep();
          if (r.complete === undefined) return;
          data = r.complete;
        }
        return decodePngPayload(data).then((text) => this.handleText(text, depth + 1));
      }
      case "service_response":
        if (
          m.service === "/rosapi/topic_type" || (typeof m.id === "string" && m.id.startsWith("waymark-type-"))
        ) {
          this.handleTypeAnswer(m);
        }
        return;
      case "status": {
        if (m.level === "error" || m.level === "warning") {
          throw bridgeError(`rosbridge status ${m.level}: ${String(m.msg)}`);
        }
        return;
      }
      default:
        throw bridgeError(
          `Cannot handle a rosbridge message as op '${m.op}' is unknown (expected publish, fragment, png, ` +
            `service_response or status)`,
        );
    }
  }

  private handlePublish(m: RosbridgeMessage): void {
    if (m.topic !== this.topic) {
      throw bridgeError(
        `Cannot use a publish on topic ${JSON.stringify(m.topic)} as this source subscribed to ${this.topic}`,
      );
    }
    const msg = m.msg as Record<string, unknown> | undefined;
    let decoded: DecodedRosImage;
    if (msg && typeof msg === "object" && msg.bytes instanceof Uint8Array) {
      decoded = decodeRosImageBytes(msg.bytes, this.type, this.limits);
    } else {
      decoded = decodeRosImageMessage(msg, this.type, this.limits);
    }
    this.countSeqGap(decoded.rosSeq);
    this.idleDelayMs = this.idleTimeoutMs;
    this.armIdle();
    const parts: FrameParts = { stamp: decoded.stamp, frameId: decoded.frameId, image: decoded.image };
    if (decoded.time) {
      parts.time = decoded.time;
      // The image itself, for loop events and map places: topic and exact stamp.
      parts.source = `${this.topic}@${formatTime(decoded.time)}`;
    }
    this.emitFrame(parts);
  }

  /**
   * ROS 1 `header.seq` rises by one per published message: a jump of n > 1 means n - 1 messages were lost
   * before they reached us (the server's queue, throttling, the network). A seq that does not rise (a restarted
   * publisher, a second publisher) restarts the count. The frames that arrived but failed to decode are
   * counted separately (as `decode`), so they are not gaps.
   */
  private countSeqGap(rosSeq: number | undefined): void {
    if (rosSeq === undefined) return;
    const last = this.lastRosSeq;
    this.lastRosSeq = rosSeq;
    if (last === null || rosSeq <= last) return;
    const lost = rosSeq - last - 1;
    if (lost > 0) this.countLostUpstream(lost);
  }

  private armSweep(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    const deadline = this.assembler.nextDeadline();
    if (deadline === null) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      for (const e of this.assembler.sweep()) this.reportError(e, "bridge");
      this.armSweep();
    }, Math.max(0, deadline - Date.now()) + 1);
  }

  /** (Re)arm the no-message warning: after idleDelayMs, then doubling up to 60 s while nothing arrives. */
  private armIdle(): void {
    if (this.idleTimeoutMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const delay = this.idleDelayMs;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.openSocket) return;
      const how = this.origin === "given"
        ? "as given"
        : this.origin === "bridge"
        ? "as reported by rosapi"
        : "by the topic-name rule";
      const waited = delay < 10_000 ? `${delay} ms` : `${Math.round(delay / 1000)} s`;
      this.reportWarning(
        new RosbridgeWarning(
          `No message on ${this.topic} for ${waited} after subscribing as ${this.type} ` +
            `(${how}): rosbridge reports no errors, so check that something publishes the topic ` +
            `('rostopic hz ${this.topic}' / 'ros2 topic hz ${this.topic}'), the topic name's spelling, and that its ` +
            `type is ${this.type} ('rostopic type ${this.topic}'; set it with --ros-type or ?type=)`,
        ),
      );
      this.idleDelayMs = Math.min(60_000, Math.max(this.idleDelayMs, delay) * 2);
      this.armIdle();
    }, delay);
  }
}

const BRIDGE_ERRORS = new WeakSet<Error>();

/** A BridgeProtocolError counted with cause `bridge` (the bridge's side of the exchange went wrong). */
function bridgeError(message: string): BridgeProtocolError {
  const e = new BridgeProtocolError(message);
  BRIDGE_ERRORS.add(e);
  return e;
}

/**
 * Create a rosbridge frame source.
 * @param url `rosbridge://host[:port]/topic` (port 9090 by default) or `ws://host:port` with `options.topic`.
 * @throws ValidationError for invalid options.
 */
export function rosbridgeSource(url: string, options: RosbridgeSourceOptions = {}): RosbridgeSource {
  return new RosbridgeSource(url, options);
}
