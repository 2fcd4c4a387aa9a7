/**
 * Backpressure between a fast producer (a camera at 30 fps) and the slow part of the pipeline: a credit gate.
 * `gate.admit` lets a value through only while the downstream holds fewer than `credits` values in flight;
 * the downstream calls `gate.release()` when it has finished one. Values that arrive while no credit is free
 * wait in a bounded buffer whose overflow policy is configurable, so nothing queues without bound:
 *
 * - `latest` (default): keep only the newest waiting value; an older waiting value is dropped (latest-wins).
 * - `drop-newest`: keep the values already waiting (up to `capacity`, default 1); a new arrival is dropped.
 * - `queue`: a FIFO of `capacity` values; when full the oldest waiting value is dropped.
 *
 * Every drop is reported through `onDrop` (counted in the pipeline's stats). State lives in the gate object,
 * which the pipeline creates per subscription; `admit`'s teardown clears the buffer (no frame kept after
 * unsubscribe).
 *
 * @module
 */
import { Observable, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";

/** Overflow policy of the backpressure buffer. */
export type BackpressurePolicy =
  | { kind: "latest" }
  | { kind: "drop-newest"; capacity?: number }
  | { kind: "queue"; capacity: number };

/** Options of {@link createGate}. */
export interface GateOptions<T> {
  /** Overflow policy. Default `{ kind: "latest" }`. */
  policy?: BackpressurePolicy;
  /** Values allowed in flight downstream at once. Default 1. */
  credits?: number;
  /** Called for every dropped value. */
  onDrop?: (value: T) => void;
}

/** A credit gate (see the module doc). */
export interface Gate<T> {
  /** The operator to put in front of the slow part. One subscription at a time. */
  readonly admit: OperatorFunction<T, T>;
  /** Give back one credit (the downstream finished a value); the next waiting value, if any, goes through. */
  release(): void;
  /** Values waiting now. */
  readonly waiting: number;
  /** Values in flight now. */
  readonly inFlight: number;
}

/** Parse a policy string: `latest`, `drop-newest`, `drop-newest:N`, `queue:N`. */
export function parseBackpressurePolicy(text: string): BackpressurePolicy {
  const [kind, n] = text.split(":");
  const cap = n === undefined ? undefined : Number(n);
  if (cap !== undefined && (!Number.isInteger(cap) || cap < 1)) {
    throw invalid("parse backpressure policy", "capacity", "a positive integer", n);
  }
  if (kind === "latest" && cap === undefined) return { kind: "latest" };
  if (kind === "drop-newest") return { kind: "drop-newest", capacity: cap ?? 1 };
  if (kind === "queue" && cap !== undefined) return { kind: "queue", capacity: cap };
  throw invalid("parse backpressure policy", "policy", "latest, drop-newest[:N] or queue:N", text);
}

/** Check a policy object; returns the buffer capacity it implies. */
export function policyCapacity(policy: BackpressurePolicy): number {
  if (policy.kind === "latest") return 1;
  if (policy.kind === "drop-newest" || policy.kind === "queue") {
    const cap = policy.capacity ?? 1;
    if (!Number.isInteger(cap) || cap < 1) {
      throw invalid("create backpressure gate", "policy.capacity", "a positive integer", cap);
    }
    return cap;
  }
  throw invalid("create backpressure gate", "policy.kind", "latest, drop-newest or queue", policy);
}

/**
 * Create a credit gate.
 *
 * @example
 * ```ts
 * import { Subject } from "rxjs";
 * import { createGate } from "./backpressure.ts";
 * const gate = createGate<number>({ policy: { kind: "latest" } });
 * const src = new Subject<number>();
 * const seen: number[] = [];
 * src.pipe(gate.admit).subscribe((v) => seen.push(v));
 * src.next(1); src.next(2); src.next(3); // 1 in flight, 3 waiting (2 dropped)
 * gate.release(); // 3 goes through
 * console.assert(seen.join() === "1,3");
 * ```
 */
export function createGate<T>(options: GateOptions<T> = {}): Gate<T> {
  const policy = options.policy ?? { kind: "latest" };
  const capacity = policyCapacity(policy);
  const credits = options.credits ?? 1;
  if (!Number.isInteger(credits) || credits < 1) {
    throw invalid("create backpressure gate", "credits", "a positive integer", credits);
  }
  const onDrop = options.onDrop ?? (() => {});
  let buffer: T[] = [];
  let inFlight = 0;
  let emit: ((v: T) => void) | null = null;
  let sourceDone = false;
  let finish: (() => void) | null = null;

  const pump = () => {
    while (emit && inFlight < credits && buffer.length > 0) {
      const v = buffer.shift()!;
      inFlight++;
      emit(v);
    }
    if (sourceDone && buffer.length === 0 && finish) finish();
  };

  const admit: OperatorFunction<T, T> = (source) =>
    new Observable<T>((subscriber) => {
      buffer = [];
      inFlight = 0;
      sourceDone = false;
      emit = (v) => subscriber.next(v);
      finish = () => subscriber.complete();
      const sub = source.subscribe({
        next: (v) => {
          if (inFlight < credits && buffer.length === 0) {
            inFlight++;
            subscriber.next(v);
            return;
          }
          if (buffer.length < capacity) {
            buffer.push(v);
          } else if (policy.kind === "drop-newest") {
            onDrop(v);
          } else {
            onDrop(buffer.shift()!);
            buffer.push(v);
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });
      return () => {
        sub.unsubscribe();
        buffer = [];
        emit = null;
        finish = null;
      };
    });

  return {
    admit,
    release() {
      if (inFlight > 0) inFlight--;
      pump();
    },
    get waiting() {
      return buffer.length;
    },
    get inFlight() {
      return inFlight;
    },
  };
}
