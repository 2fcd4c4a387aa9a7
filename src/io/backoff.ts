/**
 * Capped exponential backoff with optional, seedable jitter, for sources that reconnect after a drop.
 *
 * Attempt `n` (1-based) waits `min(maxDelayMs, initialDelayMs * factor^(n-1))`, then multiplied by a uniform
 * factor in `[1 - jitter, 1 + jitter]` and capped at `maxDelayMs` again.
 *
 * Why not `exponential-backoff` (npm): it retries a promise-returning function (`backOff(fn)`) with its own
 * timer, while a socket source learns of a failure from a close event and must report each attempt's delay
 * (`ConnectionEvent.delayMs`) before it waits; its jitter is full-range and unseedable, where tests here need a
 * seeded or disabled jitter; and its options are not validated with errors naming the field. What is kept is a
 * delay formula and its option checks, which the library would not remove.
 *
 * @example
 * ```ts
 * import { backoffDelayMs, resolveBackoff } from "./backoff.ts";
 * const o = resolveBackoff({ initialDelayMs: 100, maxDelayMs: 1000, jitter: 0 });
 * console.assert(backoffDelayMs(1, o) === 100 && backoffDelayMs(3, o) === 400 && backoffDelayMs(9, o) === 1000);
 * ```
 *
 * @module
 */
import { invalid, requireRange } from "../errors.ts";
import { mulberry32 } from "../_rng.ts";

/** Reconnect policy. */
export interface BackoffOptions {
  /** Delay before the first reconnect attempt. Default 250 ms. */
  initialDelayMs?: number;
  /** Upper bound of every delay. Default 10000 ms. */
  maxDelayMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Relative jitter in [0, 1]; 0 disables it (deterministic delays, for tests). Default 0.2. */
  jitter?: number;
  /** Give up (error the stream) after this many failed attempts in a row. Default Infinity. */
  maxAttempts?: number;
  /** Seed of the jitter's random generator; absent uses Math.random. */
  seed?: number;
}

/** Backoff options with every default filled in, plus the random generator. */
export interface ResolvedBackoff {
  /** See {@link BackoffOptions.initialDelayMs}. */
  initialDelayMs: number;
  /** See {@link BackoffOptions.maxDelayMs}. */
  maxDelayMs: number;
  /** See {@link BackoffOptions.factor}. */
  factor: number;
  /** See {@link BackoffOptions.jitter}. */
  jitter: number;
  /** See {@link BackoffOptions.maxAttempts}. */
  maxAttempts: number;
  /** Uniform [0, 1) generator used for jitter. */
  random: () => number;
}

/** Validate and fill defaults. @throws ValidationError */
export function resolveBackoff(o: BackoffOptions = {}, action = "reconnect"): ResolvedBackoff {
  const initialDelayMs = requireRange(action, "initialDelayMs", o.initialDelayMs ?? 250, 0, 3_600_000);
  const maxDelayMs = requireRange(action, "maxDelayMs", o.maxDelayMs ?? 10_000, 0, 3_600_000);
  if (maxDelayMs < initialDelayMs) throw invalid(action, "maxDelayMs", ">= initialDelayMs", maxDelayMs);
  const factor = requireRange(action, "factor", o.factor ?? 2, 1, 100);
  const jitter = requireRange(action, "jitter", o.jitter ?? 0.2, 0, 1);
  const maxAttempts = o.maxAttempts ?? Infinity;
  if (!(maxAttempts === Infinity || (Number.isInteger(maxAttempts) && maxAttempts >= 0))) {
    throw invalid(action, "maxAttempts", "a non-negative integer or Infinity", maxAttempts);
  }
  const random = o.seed === undefined ? Math.random : mulberry32(o.seed);
  return { initialDelayMs, maxDelayMs, factor, jitter, maxAttempts, random };
}

/** Delay in ms before reconnect attempt `attempt` (1-based). */
export function backoffDelayMs(attempt: number, o: ResolvedBackoff): number {
  const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** Math.max(0, attempt - 1));
  if (o.jitter === 0) return base;
  const j = 1 - o.jitter + 2 * o.jitter * o.random();
  return Math.min(o.maxDelayMs, Math.round(base * j));
}
