/**
 * In-process WebSocket camera for tests (127.0.0.1, port 0): sends whatever frames a test gives it (binary
 * JPEG/PNG/WMRW or JSON envelopes), optionally on a timer, can require a bearer token (401 otherwise) and drop
 * connections on demand.
 * @module
 */
import { listenWebSocketServer, WS_OPEN, type WsServer, type WsSocket } from "../src/io/_ws.ts";
import { tokenMatches } from "../src/io/_auth.ts";

/** Options of {@link FakeWsCamera.start}. */
export interface FakeWsCameraOptions {
  /** Require this bearer token (header or `?token=`); others get HTTP 401. */
  token?: string;
  /** Produce the next frame every this many ms (0: only on `send()`). Default 0. */
  everyMs?: number;
  /** Frame producer for `everyMs`, given a running counter. */
  frame?: (i: number) => string | Uint8Array;
  /** Answer pings (default true); false plays a peer whose connection went half-open. */
  autoPong?: boolean;
}

/** See module doc. */
export class FakeWsCamera {
  /** Connections accepted. */
  connections = 0;
  /** Handshakes refused. */
  rejected = 0;
  private readonly sockets = new Set<WsSocket>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private counter = 0;

  private constructor(private readonly server: WsServer, options: FakeWsCameraOptions) {
    server.on("connection", (ws) => {
      this.connections++;
      this.sockets.add(ws);
      ws.on("close", () => this.sockets.delete(ws));
      ws.on("error", () => {});
    });
    if ((options.everyMs ?? 0) > 0 && options.frame) {
      const make = options.frame;
      this.timer = setInterval(() => this.send(make(this.counter++)), options.everyMs);
    }
  }

  /** Start listening on an ephemeral port. */
  static async start(options: FakeWsCameraOptions = {}): Promise<FakeWsCamera> {
    let self: FakeWsCamera | null = null;
    const token = options.token;
    const server = await listenWebSocketServer({
      host: "127.0.0.1",
      port: 0,
      autoPong: options.autoPong ?? true,
      verifyClient: token === undefined ? undefined : (info, cb) => {
        if (tokenMatches(info.req, token)) return cb(true);
        if (self) self.rejected++;
        cb(false, 401, "Unauthorized");
      },
    });
    self = new FakeWsCamera(server, options);
    return self;
  }

  /** `ws://127.0.0.1:<port>/camera`. */
  get url(): string {
    return `ws://127.0.0.1:${this.server.address().port}/camera`;
  }

  /** Connected clients. */
  get clientCount(): number {
    return this.sockets.size;
  }

  /** Send one message to every client. */
  send(data: string | Uint8Array): void {
    for (const ws of this.sockets) if (ws.readyState === WS_OPEN) ws.send(data);
  }

  /** Drop every connection abruptly. */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }

  /** Stop and close everything. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(
      [...this.sockets].map((ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === 3) return resolve();
          ws.once("close", () => resolve());
          ws.terminate();
        })
      ),
    );
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
