/**
 * The one adapter over onnxruntime-node (no other file imports it). Creates a session once with the
 * execution provider chosen in options (`auto` tries CUDA, then falls back to CPU with a log line on
 * stderr), warms it up, and runs batches through it one at a time.
 *
 * @module
 */
import * as ort from "onnxruntime-node";
import { InferenceError, invalid, ModelLoadError } from "../errors.ts";
import type { ProviderChoice } from "../types.ts";

/** A float32 tensor in or out of a session. */
export interface TensorData {
  data: Float32Array;
  dims: number[];
}

/** Name, element type and shape (symbolic dims as strings) of a session input or output. */
export interface IoMetadata {
  name: string;
  /** onnxruntime element type, e.g. `"float32"`. */
  type: string;
  shape: (number | string)[];
}

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** Execution provider. Default `"auto"` (CUDA when available, else CPU, logged). */
  provider?: ProviderChoice;
  /** Threads inside one operator. Default: number of CPU cores, at most 4. */
  intraOpNumThreads?: number;
  /**
   * Let idle intra-op threads spin-wait for work (lower latency on an idle machine, wasted CPU on a busy one).
   * Default false.
   */
  allowSpinning?: boolean;
  /** Graph optimisation level. Default `"all"`. */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /** Where fallback messages go. Default `console.error`. */
  log?: (line: string) => void;
  /** Name used in messages (file path or model name). Default `"<bytes>"` or the path. */
  label?: string;
}

/** Running statistics of a session. */
export interface SessionStats {
  provider: "cpu" | "cuda";
  /** Why `auto` fell back to CPU, when it did. */
  fallbackReason?: string;
  runs: number;
  /** Images (batch items) processed. */
  items: number;
  /** Total milliseconds spent in `run`. */
  totalMs: number;
  /** Milliseconds of the last run. */
  lastMs: number;
  /** Milliseconds of the warm-up run, when one was done. */
  warmupMs?: number;
}

/** A loaded ONNX session. */
export interface RuntimeSession {
  readonly provider: "cpu" | "cuda";
  readonly label: string;
  readonly inputs: IoMetadata[];
  readonly outputs: IoMetadata[];
  /**
   * Run one batch; runs are serialised (one at a time per session). Each output's data is a fresh buffer of
   * exactly its size that the caller owns (a later run does not reuse it).
   */
  run(feeds: Record<string, TensorData>, outputNames?: string[]): Promise<Record<string, TensorData>>;
  /**
   * Run once with zero inputs (symbolic dims replaced by `dims[name]` or 1), record the time (not counted as
   * work in stats) and return the outputs (a load-time check of output shapes).
   */
  warmup(dims?: Record<string, number[]>): Promise<Record<string, TensorData>>;
  stats(): SessionStats;
  close(): Promise<void>;
}

function defaultThreads(): number {
  let n = 2;
  try {
    n = navigator.hardwareConcurrency || 2;
  } catch { /* unknown */ }
  return Math.max(1, Math.min(4, n));
}

function metadataOf(session: ort.InferenceSession, which: "input" | "output"): IoMetadata[] {
  const names = which === "input" ? session.inputNames : session.outputNames;
  const meta = (which === "input" ? session.inputMetadata : session.outputMetadata) as unknown as
    | { name: string; isTensor?: boolean; type?: string; shape?: (number | string)[] }[]
    | undefined;
  return names.map((name, i) => {
    const m = meta?.[i];
    return { name, type: m?.type ?? "unknown", shape: m?.shape ? [...m.shape] : [] };
  });
}

let envConfigured = false;
/** ORT's own logger prints provider-probe failures as errors; Waymark reports them itself. */
function configureEnv(): void {
  if (envConfigured) return;
  envConfigured = true;
  try {
    ort.env.logLevel = "fatal";
  } catch { /* older bindings: keep their default */ }
}

async function tryCreate(
  model: Uint8Array | string,
  provider: "cpu" | "cuda",
  opts: SessionOptions,
): Promise<ort.InferenceSession> {
  configureEnv();
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    graphOptimizationLevel: opts.graphOptimizationLevel ?? "all",
    intraOpNumThreads: opts.intraOpNumThreads ?? defaultThreads(),
    interOpNumThreads: 1,
    executionMode: "sequential",
    // Errors only; while probing CUDA, fatal only: our own log line reports the fallback.
    logSeverityLevel: provider === "cuda" ? 4 : 3,
    extra: { session: { "intra_op.allow_spinning": opts.allowSpinning ? "1" : "0" } },
  };
  if (typeof model === "string") return await ort.InferenceSession.create(model, sessionOptions);
  return await ort.InferenceSession.create(model, sessionOptions);
}

/** Whether the default logger already said that CUDA is unavailable (it says so once per process). */
let cpuNoticeShown = false;

/**
 * Create a session from ONNX bytes or a file path.
 *
 * - `provider: "cpu"`: CPU only.
 * - `provider: "cuda"`: CUDA or a `ModelLoadError` saying why it is unavailable.
 * - `provider: "auto"` (default): CUDA, else CPU with one line on `log` naming the reason.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./graph_builder.ts";
 * import { createSession } from "./runtime.ts";
 * const g = new GraphBuilder("relu");
 * g.output(g.relu(g.input("x", ["N", 2])), "y", ["N", 2]);
 * const s = await createSession(g.toBytes(), { provider: "cpu" });
 * const out = await s.run({ x: { data: new Float32Array([-1, 2]), dims: [1, 2] } });
 * console.assert(out.y.data[0] === 0 && out.y.data[1] === 2);
 * await s.close();
 * ```
 */
export async function createSession(
  model: Uint8Array | string,
  options: SessionOptions = {},
): Promise<RuntimeSession> {
  const provider = options.provider ?? "auto";
  if (!["auto", "cuda", "cpu"].includes(provider)) {
    throw invalid("create a model session", "provider", "one of auto, cuda, cpu", provider);
  }
  if (options.intraOpNumThreads !== undefined) {
    const t = options.intraOpNumThreads;
    if (!Number.isInteger(t) || t < 1) {
      throw invalid("create a model session", "intraOpNumThreads", "a positive integer", t);
    }
  }
  const label = options.label ?? (typeof model === "string" ? model : "<bytes>");
  const log = options.log ?? ((line: string) => console.error(line));
  let session: ort.InferenceSession | undefined;
  let used: "cpu" | "cuda" = "cpu";
  let fallbackReason: string | undefined;
  if (provider === "cuda" || provider === "auto") {
    try {
      session = await tryCreate(model, "cuda", options);
      used = "cuda";
    } catch (err) {
      const reason = firstLine(err);
      if (provider === "cuda") {
        throw new ModelLoadError(`Cannot load model ${label} on the CUDA execution provider: ${reason}`, {
          cause: err,
          context: { file: label },
        });
      }
      fallbackReason = reason;
      // One short line: a missing CUDA library (the usual case on a CPU machine) is named as such, and the
      // default logger says it once per process (the full reason is in stats().fallbackReason).
      const short = /shared (library|object)|libcu|cannot open/i.test(reason) ? "no CUDA libraries" : reason;
      if (options.log || !cpuNoticeShown) {
        cpuNoticeShown ||= !options.log;
        log(`waymark: CUDA execution provider unavailable (${short}); using CPU for ${label}`);
      }
    }
  }
  if (!session) {
    try {
      session = await tryCreate(model, "cpu", options);
      used = "cpu";
    } catch (err) {
      throw new ModelLoadError(`Cannot load model ${label}: ${firstLine(err)}`, {
        cause: err,
        context: { file: label },
      });
    }
  }
  return new OrtSession(session, used, label, fallbackReason);
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // deno-lint-ignore no-control-regex
  const clean = msg.replace(/\x1b\[[0-9;]*m/g, "");
  const line = clean.split("\n")[0].trim();
  return line.length > 200 ? line.slice(0, 197) + "..." : line;
}

class OrtSession implements RuntimeSession {
  readonly provider: "cpu" | "cuda";
  readonly label: string;
  readonly inputs: IoMetadata[];
  readonly outputs: IoMetadata[];
  #session: ort.InferenceSession | null;
  #queue: Promise<unknown> = Promise.resolve();
  #stats: SessionStats;

  constructor(
    session: ort.InferenceSession,
    provider: "cpu" | "cuda",
    label: string,
    fallbackReason?: string,
  ) {
    this.#session = session;
    this.provider = provider;
    this.label = label;
    this.inputs = metadataOf(session, "input");
    this.outputs = metadataOf(session, "output");
    this.#stats = { provider, fallbackReason, runs: 0, items: 0, totalMs: 0, lastMs: 0 };
  }

  run(feeds: Record<string, TensorData>, outputNames?: string[]): Promise<Record<string, TensorData>> {
    const next = this.#queue.then(() => this.#runNow(feeds, outputNames));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  async #runNow(
    feeds: Record<string, TensorData>,
    outputNames?: string[],
  ): Promise<Record<string, TensorData>> {
    const session = this.#session;
    if (!session) throw new InferenceError(`Cannot run model ${this.label}: the session is closed`);
    const ortFeeds: Record<string, ort.Tensor> = {};
    let items = 0;
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor("float32", t.data, t.dims);
      items = Math.max(items, t.dims[0] ?? 1);
    }
    const t0 = performance.now();
    let result: ort.InferenceSession.ReturnType;
    try {
      result = outputNames ? await session.run(ortFeeds, outputNames) : await session.run(ortFeeds);
    } catch (err) {
      throw new InferenceError(`Cannot run model ${this.label}: ${firstLine(err)}`, {
        cause: err,
        context: { file: this.label },
      });
    }
    const ms = performance.now() - t0;
    this.#stats.runs++;
    this.#stats.items += items;
    this.#stats.totalMs += ms;
    this.#stats.lastMs = ms;
    const out: Record<string, TensorData> = {};
    for (const [name, tensor] of Object.entries(result)) {
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims.map(Number) };
    }
    return out;
  }

  async warmup(dims: Record<string, number[]> = {}): Promise<Record<string, TensorData>> {
    const feeds: Record<string, TensorData> = {};
    for (const input of this.inputs) {
      const shape = dims[input.name] ?? input.shape.map((d) => (typeof d === "number" && d > 0 ? d : 1));
      feeds[input.name] = { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), dims: shape };
    }
    const t0 = performance.now();
    const out = await this.run(feeds);
    this.#stats.warmupMs = performance.now() - t0;
    // The warm-up run is not counted as work.
    this.#stats.runs--;
    this.#stats.items -= feeds[this.inputs[0]?.name]?.dims[0] ?? 0;
    this.#stats.totalMs -= this.#stats.warmupMs;
    return out;
  }

  stats(): SessionStats {
    return { ...this.#stats };
  }

  async close(): Promise<void> {
    const s = this.#session;
    this.#session = null;
    await this.#queue;
    if (s) await s.release();
  }
}
