/**
 * A WebSocket server (`ws`) broadcasting Waymark events as JSON text messages to downstream clients.
 *
 * - Binds 127.0.0.1 by default; `port: 0` picks a free port (read `sink.port`). Any other interface (one that
 *   is not loopback) requires a token: events are never served to the network unauthenticated.
 * - Optional bearer token: clients present `Authorization: Bearer <token>` or `?token=<token>`; others get HTTP
 *   401 during the handshake.
 * - `Origin` allow-list: a handshake that carries an `Origin` header (a web page's) is refused with 403 unless
 *   the origin is listed in `allowedOrigins` (`"*"` allows any); clients that send none (programs) are not
 *   affected. This stops a web page from reading the events through the user's browser.
 * - Limits: a connection must complete its handshake within `handshakeTimeoutMs` (half-open connections are
 *   closed); at most `maxConnections` connections at once (handshakes included) and `connectionsPerSecond`
 *   new ones per second (a burst of as many), the rest closed at once; a client that sends more than
 *   `clientMessagesPerSecond` messages in a second is closed (1008).
 * - Never blocks the caller: `send()` only queues in the socket. A client whose `bufferedAmount` exceeds
 *   `highWaterBytes` is conflated: it is sent nothing more until it drains, and meanwhile only the latest event of
 *   each kind is kept for it (`loop` events, which a SLAM back end must not lose, are queued up to
 *   `maxQueuedLoops`, oldest dropped first). A client whose `bufferedAmount` exceeds `dropBytes`, or stays above
 *   `highWaterBytes` for `slowClientTimeoutMs`, is disconnected.
 * - Events larger than `maxMessageBytes` are skipped (counted); incoming client messages larger than
 *   `maxPayload` close that client (ws enforces it); other incoming messages are ignored.
 *
 * @example
 * ```ts ignore
 * import { WebSocketSink } from "./websocket_sink.ts";
 * const sink = await WebSocketSink.listen({ port: 8765, token: "secret" });
 * const sub = sink.attach(pipelineEvents$);
 * // ... later
 * sub.unsubscribe();
 * await sink.close();
 * ```
 *
 * @module
 */
import type { Observable, Subscription } from "rxjs";
import { invalid, requirePositiveInt, requireRange } from "../errors.ts";
import type { WaymarkEvent } from "../types.ts";
import { listenWebSocketServer, WS_OPEN, type WsServer, type WsSocket } from "./_ws.ts";
import { tokenMatches } from "./_auth.ts";

/** Options of {@link WebSocketSink.listen}. */
export interface WebSocketSinkOptions {
  /** Interface to bind. Default `"127.0.0.1"` (use `"0.0.0.0"` deliberately to expose it). */
  host?: string;
  /** TCP port; 0 picks a free one. Default 8765. */
  port?: number;
  /** Require this bearer token. Default none (open: only allowed on a loopback interface). */
  token?: string;
  /** Web page origins (`scheme://host[:port]`) allowed to connect; `"*"` any. Default none. */
  allowedOrigins?: string[];
  /** A connection that has not completed its handshake by then is closed. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** Connections at once, handshakes in progress included. Default 32. */
  maxConnections?: number;
  /** New connections accepted per second (and in a burst). Default 20. */
  connectionsPerSecond?: number;
  /** Messages a client may send per second before it is closed. Default 20. */
  clientMessagesPerSecond?: number;
  /** Largest accepted incoming client message in bytes. Default 64 KiB. */
  maxPayload?: number;
  /** Largest event message sent; larger ones are skipped and counted. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Above this many buffered bytes a client is conflated. Default 256 KiB. */
  highWaterBytes?: number;
  /** Above this many buffered bytes a client is disconnected. Default 8 MiB. */
  dropBytes?: number;
  /** A client that stays above `highWaterBytes` this long is disconnected. Default 10000 ms. */
  slowClientTimeoutMs?: number;
  /** How often conflated clients are retried. Default 25 ms. */
  flushIntervalMs?: number;
  /** Loop events kept per conflated client. Default 256. */
  maxQueuedLoops?: number;
}

/**
 * Host and port of a `--publish ws://host:port` URL (port 8765 when absent), for {@link WebSocketSink.listen}.
 * @example
 * ```ts
 * import { parsePublishUrl } from "./websocket_sink.ts";
 * const o = parsePublishUrl("ws://127.0.0.1:9000");
 * console.assert(o.host === "127.0.0.1" && o.port === 9000);
 * ```
 */
export function parsePublishUrl(url: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid("publish events", "url", "a URL like ws://127.0.0.1:8765", url);
  }
  if (u.protocol !== "ws:") throw invalid("publish events", "url", "a ws:// URL (TLS is not served)", url);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: u.port ? Number(u.port) : 8765 };
}

/** True for a loopback interface (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "::ffff:127.0.0.1";
}

/** Counters of a {@link WebSocketSink}. */
export interface WebSocketSinkStats {
  /** Clients connected now. */
  clients: number;
  /** Messages written to client sockets. */
  sent: number;
  /** Events replaced by a newer one of the same kind (or loop events dropped) for a slow client. */
  conflated: number;
  /** Clients disconnected for being too slow. */
  droppedClients: number;
  /** Handshakes refused (bad token). */
  rejected: number;
  /** Handshakes refused for an `Origin` not allowed. */
  refusedOrigin: number;
  /** Connections closed at once for the connection or connection-rate limit. */
  refusedLimit: number;
  /** Connections closed for not completing the handshake in time. */
  handshakeTimeouts: number;
  /** Clients closed for sending messages too fast. */
  rateLimited: number;
  /** Events skipped for exceeding `maxMessageBytes`. */
  skipped: number;
}

interface ClientState {
  ws: WsSocket;
  /** Insertion-ordered pending messages: key = kind, or `loop#n`. */
  pending: Map<string, string>;
  loops: number;
  /** When the client went above the high-water mark (ms), or null. */
  slowSince: number | null;
}

/** See module doc. */
export class WebSocketSink {
  private readonly clients = new Set<ClientState>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private loopCounter = 0;
  private closed = false;
  private readonly counters: Omit<WebSocketSinkStats, "clients">;

  private constructor(
    private readonly server: WsServer,
    private readonly o: Required<Omit<WebSocketSinkOptions, "token" | "allowedOrigins">>,
    counters: Omit<WebSocketSinkStats, "clients">,
  ) {
    this.counters = counters;
    server.on("connection", (ws) => {
      const state: ClientState = { ws, pending: new Map(), loops: 0, slowSince: null };
      this.clients.add(state);
      ws.on("error", () => {});
      ws.on("close", () => this.clients.delete(state));
      // Clients have nothing to say; one that floods is closed (policy violation).
      let windowStart = 0, inWindow = 0;
      ws.on("message", () => {
        const now = performance.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          inWindow = 0;
        }
        if (++inWindow > this.o.clientMessagesPerSecond) {
          if (inWindow === this.o.clientMessagesPerSecond + 1) {
            this.counters.rateLimited++;
            ws.close(1008, "message rate limit");
          }
        }
      });
    });
  }

  /**
   * Start the server and resolve once it listens.
   * @throws ValidationError for invalid options (and a non-loopback host without a token); the bind error
   * (with the address in its message) when the port is taken.
   */
  static async listen(options: WebSocketSinkOptions = {}): Promise<WebSocketSink> {
    const action = "start the WebSocket event server";
    const port = options.port ?? 8765;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw invalid(action, "port", "an integer in [0, 65535]", port);
    }
    const token = options.token;
    if (token !== undefined && (typeof token !== "string" || token.length === 0)) {
      throw invalid(action, "token", "a non-empty string", token);
    }
    const host = options.host ?? "127.0.0.1";
    if (token === undefined && !isLoopback(host)) {
      throw invalid(action, "token", `set to serve events on ${host} (not a loopback interface)`, token);
    }
    const origins = options.allowedOrigins ?? [];
    if (!Array.isArray(origins) || origins.some((x) => typeof x !== "string" || x.length === 0)) {
      throw invalid(action, "allowedOrigins", "a list of origins like http://localhost:3000, or *", origins);
    }
    const anyOrigin = origins.includes("*");
    const allowed = new Set(origins.map((x) => x.replace(/\/+$/, "").toLowerCase()));
    const o = {
      host,
      port,
      handshakeTimeoutMs: requireRange(
        action,
        "handshakeTimeoutMs",
        options.handshakeTimeoutMs ?? 5000,
        1,
        600_000,
      ),
      maxConnections: requirePositiveInt(action, "maxConnections", options.maxConnections ?? 32),
      connectionsPerSecond: requirePositiveInt(
        action,
        "connectionsPerSecond",
        options.connectionsPerSecond ?? 20,
      ),
      clientMessagesPerSecond: requirePositiveInt(
        action,
        "clientMessagesPerSecond",
        options.clientMessagesPerSecond ?? 20,
      ),
      maxPayload: requirePositiveInt(action, "maxPayload", options.maxPayload ?? 64 * 1024),
      maxMessageBytes: requirePositiveInt(action, "maxMessageBytes", options.maxMessageBytes ?? 1024 * 1024),
      highWaterBytes: requirePositiveInt(action, "highWaterBytes", options.highWaterBytes ?? 256 * 1024),
      dropBytes: requirePositiveInt(action, "dropBytes", options.dropBytes ?? 8 * 1024 * 1024),
      slowClientTimeoutMs: requireRange(
        action,
        "slowClientTimeoutMs",
        options.slowClientTimeoutMs ?? 10_000,
        1,
        3_600_000,
      ),
      flushIntervalMs: requireRange(action, "flushIntervalMs", options.flushIntervalMs ?? 25, 1, 60_000),
      maxQueuedLoops: requirePositiveInt(action, "maxQueuedLoops", options.maxQueuedLoops ?? 256),
    };
    if (o.dropBytes < o.highWaterBytes) throw invalid(action, "dropBytes", ">= highWaterBytes", o.dropBytes);
    const counters = {
      sent: 0,
      conflated: 0,
      droppedClients: 0,
      rejected: 0,
      refusedOrigin: 0,
      refusedLimit: 0,
      handshakeTimeouts: 0,
      rateLimited: 0,
      skipped: 0,
    };
    // Connections at once (every accepted socket until it closes) and a token bucket for new ones.
    let open = 0, tokens = o.connectionsPerSecond, refilled = performance.now();
    let server: WsServer;
    try {
      server = await listenWebSocketServer({
        host: o.host,
        port: o.port,
        maxPayload: o.maxPayload,
        handshakeTimeoutMs: o.handshakeTimeoutMs,
        onHandshakeTimeout: () => void counters.handshakeTimeouts++,
        onSocket: (socket) => {
          const now = performance.now();
          tokens = Math.min(
            o.connectionsPerSecond,
            tokens + ((now - refilled) / 1000) * o.connectionsPerSecond,
          );
          refilled = now;
          if (open >= o.maxConnections || tokens < 1) {
            counters.refusedLimit++;
            return false;
          }
          tokens--;
          open++;
          socket.once("close", () => void open--);
          return true;
        },
        verifyClient: (info, cb) => {
          const origin = typeof info.origin === "string" ? info.origin.toLowerCase() : "";
          if (origin !== "" && !anyOrigin && !allowed.has(origin)) {
            counters.refusedOrigin++;
            return cb(false, 403, "Origin not allowed");
          }
          if (token === undefined || tokenMatches(info.req, token)) return cb(true);
          counters.rejected++;
          cb(false, 401, "Unauthorized", { "WWW-Authenticate": "Bearer" });
        },
      });
    } catch (err) {
      if (err instanceof Error) {
        const h = o.host.includes(":") ? `[${o.host}]` : o.host;
        err.message = `cannot serve events on ws://${h}:${o.port}: ${err.message}`;
      }
      throw err;
    }
    return new WebSocketSink(server, o, counters);
  }

  /** The bound port. */
  get port(): number {
    return this.server.address().port;
  }

  /** `ws://host:port`. */
  get url(): string {
    const h = this.o.host.includes(":") ? `[${this.o.host}]` : this.o.host;
    return `ws://${h}:${this.port}`;
  }

  /** Counters so far. */
  get stats(): WebSocketSinkStats {
    return { clients: this.clients.size, ...this.counters };
  }

  /** Broadcast one event (never blocks; see the module doc for slow clients). */
  send(event: WaymarkEvent): void {
    if (this.closed || this.clients.size === 0) return;
    const json = JSON.stringify(event);
    if (json.length > this.o.maxMessageBytes) {
      this.counters.skipped++;
      return;
    }
    for (const c of this.clients) this.deliver(c, event.kind, json);
  }

  /** Broadcast every event of `events$` until the returned subscription is unsubscribed. */
  attach(events$: Observable<WaymarkEvent>): Subscription {
    return events$.subscribe({ next: (e) => this.send(e) });
  }

  /** Disconnect a client that is too slow; true when it was. */
  private dropIfTooSlow(c: ClientState): boolean {
    const buffered = c.ws.bufferedAmount;
    if (buffered <= this.o.highWaterBytes) {
      c.slowSince = null;
      return false;
    }
    const now = performance.now();
    c.slowSince ??= now;
    if (buffered > this.o.dropBytes || now - c.slowSince > this.o.slowClientTimeoutMs) {
      this.counters.droppedClients++;
      this.clients.delete(c);
      c.pending.clear();
      c.ws.terminate();
      return true;
    }
    return false;
  }

  private deliver(c: ClientState, kind: string, json: string): void {
    if (c.ws.readyState !== WS_OPEN) return;
    if (this.dropIfTooSlow(c)) return;
    const buffered = c.ws.bufferedAmount;
    if (c.pending.size === 0 && buffered <= this.o.highWaterBytes) {
      c.ws.send(json);
      this.counters.sent++;
      return;
    }
    if (kind === "loop") {
      if (c.loops >= this.o.maxQueuedLoops) {
        for (const k of c.pending.keys()) {
          if (k.startsWith("loop#")) {
            c.pending.delete(k);
            c.loops--;
            this.counters.conflated++;
            break;
          }
        }
      }
      c.pending.set(`loop#${this.loopCounter++}`, json);
      c.loops++;
    } else {
      if (c.pending.delete(kind)) this.counters.conflated++;
      c.pending.set(kind, json); // re-insert: keeps arrival order of the latest of each kind
    }
    this.armFlush();
  }

  private armFlush(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => this.flush(), this.o.flushIntervalMs);
  }

  private flush(): void {
    let waiting = false;
    for (const c of this.clients) {
      if (c.pending.size === 0) continue;
      if (c.ws.readyState !== WS_OPEN) {
        c.pending.clear();
        continue;
      }
      if (this.dropIfTooSlow(c)) continue;
      for (const [k, json] of c.pending) {
        if (c.ws.bufferedAmount > this.o.highWaterBytes) break;
        c.ws.send(json);
        this.counters.sent++;
        c.pending.delete(k);
        if (k.startsWith("loop#")) c.loops--;
      }
      if (c.pending.size > 0) waiting = true;
    }
    if (!waiting && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Close every client and the server. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all(
      [...this.clients].map((c) =>
        new Promise<void>((resolve) => {
          if (c.ws.readyState === 3) return resolve();
          const guard = setTimeout(() => c.ws.terminate(), 500);
          c.ws.once("close", () => {
            clearTimeout(guard);
            resolve();
          });
          c.ws.close(1001, "server closing");
        })
      ),
    );
    this.clients.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
