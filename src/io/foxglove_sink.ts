/**
 * A Foxglove live view: a server of the Foxglove WebSocket protocol (`@foxglove/ws-protocol`) that Foxglove (the
 * app, "Open connection" > Foxglove WebSocket) connects to. Channels, all JSON-encoded:
 *
 * | topic               | schema                                   | what                                          |
 * |---------------------|------------------------------------------|-----------------------------------------------|
 * | `/waymark/camera`   | `foxglove.CompressedImage`               | the camera frames (JPEG/PNG as received; raw frames are not sent) |
 * | `/waymark/estimate` | `waymark.Estimate`                       | each estimate event                           |
 * | `/waymark/loop`     | `waymark.LoopClosure`                    | each loop closure event                       |
 * | `/waymark/scene`    | `foxglove.SceneUpdate`                   | map places, current estimate and loop edges (once a second, only when the places have positions) |
 *
 * The schemas of `foxglove.*` come from `@foxglove/schemas` (JSON Schema); a message's log time is the frame stamp.
 *
 * Security and limits follow the event server (`websocket_sink.ts`): loopback by default, a token required on
 * any other interface (`Authorization: Bearer` or `?token=`), web pages refused unless their origin is allowed,
 * at most `maxConnections` clients. A slow client never blocks the pipeline: sending only queues in the socket,
 * messages larger than `maxMessageBytes` are skipped, and a client whose send buffer exceeds `dropBytes` is
 * disconnected.
 *
 * @module
 */
import wsProtocol from "@foxglove/ws-protocol";
import { CompressedImage, SceneUpdate } from "@foxglove/schemas/jsonschema.js";
import type { Observable, Subscription } from "rxjs";
import { invalid, requirePositiveInt } from "../errors.ts";
import type { CameraFrame, Position, WaymarkEvent } from "../types.ts";
import type { PlaceMeta } from "../types.ts";
import { tokenMatches } from "./_auth.ts";
import { listenWebSocketServer, type WsServer, type WsSocket } from "./_ws.ts";
import { encodeBase64 } from "./base64.ts";
import { isLoopback } from "./websocket_sink.ts";

// CommonJS package: the classes are properties of its default export.
const { FoxgloveServer } = wsProtocol;
type FoxgloveServer = InstanceType<typeof FoxgloveServer>;

/** Options of {@link FoxgloveSink.listen}. */
export interface FoxgloveSinkOptions {
  /** Interface. Default `"127.0.0.1"`. */
  host?: string;
  /** Port; 0 picks a free one. Default 8765. */
  port?: number;
  /** Bearer token (required off loopback). */
  token?: string;
  /** Web page origins allowed (`"*"` any). Default none. */
  allowedOrigins?: string[];
  /** Clients at once. Default 8. */
  maxConnections?: number;
  /** Largest message sent; larger ones are skipped. Default 8 MiB. */
  maxMessageBytes?: number;
  /** A client with more than this many bytes waiting to be sent is disconnected. Default 32 MiB. */
  dropBytes?: number;
  /** Map places (their positions draw the scene). */
  places?: PlaceMeta[];
}

/** Counters of a {@link FoxgloveSink}. */
export interface FoxgloveSinkStats {
  sent: number;
  skippedLarge: number;
  refused: number;
  dropped: number;
}

const encoder = new TextEncoder();
const jsonSchema = (o: unknown) => JSON.stringify(o);

function stampOf(frame: { stamp: number; time?: { sec: number; nanosec: number } }) {
  if (frame.time) return { sec: frame.time.sec, nsec: frame.time.nanosec };
  const sec = Math.floor(frame.stamp);
  return { sec, nsec: Math.min(999_999_999, Math.round((frame.stamp - sec) * 1e9)) };
}

/** See the module doc. */
export class FoxgloveSink {
  readonly stats: FoxgloveSinkStats = { sent: 0, skippedLarge: 0, refused: 0, dropped: 0 };
  private readonly channels: Record<"camera" | "estimate" | "loop" | "scene", number>;
  private readonly sockets = new Set<WsSocket>();
  private readonly loops: [Position, Position][] = [];
  private estimate: Position | null = null;
  private lastScene = -Infinity;

  private constructor(
    private readonly server: WsServer,
    private readonly fox: FoxgloveServer,
    private readonly o: Required<Omit<FoxgloveSinkOptions, "token" | "places">> & { places: PlaceMeta[] },
  ) {
    const json = (topic: string, schemaName: string, schema: string) =>
      fox.addChannel({ topic, encoding: "json", schemaName, schema, schemaEncoding: "jsonschema" });
    this.channels = {
      camera: json("/waymark/camera", "foxglove.CompressedImage", jsonSchema(CompressedImage)),
      estimate: json("/waymark/estimate", "waymark.Estimate", jsonSchema({ type: "object" })),
      loop: json("/waymark/loop", "waymark.LoopClosure", jsonSchema({ type: "object" })),
      scene: json("/waymark/scene", "foxglove.SceneUpdate", jsonSchema(SceneUpdate)),
    };
  }

  /**
   * Start serving.
   * @throws ValidationError for invalid options (a host that is not loopback without a token); the bind error.
   */
  static async listen(options: FoxgloveSinkOptions = {}): Promise<FoxgloveSink> {
    const action = "serve the Foxglove live view";
    const host = options.host ?? "127.0.0.1";
    if (options.token === undefined && !isLoopback(host)) {
      throw invalid(action, "token", `set to serve on ${host} (not a loopback interface)`, options.token);
    }
    const o = {
      host,
      port: options.port ?? 8765,
      allowedOrigins: options.allowedOrigins ?? [],
      maxConnections: requirePositiveInt(action, "maxConnections", options.maxConnections ?? 8),
      maxMessageBytes: requirePositiveInt(
        action,
        "maxMessageBytes",
        options.maxMessageBytes ?? 8 * 1024 * 1024,
      ),
      dropBytes: requirePositiveInt(action, "dropBytes", options.dropBytes ?? 32 * 1024 * 1024),
      places: options.places ?? [],
    };
    const allowed = new Set(o.allowedOrigins.map((x) => x.toLowerCase()));
    const token = options.token;
    const fox = new FoxgloveServer({ name: "waymark" });
    const stats = { refused: 0 };
    let open = 0;
    const server = await listenWebSocketServer({
      host: o.host,
      port: o.port,
      maxPayload: 64 * 1024,
      handshakeTimeoutMs: 5000,
      onSocket: (socket) => {
        if (open >= o.maxConnections) {
          stats.refused++;
          return false;
        }
        open++;
        socket.once("close", () => void open--);
        return true;
      },
      verifyClient: (info, cb) => {
        const origin = typeof info.origin === "string" ? info.origin.toLowerCase() : "";
        if (origin !== "" && !allowed.has("*") && !allowed.has(origin)) {
          stats.refused++;
          return cb(false, 403, "Origin not allowed");
        }
        if (token === undefined || tokenMatches(info.req, token)) return cb(true);
        stats.refused++;
        cb(false, 401, "Unauthorized", { "WWW-Authenticate": "Bearer" });
      },
    });
    const sink = new FoxgloveSink(server, fox, o);
    Object.defineProperty(sink.stats, "refused", { get: () => stats.refused, enumerable: true });
    server.on("connection", (ws) => {
      sink.sockets.add(ws);
      ws.on("close", () => sink.sockets.delete(ws));
      // deno-lint-ignore no-explicit-any
      fox.handleConnection(ws as any, "client");
    });
    fox.on("error", () => {/* a client's protocol error: that client only */});
    return sink;
  }

  /** `ws://host:port`. */
  get url(): string {
    const h = this.o.host.includes(":") ? `[${this.o.host}]` : this.o.host;
    return `ws://${h}:${this.server.address().port}`;
  }

  private send(channel: number, stamp: { sec: number; nsec: number }, message: unknown): void {
    const data = encoder.encode(JSON.stringify(message));
    if (data.length > this.o.maxMessageBytes) {
      this.stats.skippedLarge++;
      return;
    }
    for (const ws of this.sockets) {
      if (ws.bufferedAmount > this.o.dropBytes) {
        this.stats.dropped++;
        this.sockets.delete(ws);
        ws.terminate();
      }
    }
    this.fox.sendMessage(channel, BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.nsec), data);
    this.stats.sent++;
  }

  /** Publish one camera frame (encoded images only). */
  frame(f: CameraFrame): void {
    if (f.image.kind !== "encoded") return;
    const ts = stampOf(f);
    this.send(this.channels.camera, ts, {
      timestamp: ts,
      frame_id: f.frameId || "camera",
      format: f.image.format === "auto" ? "jpeg" : f.image.format,
      data: encodeBase64(f.image.data),
    });
  }

  /** Publish one event (estimates, loops; the scene at most once a second). */
  event(e: WaymarkEvent): void {
    if (e.kind === "estimate") {
      const ts = stampOf(e.estimate);
      this.send(this.channels.estimate, ts, { ...e.estimate, latencyMs: e.latencyMs });
      if (e.estimate.position) this.estimate = e.estimate.position;
      const now = performance.now();
      if (now - this.lastScene >= 1000) {
        this.lastScene = now;
        this.scene(ts);
      }
    } else if (e.kind === "loop") {
      const ts = stampOf(e.query);
      this.send(this.channels.loop, ts, e);
      const q = this.estimate, m = e.match.position ?? this.o.places[e.match.placeId]?.position;
      if (q && m) this.loops.push([q, m]);
    }
  }

  /** The map's places (grey), the current estimate (green) and loop edges (orange) as one scene entity. */
  private scene(ts: { sec: number; nsec: number }): void {
    const positioned = this.o.places.filter((p) => p.position);
    if (positioned.length === 0) return;
    const point = (p: Position) => ({ x: p.x, y: p.y, z: p.z ?? 0 });
    const sphere = (p: Position, size: number, color: [number, number, number]) => ({
      pose: { position: point(p), orientation: { x: 0, y: 0, z: 0, w: 1 } },
      size: { x: size, y: size, z: size },
      color: { r: color[0], g: color[1], b: color[2], a: 1 },
    });
    this.send(this.channels.scene, ts, {
      deletions: [],
      entities: [{
        timestamp: ts,
        frame_id: "map",
        id: "waymark",
        lifetime: { sec: 0, nsec: 0 },
        frame_locked: false,
        metadata: [],
        arrows: [],
        cubes: [],
        spheres: [
          ...positioned.map((p) => sphere(p.position!, 0.5, [0.6, 0.6, 0.6])),
          ...(this.estimate ? [sphere(this.estimate, 1.5, [0.1, 0.8, 0.2])] : []),
        ],
        cylinders: [],
        lines: this.loops.slice(-500).map(([a, b]) => ({
          type: 0,
          pose: { position: { x: 0, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
          thickness: 0.2,
          scale_invariant: false,
          points: [point(a), point(b)],
          color: { r: 1, g: 0.5, b: 0, a: 1 },
          colors: [],
          indices: [],
        })),
        triangles: [],
        texts: [],
        models: [],
      }],
    });
  }

  /** Publish the frames and events of a run. */
  attach(events$: Observable<WaymarkEvent>, frames$?: Observable<CameraFrame>): Subscription {
    const sub = events$.subscribe({ next: (e) => this.event(e), error: () => {} });
    if (frames$) sub.add(frames$.subscribe({ next: (f) => this.frame(f), error: () => {} }));
    return sub;
  }

  /** Close every client and the server. */
  close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
