/**
 * Every error class Waymark throws. Each has a `name`, an optional `cause`, and context (file, frame seq…)
 * so that a message names the thing and the problem.
 *
 * @module
 */

/** Context attached to a Waymark error. */
export interface ErrorContext {
  /** File or folder concerned. */
  file?: string;
  /** Frame sequence number concerned. */
  seq?: number;
  /** Source (URL, topic) concerned. */
  source?: string;
  /** Anything else worth printing. */
  [key: string]: unknown;
}

/** Base class of all Waymark errors. */
export class WaymarkError extends Error {
  /** Structured context of the failure. */
  readonly context: ErrorContext;
  constructor(message: string, options: { cause?: unknown; context?: ErrorContext } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.context = options.context ?? {};
  }
}

/** An option or argument is invalid. Message form: "Cannot X as 'field' must be Y: current value is Z". */
export class ValidationError extends WaymarkError {}

/** A model file could not be loaded or does not match its manifest. */
export class ModelLoadError extends WaymarkError {}

/** Running a model failed. */
export class InferenceError extends WaymarkError {}

/** An image could not be decoded (corrupt, truncated, unknown format, inconsistent size). */
export class ImageDecodeError extends WaymarkError {}

/** A dataset folder or its CSV files are missing or malformed. */
export class DatasetError extends WaymarkError {}

/** A map folder is missing, corrupt, of an unknown version, or built with another model. */
export class MapFormatError extends WaymarkError {}

/** A vector index operation failed (wrong dimension, unknown id, capacity). */
export class IndexError extends WaymarkError {}

/** A rosbridge message violates the protocol or cannot be decoded. */
export class BridgeProtocolError extends WaymarkError {}

/** A WebSocket frame source received a malformed message. */
export class FrameFormatError extends WaymarkError {}

/** CBOR bytes are malformed. */
export class CborError extends WaymarkError {}

/** An unknown name was asked of a registry (model, preset); the message lists the known ones. */
export class UnknownNameError extends WaymarkError {}

/** Training could not proceed (no tuples, bad checkpoint). */
export class TrainingError extends WaymarkError {}

/** Format a value for a message: strings quoted, long values cut. */
export function describeValue(value: unknown): string {
  let s: string;
  if (typeof value === "string") s = JSON.stringify(value);
  else if (value instanceof Uint8Array) s = `<${value.length} bytes>`;
  else {
    try {
      s = JSON.stringify(value) ?? String(value);
    } catch {
      s = String(value);
    }
  }
  return s.length > 80 ? s.slice(0, 77) + "..." : s;
}

/**
 * Build a validation error in the project's message form.
 *
 * @example
 * ```ts
 * import { invalid } from "./errors.ts";
 * const err = invalid("build map", "clusters", "a positive integer", 0);
 * console.assert(err.message === "Cannot build map as 'clusters' must be a positive integer: current value is 0");
 * ```
 */
export function invalid(action: string, field: string, must: string, value: unknown): ValidationError {
  return new ValidationError(
    `Cannot ${action} as '${field}' must be ${must}: current value is ${describeValue(value)}`,
    { context: { field } },
  );
}

/** Throw unless `value` is a positive integer. */
export function requirePositiveInt(action: string, field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
    throw invalid(action, field, "a positive integer", value);
  }
  return value;
}

/** Throw unless `value` is a finite number within [min, max]. */
export function requireRange(
  action: string,
  field: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(action, field, `a number in [${min}, ${max}]`, value);
  }
  return value;
}
