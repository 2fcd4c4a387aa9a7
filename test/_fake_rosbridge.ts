/**
 * In-process rosbridge v2 server for tests (ws on 127.0.0.1, port 0). It behaves like rosbridge_suite 0.11.17
 * as recorded in `../shared/fixtures/rosbridge/`: answers `subscribe` by publishing the topic's current image in
 * the requested compression (JSON with `\/`-escaped base64; CBOR; cbor-raw with ROS 1 serialisation — or CDR
 * for ROS 2 type names; png), splits text messages larger than `fragment_size` into `fragment` ops (id 0, float
 * `total`), silently drops CBOR messages larger than `fragment_size`, and can drop connections on demand.
 * Like a bridge running rosapi, it answers the `/rosapi/topic_type` service (`rosapi: false` stays silent, as
 * a bridge without rosapi does): the type of `topicTypes`, else of the topic's image, else `""` (unknown).
 * `header.seq` rises by one per topic per `publish()`; `skip()` loses messages upstream (a seq gap).
 * @module
 */
import { encodeCbor } from "../src/io/cbor.ts";
import { encodeBase64 } from "../src/io/base64.ts";
import { encodePngPayload } from "../src/io/rosbridge_protocol.ts";
import { type RosImageFields, serializeRosImage } from "../src/io/ros_serialization.ts";
import { listenWebSocketServer, WS_OPEN, wsPayload, type WsServer, type WsSocket } from "../src/io/_ws.ts";

/** One client's subscription. */
export interface FakeSubscription {
  id?: string;
  topic: string;
  type?: string;
  compression?: string;
  throttle_rate?: number;
  queue_length?: number;
  fragment_size?: number;
}

interface Client {
  ws: WsSocket;
  subs: FakeSubscription[];
  fragmentSize?: number;
}

/** Options of {@link FakeRosbridge.start}. */
export interface FakeRosbridgeOptions {
  /** Publish every topic's image to its subscribers every this many ms (0: only on `publish()`). Default 0. */
  autoPublishMs?: number;
  /** Publish once right after a subscribe. Default true. */
  publishOnSubscribe?: boolean;
  /** Answer a subscribe with these recorded frames instead of encoding (replay of a real server's frames). */
  replay?: (sub: FakeSubscription) => (string | Uint8Array)[] | undefined;
  /** Answer `/rosapi/topic_type` calls. Default true. */
  rosapi?: boolean;
  /** ROS 2 type names (`sensor_msgs/msg/...`) in rosapi answers for the images' topics. Default false. */
  ros2?: boolean;
}

/** See module doc. */
export class FakeRosbridge {
  /** Every op received from clients, in order. */
  readonly received: Record<string, unknown>[] = [];
  /** Images served per topic. */
  readonly images = new Map<string, RosImageFields>();
  /** Types rosapi reports per topic (overrides the type of the topic's image). */
  readonly topicTypes = new Map<string, string>();
  private readonly seqs = new Map<string, number>();
  private readonly clients = new Set<Client>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private pending: Promise<unknown>[] = [];
  /** Total connections accepted. */
  connections = 0;

  private constructor(private readonly server: WsServer, private readonly options: FakeRosbridgeOptions) {
    server.on("connection", (ws) => {
      this.connections++;
      const client: Client = { ws, subs: [] };
      this.clients.add(client);
      ws.on("close", () => this.clients.delete(client));
      ws.on("error", () => {});
      ws.on("message", (data, isBinary) => {
        const payload = wsPayload(data, isBinary);
        if (typeof payload !== "string") return;
        const op = JSON.parse(payload) as Record<string, unknown>;
        this.received.push(op);
        if (typeof op.fragment_size === "number") client.fragmentSize = op.fragment_size;
        if (op.op === "subscribe") {
          client.subs.push(op as unknown as FakeSubscription);
          if (this.options.publishOnSubscribe ?? true) this.track(this.publishTo(client, op.topic as string));
        } else if (op.op === "call_service" && op.service === "/rosapi/topic_type") {
          if (this.options.rosapi ?? true) {
            const topic = (op.args as { topic?: string } | undefined)?.topic ?? "";
            ws.send(JSON.stringify({
              op: "service_response",
              service: op.service,
              id: op.id,
              values: { type: this.typeOf(topic) },
              result: true,
            }));
          }
        } else if (op.op === "unsubscribe") {
          client.subs = client.subs.filter((s) => s.topic !== op.topic);
        }
      });
    });
    const every = options.autoPublishMs ?? 0;
    if (every > 0) this.timer = setInterval(() => this.publish(), every);
  }

  /** Start on 127.0.0.1 with an ephemeral port. */
  static async start(options: FakeRosbridgeOptions = {}): Promise<FakeRosbridge> {
    const server = await listenWebSocketServer({ host: "127.0.0.1", port: 0 });
    return new FakeRosbridge(server, options);
  }

  /** The server's port. */
  get port(): number {
    return this.server.address().port;
  }

  /** `ws://127.0.0.1:<port>`. */
  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Connected clients. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Subscriptions of all connected clients. */
  get subscriptions(): FakeSubscription[] {
    return [...this.clients].flatMap((c) => c.subs);
  }

  /** Publish every topic's current image (or one topic's) to its subscribers. */
  publish(topic?: string): Promise<void> {
    const all: Promise<void>[] = [];
    const seqs = new Map<string, number>();
    for (const c of this.clients) {
      for (const t of new Set(c.subs.map((s) => s.topic))) {
        if (topic !== undefined && t !== topic) continue;
        if (!seqs.has(t)) seqs.set(t, this.nextSeq(t));
        all.push(this.publishTo(c, t, seqs.get(t)));
      }
    }
    return this.track(Promise.all(all).then(() => {}));
  }

  /** The type rosapi reports for a topic (`""` when unknown). */
  typeOf(topic: string): string {
    const given = this.topicTypes.get(topic);
    if (given !== undefined) return given;
    const image = this.images.get(topic);
    if (!image) return "";
    const name = image.type === "compressed" ? "CompressedImage" : "Image";
    return this.options.ros2 ? `sensor_msgs/msg/${name}` : `sensor_msgs/${name}`;
  }

  /** Lose `n` messages of a topic upstream: its next publish's `header.seq` jumps by n + 1. */
  skip(topic: string, n: number): void {
    this.seqs.set(topic, (this.seqs.get(topic) ?? 0) + n);
  }

  /** Send a raw frame (text or binary) to every client. */
  sendRaw(data: string | Uint8Array): void {
    for (const c of this.clients) if (c.ws.readyState === WS_OPEN) c.ws.send(data);
  }

  /** Drop every connection abruptly (as a network failure would). */
  dropAll(): void {
    for (const c of this.clients) c.ws.terminate();
  }

  /** Resolve when `pred()` holds (polling every 5 ms, after `refresh()` when given), or reject after `timeoutMs`. */
  async waitFor(
    pred: () => boolean,
    timeoutMs = 3000,
    what = "condition",
    refresh?: () => Promise<void>,
  ): Promise<void> {
    const t0 = Date.now();
    while (!pred()) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`fake rosbridge: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
      await refresh?.();
    }
  }

  /** Stop publishing, close every connection and the server. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled(this.pending);
    const closes = [...this.clients].map((c) =>
      new Promise<void>((resolve) => {
        if (c.ws.readyState === 3) return resolve();
        c.ws.once("close", () => resolve());
        c.ws.terminate();
      })
    );
    await Promise.all(closes);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.pending.push(p);
    p.finally(() => {
      this.pending = this.pending.filter((q) => q !== p);
    }).catch(() => {});
    return p;
  }

  private nextSeq(topic: string): number {
    const seq = (this.seqs.get(topic) ?? 0) + 1;
    this.seqs.set(topic, seq);
    return seq;
  }

  private async publishTo(client: Client, topic: string, seq?: number): Promise<void> {
    if (this.options.replay) {
      for (const sub of client.subs.filter((s) => s.topic === topic)) {
        for (const f of this.options.replay(sub) ?? []) {
          if (client.ws.readyState === WS_OPEN) client.ws.send(f);
        }
      }
      return;
    }
    const image = this.images.get(topic);
    if (!image) return;
    seq ??= this.nextSeq(topic);
    for (const sub of client.subs.filter((s) => s.topic === topic)) {
      const frames = await this.encode(sub, image, client.fragmentSize, seq);
      for (const f of frames) if (client.ws.readyState === WS_OPEN) client.ws.send(f);
    }
  }

  /** Encode one publish for a subscription, as rosbridge would (possibly several fragment frames, or none). */
  async encode(
    sub: FakeSubscription,
    image: RosImageFields,
    fragmentSize?: number,
    seq = 1,
  ): Promise<(string | Uint8Array)[]> {
    const ros2 = (sub.type ?? "").includes("/msg/");
    const fields = { ...image, header: { ...image.header, seq } };
    if (sub.compression === "cbor-raw") {
      const bytes = serializeRosImage(fields, ros2 ? "cdr" : "ros1");
      const now = Date.now();
      const out = encodeCbor({
        op: "publish",
        topic: sub.topic,
        msg: { secs: Math.floor(now / 1000), nsecs: (now % 1000) * 1e6, bytes },
      });
      return fragmentSize !== undefined && out.length > fragmentSize ? [] : [out];
    }
    const msg = rosMessageObject(fields, ros2);
    if (sub.compression === "cbor") {
      const out = encodeCbor({ op: "publish", topic: sub.topic, msg });
      return fragmentSize !== undefined && out.length > fragmentSize ? [] : [out];
    }
    const jsonMsg = { ...msg, data: encodeBase64(fields.data) };
    let text = JSON.stringify({ op: "publish", topic: sub.topic, msg: jsonMsg }).replaceAll("/", "\\/");
    if (sub.compression === "png") text = JSON.stringify({ op: "png", data: await encodePngPayload(text) });
    return fragmentSize !== undefined && text.length > fragmentSize ? fragment(text, fragmentSize) : [text];
  }
}

/** The message object of an image with ROS 1 or ROS 2 stamp names (data as bytes). */
export function rosMessageObject(f: RosImageFields, ros2: boolean): Record<string, unknown> {
  const stamp = ros2
    ? { sec: f.header.sec, nanosec: f.header.nanosec }
    : { secs: f.header.sec, nsecs: f.header.nanosec };
  const header: Record<string, unknown> = ros2
    ? { stamp, frame_id: f.header.frameId }
    : { seq: f.header.seq ?? 0, stamp, frame_id: f.header.frameId };
  if (f.type === "compressed") return { header, format: f.format, data: f.data };
  return {
    header,
    height: f.height,
    width: f.width,
    encoding: f.encoding,
    is_bigendian: f.isBigEndian ? 1 : 0,
    step: f.step,
    data: f.data,
  };
}

/** Split text into rosbridge 0.11 fragments (id 0, `total = length / size + 1` as a float). */
export function fragment(text: string, size: number): string[] {
  const total = text.length / size + 1;
  const out: string[] = [];
  for (let i = 0; i < Math.floor(total); i++) {
    out.push(
      JSON.stringify({ op: "fragment", id: 0, data: text.slice(i * size, (i + 1) * size), num: i, total }),
    );
  }
  return out;
}
