/**
 * A client WebSocket that reconnects after a drop with capped exponential backoff and reports its state as
 * `ConnectionEvent`s. Private helper of the socket-based sources and the rosbridge sink.
 *
 * Kept rather than a reconnecting-WebSocket package: the npm ones (`reconnecting-websocket` and forks) target
 * the browser `WebSocket`, are unmaintained, and have no ping/pong liveness check, no give-up on an
 * authentication refusal (401/403) and no typed connection events; this file adds exactly those on top of the
 * `ws` client (`_ws.ts`) and the backoff formula (`backoff.ts`).
 * @module
 */
import { BridgeProtocolError } from "../errors.ts";
import type { ConnectionEvent } from "../types.ts";
import { connectionEvent } from "./frame_source.ts";
import { backoffDelayMs, type ResolvedBackoff } from "./backoff.ts";
import { openWebSocket, WS_OPEN, type WsClientOptions, wsPayload, type WsSocket } from "./_ws.ts";

/** Callbacks of a {@link ReconnectingSocket}. */
export interface ReconnectingSocketHandlers {
  /** A connection opened (first or after a reconnect). */
  onOpen(ws: WsSocket): void;
  /** A message arrived: bytes for binary frames, a string for text frames. */
  onMessage(data: Uint8Array | string): void;
  /** Connection state changed. */
  onConnection(event: ConnectionEvent): void;
  /** Reconnecting was given up (attempts exhausted, or the server refused us with 401/403). */
  onFatal(err: Error): void;
}

/** Options of a {@link ReconnectingSocket}. */
export interface ReconnectingSocketOptions extends WsClientOptions {
  backoff: ResolvedBackoff;
  /** Name used as `source` in events. */
  name: string;
  /**
   * Ping the server this often; a connection that has not answered the previous ping (pong) by the next one is
   * dropped, and a reconnect follows (detects half-open TCP connections, common on Wi-Fi). 0 disables. Default 0.
   */
  pingIntervalMs?: number;
}

/** See module doc. */
export class ReconnectingSocket {
  private ws: WsSocket | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private pinger: ReturnType<typeof setInterval> | null = null;
  private attempt = 0;
  private stopped = false;
  private closedPromise: Promise<void> | null = null;

  constructor(
    readonly url: string,
    private readonly options: ReconnectingSocketOptions,
    private readonly handlers: ReconnectingSocketHandlers,
  ) {}

  /** The open socket, if any. */
  get socket(): WsSocket | null {
    return this.ws && this.ws.readyState === WS_OPEN ? this.ws : null;
  }

  /** Start connecting. */
  start(): void {
    this.connect();
  }

  /** Send on the open socket; false when not connected (the message is not queued). */
  send(data: string | Uint8Array): boolean {
    const ws = this.socket;
    if (!ws) return false;
    ws.send(data);
    return true;
  }

  private connect(): void {
    if (this.stopped) return;
    this.handlers.onConnection(
      connectionEvent(this.options.name, "connecting", this.attempt ? { attempt: this.attempt } : {}),
    );
    const { backoff: _b, name: _n, pingIntervalMs: _p, ...wsOptions } = this.options;
    const ws = openWebSocket(this.url, { handshakeTimeout: 10_000, ...wsOptions });
    this.ws = ws;
    let opened = false;
    let fatal: Error | null = null;
    const closed = new Promise<void>((resolve) => {
      ws.once("close", () => {
        this.stopPinging();
        if (this.ws === ws) this.ws = null;
        if (opened || this.stopped) {
          this.handlers.onConnection(connectionEvent(this.options.name, "closed"));
        }
        resolve();
        if (!this.stopped) {
          if (fatal) this.handlers.onFatal(fatal);
          else this.scheduleReconnect();
        }
      });
    });
    this.closedPromise = closed;
    ws.on("open", () => {
      opened = true;
      this.attempt = 0;
      this.handlers.onConnection(connectionEvent(this.options.name, "open"));
      this.startPinging(ws);
      if (!this.stopped) this.handlers.onOpen(ws);
    });
    ws.on("message", (data, isBinary) => {
      if (!this.stopped) this.handlers.onMessage(wsPayload(data, isBinary));
    });
    ws.on("error", (err) => {
      const m = /Unexpected server response: (40[13])/.exec(err.message);
      if (m) {
        fatal = new BridgeProtocolError(
          `Cannot connect to ${this.url} as the server refused us (HTTP ${m[1]})`,
          {
            cause: err,
            context: { source: this.url },
          },
        );
      }
    });
  }

  private startPinging(ws: WsSocket): void {
    const every = this.options.pingIntervalMs ?? 0;
    if (every <= 0) return;
    let alive = true;
    ws.on("pong", () => (alive = true));
    this.pinger = setInterval(() => {
      if (!alive) {
        ws.terminate(); // no pong since the last ping: the peer is gone
        return;
      }
      alive = false;
      try {
        ws.ping();
      } catch { /* closing */ }
    }, every);
  }

  private stopPinging(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = null;
  }

  private scheduleReconnect(): void {
    this.attempt++;
    const b = this.options.backoff;
    if (this.attempt > b.maxAttempts) {
      this.handlers.onFatal(
        new BridgeProtocolError(
          `Cannot reconnect to ${this.url} as ${b.maxAttempts} attempts in a row failed`,
          { context: { source: this.url } },
        ),
      );
      return;
    }
    const delayMs = backoffDelayMs(this.attempt, b);
    this.handlers.onConnection(
      connectionEvent(this.options.name, "reconnecting", { attempt: this.attempt, delayMs }),
    );
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delayMs);
  }

  /** Drop the current connection as if the network failed (a reconnect follows). For tests and watchdogs. */
  drop(): void {
    this.ws?.terminate();
  }

  /** Stop: cancel any pending reconnect, close the socket, resolve once it is closed. Idempotent. */
  async stop(beforeClose?: (ws: WsSocket) => void): Promise<void> {
    if (this.stopped) return await (this.closedPromise ?? Promise.resolve());
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopPinging();
    const ws = this.ws;
    if (ws) {
      if (ws.readyState === WS_OPEN) {
        try {
          beforeClose?.(ws);
        } catch { /* best effort */ }
        ws.close(1000);
        const guard = setTimeout(() => ws.terminate(), 1000);
        await this.closedPromise;
        clearTimeout(guard);
      } else {
        ws.terminate();
        await this.closedPromise;
      }
    }
  }
}
