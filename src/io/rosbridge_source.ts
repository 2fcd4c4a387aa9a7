/**
 * A rosbridge v2 client as a `FrameSource`: subscribes to a `sensor_msgs/CompressedImage` or `sensor_msgs/Image`
 * topic (ROS 1 or ROS 2 type names) with `compression` none, cbor, cbor-raw or png, reassembles fragments,
 * and reconnects (re-subscribing) after a drop with capped exponential backoff.
 *
 * Every malformed message (invalid JSON or CBOR, bad base64, unknown op, wrong encoding, size mismatch, absurd
 * sizes, incomplete fragment sets, an error `status`) is a counted `ErrorEvent` on `events()`; the stream goes on.
 *
 * rosbridge 0.11 quirks handled: fragments always use id 0 and a float `total`; the server reports no error for a
 * bad subscription (use `idleTimeoutMs` to be told); with `fragment_size` set, CBOR messages larger than it are
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
import { BridgeProtocolError, invalid, requirePositiveInt, requireRange } from "../errors.ts";
import { type BackoffOptions, resolveBackoff } from "./backoff.ts";
import { SocketSource } from "./_socket_source.ts";
import type { WsSocket } from "./_ws.ts";
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
  parseRosbridgeText,
  parseRosbridgeUrl,
  type RosbridgeCompression,
  type RosbridgeMessage,
  type SubscribeOp,
} from "./rosbridge_protocol.ts";

/** Options of {@link rosbridgeSource}. */
export interface RosbridgeSourceOptions {
  /** Topic; required unless the URL carries it (`rosbridge://host:port/topic`). */
  topic?: string;
  /**
   * Message type. Default: `sensor_msgs/CompressedImage` when the topic ends in `compressed`, else
   * `sensor_msgs/Image`. ROS 2 forms (`sensor_msgs/msg/Image`) are accepted (and select CDR for cbor-raw).
   */
  type?: string;
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
  /** Report an error when no frame arrives for this long while connected; 0 disables. Default 0. */
  idleTimeoutMs?: number;
  /** Image size limits. Defaults: 16384 px per side, 256 MiB. */
  limits?: RosImageLimits;
}

/** A rosbridge topic as a frame source; see the module doc. */
export class RosbridgeSource extends SocketSource {
  /** The topic subscribed to. */
  readonly topic: string;
  /** The message type subscribed to. */
  readonly type: string;
  private readonly subscribe: SubscribeOp;
  private readonly assembler: FragmentAssembler;
  private sweepTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly idleTimeoutMs: number;
  private readonly limits: RosImageLimits;

  constructor(url: string, options: RosbridgeSourceOptions = {}) {
    const action = "subscribe to rosbridge";
    const parsed = parseRosbridgeUrl(url);
    const topic = options.topic ?? parsed.topic;
    if (!topic || !topic.startsWith("/")) {
      throw invalid(action, "topic", "a topic starting with '/' (in the URL or the options)", topic);
    }
    const type = options.type ??
      (/compressed$/.test(topic) ? "sensor_msgs/CompressedImage" : "sensor_msgs/Image");
    if (!imageKindOfType(type)) {
      throw invalid(
        action,
        "type",
        "sensor_msgs/CompressedImage or sensor_msgs/Image (ROS 1 or 2 form)",
        type,
      );
    }
    const compression = options.compression ?? "none";
    if (!["none", "cbor", "cbor-raw", "png"].includes(compression)) {
      throw invalid(action, "compression", "one of none, cbor, cbor-raw, png", compression);
    }
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
    super(`${parsed.wsUrl}${topic}`, parsed.wsUrl, {
      backoff: resolveBackoff(options.backoff, action),
      headers: options.headers,
      maxPayload,
      pingIntervalMs: requireRange(action, "pingIntervalMs", options.pingIntervalMs ?? 5000, 0, 3_600_000),
      maxPendingAsync: Math.max(2, queueLength * 2),
    });
    this.topic = topic;
    this.type = type;
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
      type,
      throttle_rate: throttleRate,
      queue_length: queueLength,
    };
    if (compression !== "none") sub.compression = compression;
    if (options.fragmentSize !== undefined) sub.fragment_size = options.fragmentSize;
    this.subscribe = sub;
  }

  protected onOpen(ws: WsSocket): void {
    this.assembler.clear();
    ws.send(JSON.stringify(this.subscribe));
    this.armIdle();
  }

  protected override beforeClose(ws: WsSocket): void {
    ws.send(JSON.stringify({ op: "unsubscribe", id: this.subscribe.id, topic: this.topic }));
  }

  protected override onStop(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.sweepTimer = this.idleTimer = null;
    this.assembler.clear();
  }

  protected onMessage(data: Uint8Array | string): void | Promise<void> {
    if (typeof data === "string") return this.handleText(data, 0);
    return this.handle(parseRosbridgeBinary(data), 0);
  }

  private handleText(text: string, depth: number): void | Promise<void> {
    return this.handle(parseRosbridgeText(text), depth);
  }

  private handle(m: RosbridgeMessage, depth: number): void | Promise<void> {
    if (depth > 3) throw new BridgeProtocolError(`Cannot handle op '${m.op}' nested ${depth} levels deep`);
    switch (m.op) {
      case "publish":
        return this.handlePublish(m);
      case "fragment": {
        const r = this.assembler.add(m);
        for (const e of r.errors) this.reportError(e);
        this.armSweep();
        if (r.complete !== undefined) return this.handleText(r.complete, depth + 1);
        return;
      }
      case "png": {
        let data: unknown = m.data;
        if (m.num !== undefined || m.total !== undefined) {
          // A fragmented PNG (protocol spec: id, num, total on the png op): reassemble its base64 first.
          const r = this.assembler.add({ ...m, id: `png:${String(m.id ?? "")}` });
          for (const e of r.errors) this.reportError(e);
          this.armSweep();
          if (r.complete === undefined) return;
          data = r.complete;
        }
        return decodePngPayload(data).then((text) => this.handleText(text, depth + 1));
      }
      case "status": {
        if (m.level === "error" || m.level === "warning") {
          throw new BridgeProtocolError(`rosbridge status ${m.level}: ${String(m.msg)}`);
        }
        return;
      }
      default:
        throw new BridgeProtocolError(
          `Cannot handle a rosbridge message as op '${m.op}' is unknown (expected publish, fragment, png or status)`,
        );
    }
  }

  private handlePublish(m: RosbridgeMessage): void {
    if (m.topic !== this.topic) {
      throw new BridgeProtocolError(
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
    this.armIdle();
    this.emitFrame({ stamp: decoded.stamp, frameId: decoded.frameId, image: decoded.image });
  }

  private armSweep(): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = null;
    const deadline = this.assembler.nextDeadline();
    if (deadline === null) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      for (const e of this.assembler.sweep()) this.reportError(e);
      this.armSweep();
    }, Math.max(0, deadline - Date.now()) + 1);
  }

  private armIdle(): void {
    if (this.idleTimeoutMs <= 0) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (!this.openSocket) return;
      this.reportError(
        new BridgeProtocolError(
          `No frame on ${this.topic} for ${this.idleTimeoutMs} ms: rosbridge reports no errors, so check the topic ` +
            `name and type (${this.type})`,
        ),
      );
      this.armIdle();
    }, this.idleTimeoutMs);
  }
}

/**
 * Create a rosbridge frame source.
 * @param url `rosbridge://host[:port]/topic` (port 9090 by default) or `ws://host:port` with `options.topic`.
 * @throws ValidationError for invalid options.
 */
export function rosbridgeSource(url: string, options: RosbridgeSourceOptions = {}): RosbridgeSource {
  return new RosbridgeSource(url, options);
}
