/**
 * Typed view of the parts of the `ws` package Waymark uses (the npm package ships no type declarations, so
 * Deno would otherwise see `any`). The only file that imports `ws`.
 * @module
 */
import * as wsModule from "ws";
import type { IncomingMessage } from "node:http";
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

/** Start a server and wait until it listens (rejects on a bind error). */
export function listenWebSocketServer(options: WsServerOptions): Promise<WsServer> {
  const server = createWebSocketServer(options);
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
