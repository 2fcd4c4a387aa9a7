/**
 * The `FrameSource` plug-in interface: anything that produces camera frames (WebSocket camera, rosbridge topic,
 * dataset replay, simulator) behind one small contract.
 *
 * Contract (checked by `test/io/frame_source_contract.ts` against every implementation):
 * - `frames()` is cold-started and shared: the first subscriber starts the source (connects, opens files), the
 *   last unsubscriber stops it. Frames carry strictly increasing `seq` per source.
 * - A bad message or frame never errors `frames()`: it becomes an `ErrorEvent` (cause `source`, unless the
 *   source documents a more specific one) on `events()` and is counted in `counters.errors`; the stream
 *   continues with the next message.
 * - Only fatal conditions error `frames()` (invalid options detected late, reconnect attempts exhausted, a file
 *   that cannot be read in a replay configured to fail hard).
 * - `events()` is hot: subscribe to it before `frames()` to see the first `connecting`/`open` events.
 *   Connection state changes are `ConnectionEvent`s (`connecting`, `open`, `closed`, `reconnecting` with
 *   `attempt` and `delayMs`).
 * - `frames()` completes when the source ends by itself (a replay reached its last entry) or after `close()`.
 * - `close()` releases every socket, timer and file handle; it is idempotent; afterwards `events()` completes.
 *
 * @module
 */
import type { Observable } from "rxjs";
import type { CameraFrame, ConnectionEvent, ErrorCause, ErrorEvent } from "../types.ts";

/** What a source reports besides frames. */
export type SourceEvent = ConnectionEvent | ErrorEvent;

/** Running totals of a source (monotonic over the source's life, across reconnects). */
export interface SourceCounters {
  /** Frames delivered on `frames()`. */
  frames: number;
  /** Messages rejected as malformed (each was also an `ErrorEvent`). */
  errors: number;
  /** Connections opened (1 for the first, +1 for each successful reconnect). */
  connections: number;
}

/** A producer of camera frames; see the module doc for the contract. */
export interface FrameSource {
  /** Human-readable name (URL, topic, dataset folder), used as `source` in events. */
  readonly name: string;
  /** Totals so far. */
  readonly counters: Readonly<SourceCounters>;
  /** The frames. Starts the source on first subscription, stops it when the last subscriber leaves. */
  frames(): Observable<CameraFrame>;
  /** Connection state and non-fatal errors (hot). */
  events(): Observable<SourceEvent>;
  /** Stop the source, complete `frames()` and `events()`, release every resource. Idempotent. */
  close(): Promise<void>;
}

/** Build the `ErrorEvent` reported for a rejected message (cause `source` unless another is named). */
export function errorEvent(
  err: unknown,
  source: string,
  seq?: number,
  cause: ErrorCause = "source",
): ErrorEvent {
  const e = err instanceof Error ? err : new Error(String(err));
  const event: ErrorEvent = {
    kind: "error",
    stamp: Date.now() / 1000,
    error: e.name || "Error",
    cause,
    message: e.message,
    source,
  };
  if (seq !== undefined) event.seq = seq;
  return event;
}

/** Build a `ConnectionEvent`. */
export function connectionEvent(
  source: string,
  state: ConnectionEvent["state"],
  extra: { attempt?: number; delayMs?: number } = {},
): ConnectionEvent {
  const event: ConnectionEvent = { kind: "connection", stamp: Date.now() / 1000, source, state };
  if (extra.attempt !== undefined) event.attempt = extra.attempt;
  if (extra.delayMs !== undefined) event.delayMs = extra.delayMs;
  return event;
}
