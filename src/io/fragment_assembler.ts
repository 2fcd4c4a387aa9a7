/**
 * Reassembly of rosbridge `fragment` messages (`{op: "fragment", id, data, num, total}`) with bounded memory
 * and a time-out for incomplete sets. Pure: the clock is injected, nothing is scheduled here.
 *
 * rosbridge 0.11 sends `total` as a float (take its floor) and always uses id 0, so a set is identified by its
 * id and a new fragment 0 for an id whose set is incomplete supersedes it (the old set is reported lost).
 *
 * @example
 * ```ts
 * import { FragmentAssembler } from "./fragment_assembler.ts";
 * const a = new FragmentAssembler();
 * a.add({ id: 0, data: "ab", num: 0, total: 2.5 });
 * console.assert(a.add({ id: 0, data: "cd", num: 1, total: 2.5 }).complete === "abcd");
 * ```
 *
 * @module
 */
import { BridgeProtocolError, requirePositiveInt } from "../errors.ts";

/** Limits of a {@link FragmentAssembler}. */
export interface FragmentAssemblerOptions {
  /** Characters held over all incomplete sets; beyond it the oldest sets are dropped. Default 64 Mi. */
  maxBytes?: number;
  /** Incomplete sets held at once; beyond it the oldest is dropped. Default 4. */
  maxPending?: number;
  /** Most fragments in one set. Default 100000. */
  maxFragments?: number;
  /** An incomplete set older than this (since its first fragment) is dropped by `sweep()`. Default 5000 ms. */
  timeoutMs?: number;
  /** Clock (ms). Default `Date.now`. */
  now?: () => number;
}

/** Outcome of {@link FragmentAssembler.add}. */
export interface FragmentResult {
  /** The reassembled text when this fragment completed its set. */
  complete?: string;
  /** Sets (or this fragment) given up on, as errors to report. */
  errors: BridgeProtocolError[];
}

interface PendingSet {
  id: string;
  total: number;
  parts: (string | undefined)[];
  received: number;
  chars: number;
  started: number;
}

/** See module doc. */
export class FragmentAssembler {
  private readonly sets = new Map<string, PendingSet>();
  private chars = 0;
  private readonly maxBytes: number;
  private readonly maxPending: number;
  private readonly maxFragments: number;
  private readonly timeoutMs: number;
  private readonly now: () => number;

  constructor(options: FragmentAssemblerOptions = {}) {
    const action = "reassemble fragments";
    this.maxBytes = requirePositiveInt(action, "maxBytes", options.maxBytes ?? 64 * 1024 * 1024);
    this.maxPending = requirePositiveInt(action, "maxPending", options.maxPending ?? 4);
    this.maxFragments = requirePositiveInt(action, "maxFragments", options.maxFragments ?? 100_000);
    this.timeoutMs = requirePositiveInt(action, "timeoutMs", options.timeoutMs ?? 5000);
    this.now = options.now ?? Date.now;
  }

  /** Number of incomplete sets held. */
  get pending(): number {
    return this.sets.size;
  }

  /** Add one fragment message (the parsed object). */
  add(msg: Record<string, unknown>): FragmentResult {
    const errors: BridgeProtocolError[] = [];
    const { id, data, num, total: rawTotal } = msg;
    if (typeof data !== "string") {
      errors.push(new BridgeProtocolError("Cannot reassemble a fragment as 'data' must be a string"));
      return { errors };
    }
    if (typeof rawTotal !== "number" || !Number.isFinite(rawTotal)) {
      errors.push(new BridgeProtocolError(`Cannot reassemble a fragment as 'total' must be a number`));
      return { errors };
    }
    const total = Math.floor(rawTotal);
    if (total < 1 || total > this.maxFragments) {
      errors.push(
        new BridgeProtocolError(
          `Cannot reassemble a fragment as 'total' must be in [1, ${this.maxFragments}]: current value is ${rawTotal}`,
        ),
      );
      return { errors };
    }
    if (typeof num !== "number" || !Number.isInteger(num) || num < 0 || num >= total) {
      errors.push(
        new BridgeProtocolError(
          `Cannot reassemble a fragment as 'num' must be an integer in [0, ${
            total - 1
          }]: current value is ${num}`,
        ),
      );
      return { errors };
    }
    if (data.length > this.maxBytes) {
      errors.push(
        new BridgeProtocolError(`Cannot reassemble a fragment larger than ${this.maxBytes} characters`),
      );
      return { errors };
    }
    const key = String(id ?? "");
    errors.push(...this.sweep());
    let set = this.sets.get(key);
    if (set && (set.total !== total || (num === 0 && set.parts[0] !== undefined))) {
      errors.push(this.lost(set, "a new message with the same id started"));
      this.remove(set);
      set = undefined;
    }
    if (!set) {
      if (total === 1) return { complete: data, errors };
      while (this.sets.size >= this.maxPending) {
        const oldest = this.sets.values().next().value as PendingSet;
        errors.push(this.lost(oldest, `more than ${this.maxPending} sets are incomplete`));
        this.remove(oldest);
      }
      set = { id: key, total, parts: new Array(total), received: 0, chars: 0, started: this.now() };
      this.sets.set(key, set);
    }
    const previous = set.parts[num];
    if (previous !== undefined) {
      set.chars -= previous.length;
      this.chars -= previous.length;
      set.received--;
    }
    set.parts[num] = data;
    set.received++;
    set.chars += data.length;
    this.chars += data.length;
    while (this.chars > this.maxBytes && this.sets.size > 0) {
      const oldest = this.sets.values().next().value as PendingSet;
      errors.push(this.lost(oldest, `incomplete sets hold more than ${this.maxBytes} characters`));
      this.remove(oldest);
      if (oldest === set) return { errors };
    }
    if (set.received === set.total) {
      this.remove(set);
      return { complete: set.parts.join(""), errors };
    }
    return { errors };
  }

  /** Drop incomplete sets older than the time-out; returns one error per dropped set. */
  sweep(): BridgeProtocolError[] {
    const now = this.now();
    const errors: BridgeProtocolError[] = [];
    for (const set of [...this.sets.values()]) {
      if (now - set.started > this.timeoutMs) {
        errors.push(this.lost(set, `it stayed incomplete for more than ${this.timeoutMs} ms`));
        this.remove(set);
      }
    }
    return errors;
  }

  /** Time (ms, on the injected clock) when the oldest incomplete set expires, or null. */
  nextDeadline(): number | null {
    let t: number | null = null;
    for (const s of this.sets.values()) {
      const d = s.started + this.timeoutMs;
      if (t === null || d < t) t = d;
    }
    return t;
  }

  /** Forget everything (on reconnect). */
  clear(): void {
    this.sets.clear();
    this.chars = 0;
  }

  private remove(set: PendingSet): void {
    if (this.sets.get(set.id) === set) this.sets.delete(set.id);
    this.chars -= set.chars;
  }

  private lost(set: PendingSet, why: string): BridgeProtocolError {
    return new BridgeProtocolError(
      `Cannot reassemble message id ${set.id} (${set.received} of ${set.total} fragments received) as ${why}`,
    );
  }
}
