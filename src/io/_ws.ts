/**
 * Typed view of the parts of the `ws` package Waymark uses (the npm package ships no type declarations, so
 * Deno would otherwise see `any`). The only file that imports `ws`.
 * @module
 */
import * as wsModule from "ws";
import { createServer, type IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { Buffer } from "node:buffer";

/** Payload of a `message` event with the default `nodebuffer` binary type. */
export type WsData = Buffer | ArrayBuffer | Buffer[];

/** A `ws` WebSocket (client or server side). */
export interface WsSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  readonly protocol: string;
  send(data: string | Uint8Array, cb?: (err?: Error) => void): void;
  send(data: string | Uint8Array, options: { binary?: boolean }, cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(): void;
  on(event: "open", fn: () => void): this;
  on(event: "message", fn: (data: WsData, isBinary: boolean) => void): this;
  on(event: "close", fn: (code: number, reason: Buffer) => void): this;
  on(event: "error", fn: (err: Error) => void): this;
  on(event: "pong", fn: () => void): this;
  once(event: "close", fn: (code: number, reason: Buffer) => void): this;
  removeAllListeners(event?: string): this;
}

/** Client options of `new WebSocket(url, options)`. */
export interface WsClientOptions {
  headers?: Record<string, string>;
  maxPayload?: number;
  handshakeTimeout?: number;
  perMessageDeflate?: boolean;
}

/** Information passed to `verifyClient`. */
export interface WsVerifyInfo {
  origin: string;
  secure: boolean;
  req: IncomingMessage;
}

/** Server options. */
export interface WsServerOptions {
  host?: string;
  port?: number;
  maxPayload?: number;
  perMessageDeflate?: boolean;
  clientTracking?: boolean;
  /** Answer pings automatically (ws default true); false simulates a dead peer in tests. */
  autoPong?: boolean;
  verifyClient?: (
    info: WsVerifyInfo,
    cb: (ok: boolean, code?: number, message?: string, headers?: Record<string, string>) => void,
  ) => void;
  /**
   * A connection that has not completed its WebSocket handshake within this many ms is closed (TCP accepted
   * but no request, or a request that never ends). Default: none (the HTTP server's own limits).
   */
  handshakeTimeoutMs?: number;
  /** Called for every accepted TCP connection before its handshake; false closes it at once. */
  onSocket?: (socket: Socket) => boolean;
  /** Called when a connection is closed for not completing its handshake in time. */
  onHandshakeTimeout?: () => void;
}

/** A `ws` WebSocketServer. */
export interface WsServer {
  readonly clients: Set<WsSocket>;
  address(): { port: number; address: string; family: string };
  on(event: "connection", fn: (ws: WsSocket, req: IncomingMessage) => void): this;
  on(event: "listening", fn: () => void): this;
  on(event: "error", fn: (err: Error) => void): this;
  once(event: "listening", fn: () => void): this;
  once(event: "error", fn: (err: Error) => void): this;
  off(event: string, fn: (...args: never[]) => void): this;
  close(cb?: (err?: Error) => void): void;
}

// deno-lint-ignore no-explicit-any
const mod = wsModule as any;

/** `ws` readyState values. */
export const WS_OPEN = 1;

/** Open a client WebSocket. */
export function openWebSocket(url: string, options: WsClientOptions = {}): WsSocket {
  return new mod.WebSocket(url, { perMessageDeflate: false, ...options }) as WsSocket;
}

/** Create a WebSocket server (it starts listening; wait for `listening`). */
export function createWebSocketServer(options: WsServerOptions): WsServer {
  return new mod.WebSocketServer({ perMessageDeflate: false, ...options }) as WsServer;
}

/**
 * Start a server and wait until it listens (rejects on a bind error). With `handshakeTimeoutMs` or `onSocket`
 * the server runs on its own HTTP server, which sees every connection before the handshake; its `close()`
 * closes the HTTP server too and ends the connections still in their handshake.
 */
export function listenWebSocketServer(options: WsServerOptions): Promise<WsServer> {
  const { handshakeTimeoutMs, onSocket, onHandshakeTimeout, host, port, ...rest } = options;
  if (handshakeTimeoutMs === undefined && onSocket === undefined) {
    return listening(createWebSocketServer(options));
  }
  const http = createServer();
  const handshaking = new Set<Socket>();
  if (handshakeTimeoutMs !== undefined) {
    http.headersTimeout = handshakeTimeoutMs;
    http.requestTimeout = handshakeTimeoutMs;
  }
  http.on("connection", (socket: Socket) => {
    if (onSocket && !onSocket(socket)) {
      socket.destroy();
      return;
    }
    handshaking.add(socket);
    socket.once("close", () => handshaking.delete(socket));
    // ws clears the socket's timeout once the upgrade completes (`setTimeout(0)`).
    if (handshakeTimeoutMs !== undefined) {
      socket.setTimeout(handshakeTimeoutMs, () => {
        onHandshakeTimeout?.();
        socket.destroy();
      });
    }
  });
  http.on("upgrade", (_req: IncomingMessage, socket: Socket) => void handshaking.delete(socket));
  // A plain HTTP request gets 426 (as ws answers on its own server) instead of waiting for a timeout.
  http.on("request", (_req, res) => {
    res.writeHead(426, { "Content-Type": "text/plain" });
    res.end("Upgrade Required");
  });
  const server = new mod.WebSocketServer({ perMessageDeflate: false, ...rest, server: http }) as WsServer;
  const closeWs = server.close.bind(server);
  (server as { close: WsServer["close"] }).close = (cb) =>
    closeWs(() => {
      for (const s of handshaking) s.destroy();
      http.close(() => cb?.());
      // Idle keep-alive connections (a plain HTTP client answered 426) would otherwise hold close() open.
      (http as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  (server as { address: WsServer["address"] }).address = () =>
    http.address() as ReturnType<WsServer["address"]>;
  const ready = listening(server);
  http.listen(port ?? 0, host);
  return ready;
}

function listening(server: WsServer): Promise<WsServer> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      resolve(server);
    });
  });
}

/** Message payload as bytes (binary) or text. */
export function wsPayload(data: WsData, isBinary: boolean): Uint8Array | string {
  let bytes: Uint8Array;
  if (Array.isArray(data)) {
    const total = data.reduce((n, b) => n + b.length, 0);
    bytes = new Uint8Array(total);
    let o = 0;
    for (const b of data) {
      bytes.set(b, o);
      o += b.length;
    }
  } else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return isBinary ? bytes : new TextDecoder().decode(bytes);
}
