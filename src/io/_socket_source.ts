/**
 * Shared machinery of the socket-based frame sources (WebSocket camera, rosbridge): the `FrameSource` contract
 * (shared cold start, hot events, counters, idempotent close), frame numbering, error reporting, and an ordered,
 * bounded queue for message handlers that are asynchronous (PNG decode).
 * @module
 */
import { Observable, share, Subject, type Subscriber } from "rxjs";
import { WaymarkError } from "../errors.ts";
import type { CameraFrame, ErrorCause } from "../types.ts";
import { errorEvent, type FrameSource, type SourceCounters, type SourceEvent } from "./frame_source.ts";
import type { ResolvedBackoff } from "./backoff.ts";
import { ReconnectingSocket } from "./_reconnecting_socket.ts";
import type { WsSocket } from "./_ws.ts";

/** A frame without the fields the base assigns (`seq`, `source`, defaulted `stamp`). */
export type FrameParts = Omit<CameraFrame, "seq" | "source" | "stamp"> & {
  stamp: number | null;
  source?: string;
};

/** Base of socket sources; subclasses implement the protocol. */
export abstract class SocketSource implements FrameSource {
  readonly counters: SourceCounters = { frames: 0, errors: 0, connections: 0, lostUpstream: 0 };
  private readonly events$ = new Subject<SourceEvent>();
  private subscriber: Subscriber<CameraFrame> | null = null;
  private socket: ReconnectingSocket | null = null;
  private seq = 0;
  private closed = false;
  private readonly shared$: Observable<CameraFrame>;
  private chain: Promise<void> = Promise.resolve();
  private pendingAsync = 0;

  protected constructor(
    readonly name: string,
    protected readonly url: string,
    private readonly socketOptions: {
      backoff: ResolvedBackoff;
      headers?: Record<string, string>;
      maxPayload: number;
      pingIntervalMs: number;
      /** Most asynchronous message handlers waiting in line before new ones are dropped. */
      maxPendingAsync: number;
    },
  ) {
    this.shared$ = new Observable<CameraFrame>((subscriber) => {
      if (this.closed) {
        subscriber.complete();
        return;
      }
      this.subscriber = subscriber;
      const socket = new ReconnectingSocket(this.url, {
        backoff: socketOptions.backoff,
        name: this.name,
        headers: socketOptions.headers,
        maxPayload: socketOptions.maxPayload,
        pingIntervalMs: socketOptions.pingIntervalMs,
      }, {
        onOpen: (ws) => {
          this.counters.connections++;
          this.onOpen(ws);
        },
        onMessage: (data) => this.dispatch(data),
        onConnection: (e) => this.events$.next(e),
        onFatal: (err) => subscriber.error(err),
      });
      this.socket = socket;
      this.onStart();
      socket.start();
      return () => {
        this.onStop();
        if (this.subscriber === subscriber) this.subscriber = null;
        if (this.socket === socket) this.socket = null;
        void socket.stop((ws) => this.beforeClose(ws));
      };
    }).pipe(share());
  }

  /** Called when a connection opens (send subscriptions here). */
  protected abstract onOpen(ws: WsSocket): void;
  /** Handle one message; may return a promise (then messages stay ordered through a bounded queue). */
  protected abstract onMessage(data: Uint8Array | string): void | Promise<void>;
  /** Called before a deliberate close on an open socket (send unsubscribe here). */
  protected beforeClose(_ws: WsSocket): void {}
  /** Called when the source starts (first subscriber). */
  protected onStart(): void {}
  /** Called when the source stops (clear timers here). */
  protected onStop(): void {}

  frames(): Observable<CameraFrame> {
    return this.shared$;
  }

  events(): Observable<SourceEvent> {
    return this.events$.asObservable();
  }

  /** Deliver a frame. */
  protected emitFrame(parts: FrameParts): void {
    const sub = this.subscriber;
    if (!sub) return;
    const frame: CameraFrame = {
      ...parts,
      seq: this.seq++,
      stamp: parts.stamp ?? Date.now() / 1000,
      source: parts.source ?? this.name,
    };
    this.counters.frames++;
    sub.next(frame);
  }

  /** Report a rejected message (counted, with its cause; the stream continues). */
  protected reportError(err: unknown, cause: ErrorCause = this.causeOf(err)): void {
    this.counters.errors++;
    this.events$.next(errorEvent(err, this.name, undefined, cause));
  }

  /** The cause of an error thrown by a message handler. Default `source`. */
  protected causeOf(_err: unknown): ErrorCause {
    return "source";
  }

  /** Report a warning as an error event (cause `warning`) that is not counted (nothing was rejected). */
  protected reportWarning(err: unknown): void {
    this.events$.next(errorEvent(err, this.name, undefined, "warning"));
  }

  /** Count frames that the sender published but that never arrived (see `SourceCounters.lostUpstream`). */
  protected countLostUpstream(n: number): void {
    this.counters.lostUpstream = (this.counters.lostUpstream ?? 0) + n;
  }

  /** Send on the open connection, if any. */
  protected send(data: string | Uint8Array): boolean {
    return this.socket?.send(data) ?? false;
  }

  /** The open connection, if any. */
  protected get openSocket(): WsSocket | null {
    return this.socket?.socket ?? null;
  }

  /** Force the current connection down (reconnect follows). For tests and watchdogs. */
  dropConnection(): void {
    this.socket?.drop();
  }

  private dispatch(data: Uint8Array | string): void {
    if (this.pendingAsync > 0) {
      // Keep order behind an asynchronous handler still running.
      this.enqueue(() => this.onMessage(data));
      return;
    }
    try {
      const r = this.onMessage(data);
      if (r instanceof Promise) {
        this.pendingAsync++;
        this.chain = r.catch((err) => this.reportError(err)).finally(() => this.pendingAsync--);
      }
    } catch (err) {
      this.reportError(err);
    }
  }

  private enqueue(fn: () => void | Promise<void>): void {
    if (this.pendingAsync >= this.socketOptions.maxPendingAsync) {
      this.reportError(
        new WaymarkError(
          `message dropped: ${this.pendingAsync} messages already wait for an asynchronous decode`,
        ),
        "backpressure",
      );
      return;
    }
    this.pendingAsync++;
    this.chain = this.chain.then(async () => {
      try {
        await fn();
      } catch (err) {
        this.reportError(err);
      }
    }).finally(() => this.pendingAsync--);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const socket = this.socket;
    this.subscriber?.complete();
    this.subscriber = null;
    if (socket) await socket.stop((ws) => this.beforeClose(ws));
    await this.chain.catch(() => {});
    this.onStop();
    this.events$.complete();
  }
}
