/**
 * The pipeline's verification runner: geometric verification off the fast path, one request at a time, and
 * while one runs only the newest request waits (latest-wins, bounded: see `verification_hook.ts`).
 *
 * @module
 */
import type { ErrorEvent, VerificationEvent } from "../types.ts";
import type { VerificationCandidate, VerificationQuery } from "./verification_hook.ts";

/** One keyframe's verification request. */
export interface VerificationRequest {
  query: VerificationQuery;
  candidates: VerificationCandidate[];
}

/** Callbacks of a {@link VerificationRunner}. */
export interface VerificationRunnerOptions {
  /** Runs one request (the verifier's `verify`). */
  verify: (request: VerificationRequest) => Promise<VerificationEvent>;
  /** A request's result (not called once the runner is closed). */
  onResult: (event: VerificationEvent, request: VerificationRequest) => void;
  /** A request's failure (not called once the runner is closed). */
  onError: (err: unknown, request: VerificationRequest) => void;
  /** A waiting request replaced by a newer one before it ran. */
  onDiscard?: (request: VerificationRequest) => void;
  /** A request finished and none is waiting (or the runner is closed). */
  onIdle?: () => void;
}

/** Latest-wins runner of verification requests. */
export class VerificationRunner {
  #running = false;
  #waiting: VerificationRequest | null = null;
  #closed = false;
  constructor(readonly options: VerificationRunnerOptions) {}

  /** Nothing running and nothing waiting. */
  get idle(): boolean {
    return !this.#running && this.#waiting === null;
  }

  /** Run `request` now if nothing runs, else let it wait in place of the request waiting so far. */
  submit(request: VerificationRequest): void {
    if (this.#closed) return;
    if (!this.#running) {
      this.#run(request);
      return;
    }
    if (this.#waiting) this.options.onDiscard?.(this.#waiting);
    this.#waiting = request;
  }

  /** Stop: the waiting request is dropped, and the running one's outcome is ignored. */
  close(): void {
    this.#closed = true;
    this.#waiting = null;
  }

  #run(request: VerificationRequest): void {
    this.#running = true;
    this.options.verify(request).then(
      (event) => {
        if (!this.#closed) this.options.onResult(event, request);
      },
      (err) => {
        if (!this.#closed) this.options.onError(err, request);
      },
    ).finally(() => {
      this.#running = false;
      const next = this.#waiting;
      this.#waiting = null;
      if (next && !this.#closed) this.#run(next);
      else this.options.onIdle?.();
    });
  }
}

/** The `ErrorEvent` of a failed verification of frame `seq` (cause `verification`). */
export function verificationFailure(err: unknown, seq: number, stamp: number): ErrorEvent {
  return {
    kind: "error",
    stamp,
    error: err instanceof Error ? err.name : "Error",
    cause: "verification",
    message: `verification of frame ${seq} failed: ${err instanceof Error ? err.message : err}`,
    seq,
  };
}
