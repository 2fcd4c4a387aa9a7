/**
 * Shared helpers for CLI commands: error to exit-code mapping, help and usage errors, option parsing, progress bar.
 *
 * The progress bar is kept rather than `cli-progress`: it is one line on stderr, throttled, and silent when
 * stderr is not a terminal (so JSON output and logs stay clean), which is all the commands need; the package
 * would add a dependency and its own formatting and stream options for the same thirty lines.
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { invalid, requireRange, ValidationError, WaymarkError } from "../errors.ts";
import type { MapIndexKind } from "../map/format.ts";
import type { ProviderChoice } from "../types.ts";

/** Exit codes: 0 ok, 1 runtime failure, 2 usage error. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The `parseArgs` options the three `eval` commands share: --json, --model, --clusters, --provider, --verify. */
export const EVAL_OPTIONS = {
  json: { type: "boolean", default: false },
  model: { type: "string" },
  clusters: { type: "string" },
  provider: { type: "string" },
  verify: { type: "boolean", default: false },
} as const;

/**
 * The options `eval retrieval` and `eval stream` take besides {@link EVAL_OPTIONS}: the ground-truth --radius,
 * --index, --top-k, --verify-top, --per-query lines and the HTML --report.
 */
export const RETRIEVAL_EVAL_OPTIONS = {
  ...EVAL_OPTIONS,
  radius: { type: "string" },
  index: { type: "string" },
  "top-k": { type: "string" },
  "verify-top": { type: "string" },
  "per-query": { type: "boolean", default: false },
  report: { type: "string" },
} as const;

/** Check a `--radius` value: metres of positional ground truth in [0, 1e7], 25 when absent. */
export function radiusOption(action: string, value: string | undefined): number {
  return value === undefined ? 25 : requireRange(action, "radius", Number(value), 0, 1e7);
}

/** The `-h, --help` option every command's `parseArgs` takes (spread it into the options). */
export const HELP_OPTION = { help: { type: "boolean", short: "h", default: false } } as const;

/** `--help`: print a command's `help` on stdout; returns `EXIT_OK`. */
export function printHelp(help: string): number {
  console.log(help);
  return EXIT_OK;
}

/** What a command's arguments are checked against before it runs (see {@link parseCommand}). */
export interface CommandSpec<O extends ParseArgsOptionsConfig, R extends keyof O & string> {
  /** The command's name in usage errors (`map build`). */
  name: string;
  /** The command's help text (`--help`, and after a usage error). */
  help: string;
  /** Its `parseArgs` options; `-h, --help` is added. */
  options: O;
  /**
   * Its positional arguments: `count` of them (at most `count` when `optional`), `what` naming them in the
   * usage error ("one map folder"). Absent: none (`parseArgs` refuses one).
   */
  positionals?: { count: number; what: string; optional?: boolean };
  /** String options that must be given, not empty (when one is missing, the usage error names them all). */
  required?: R[];
}

type ParseResults<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP_OPTION; allowPositionals: true }>
>;

/** The parsed arguments of a command: its options (the required ones as strings) and positionals. */
export interface ParsedCommand<O extends ParseArgsOptionsConfig, R extends string = never> {
  values: ParseResults<O>["values"] & { [K in R]: string };
  positionals: string[];
}

/**
 * Parse a command's arguments with `node:util` parseArgs: the values and positionals, or the exit code when
 * the command has nothing more to do: `--help` (help printed, `EXIT_OK`), or positionals or required options
 * missing (usage error and help printed, `EXIT_USAGE`). A malformed option is thrown by parseArgs (exit 2).
 *
 * @example
 * ```ts ignore
 * const parsed = parseCommand(args, { name: "map info", help: HELP, options, positionals: { count: 1, what: "one map folder" } });
 * if (typeof parsed === "number") return parsed;
 * ```
 */
export function parseCommand<
  const O extends ParseArgsOptionsConfig,
  const R extends keyof O & string = never,
>(
  args: string[],
  spec: CommandSpec<O, R>,
): ParsedCommand<O, R> | number {
  const { values, positionals } = parseArgs({
    args,
    options: { ...spec.options, ...HELP_OPTION },
    allowPositionals: spec.positionals !== undefined,
  });
  const given = values as Record<string, unknown>;
  if (given.help) return printHelp(spec.help);
  const want = spec.positionals;
  const got = positionals.length;
  if (want && (want.optional ? got > want.count : got !== want.count)) {
    const expected = want.optional ? `at most ${want.what}` : want.what;
    return usageError(spec.name, spec.help, `expected ${expected}, got ${got}`);
  }
  const required = spec.required ?? [];
  if (required.some((k) => typeof given[k] !== "string" || given[k] === "")) {
    const names = required.map((k) => `--${k}`);
    const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
    return usageError(spec.name, spec.help, `${list} ${names.length === 1 ? "is" : "are"} required`);
  }
  return { values, positionals } as ParsedCommand<O, R>;
}

/**
 * A usage error: `waymark <command>: <problem>` then the command's `help`, on stderr; returns `EXIT_USAGE`.
 *
 * @example
 * ```ts ignore
 * if (positionals.length !== 1) return usageError("eval loops", HELP, "expected one dataset folder");
 * ```
 */
export function usageError(command: string, help: string, problem: string): number {
  console.error(`waymark ${command}: ${problem}\n\n${help}`);
  return EXIT_USAGE;
}

/**
 * Parse a numeric option: `fallback` when absent, else a finite number (an integer when `integer`), or a
 * `ValidationError` naming the option for `action`.
 */
export function numberOption(
  action: string,
  name: string,
  value: string | undefined,
  fallback: number,
  integer = false,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw invalid(action, name, integer ? "an integer" : "a number", value);
  }
  return n;
}

/** Parse a positive integer option. */
export function intOption(action: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n <= 0) {
    throw invalid(action, name, "a positive integer", value);
  }
  return n;
}

/**
 * Check an output folder of a command that writes one (train, sim export): absent, an empty folder, or a
 * folder whose every entry `ours` accepts (this command's own earlier output). Anything else (a file, a folder
 * holding other content) is refused before any work, naming what is there.
 * @throws {ValidationError}
 */
export async function checkOutputFolder(
  dir: string,
  action: string,
  ours: (name: string) => boolean,
): Promise<"absent" | "empty" | "ours"> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(dir);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "absent";
    throw err;
  }
  if (!st.isDirectory) {
    throw new ValidationError(
      `Cannot ${action} to ${dir}: it is not a folder (a file or a link): choose a new path (nothing was changed)`,
      { context: { file: dir } },
    );
  }
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  if (names.length === 0) return "empty";
  const foreign = names.filter((n) => !ours(n)).sort();
  if (foreign.length > 0) {
    throw new ValidationError(
      `Cannot ${action} to ${dir}: the folder holds other files (${
        foreign.slice(0, 10).join(", ")
      }); choose a new path or an empty folder (nothing was changed)`,
      { context: { file: dir, foreign } },
    );
  }
  return "ours";
}

/** Check a `--pca` value: a non-negative integer, or undefined when absent. */
export function pcaOption(action: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0) {
    throw invalid(action, "pca", "a non-negative integer (0 = no PCA)", value);
  }
  return n;
}

/** Check an `--index` value. */
export function indexOption(action: string, value: string | undefined): MapIndexKind {
  const v = value ?? "hnsw";
  if (v !== "hnsw" && v !== "exact") throw invalid(action, "index", "one of hnsw, exact", v);
  return v;
}

/**
 * The flags of the commands that build a map with the model they fit (`map build`, `eval retrieval`), checked:
 * --model, --index, --preset, --clusters, --pca and --provider, as `buildMap`'s options.
 */
export function mapModelOptions(
  action: string,
  v: { model?: string; index?: string; preset?: string; clusters?: string; pca?: string; provider?: string },
): {
  modelDir?: string;
  index: MapIndexKind;
  preset?: string;
  clusters?: number;
  pcaDim?: number;
  provider: ProviderChoice;
} {
  return {
    modelDir: v.model,
    index: indexOption(action, v.index),
    preset: v.preset,
    clusters: v.clusters === undefined ? undefined : intOption(action, "clusters", v.clusters, 64),
    pcaDim: pcaOption(action, v.pca),
    provider: providerOption(action, v.provider),
  };
}

/** Check a `--provider` value. */
export function providerOption(action: string, value: string | undefined): ProviderChoice {
  const v = value ?? "auto";
  if (v !== "auto" && v !== "cpu" && v !== "cuda") {
    throw invalid(action, "provider", "one of auto, cpu, cuda", v);
  }
  return v;
}

const PHASE_LABEL: Record<string, string> = {
  decode: "decoding (fit)",
  fit: "fitting model",
  describe: "describing",
  index: "indexing",
  write: "writing",
  query: "querying",
};

/** A progress reporter that shows one ProgressBar per phase on a terminal (stderr). */
export function phaseProgress(): {
  update(p: { phase: string; done: number; total: number }): void;
  end(): void;
} {
  let phase = "";
  let bar: ProgressBar | null = null;
  const t0 = performance.now();
  return {
    update(p) {
      if (p.phase !== phase) {
        bar?.done();
        phase = p.phase;
        bar = new ProgressBar((PHASE_LABEL[phase] ?? phase).padEnd(15), p.total);
      }
      const s = (performance.now() - t0) / 1000;
      bar!.update(p.done, p.phase === "describe" && s > 0 ? `${(p.done / s).toFixed(1)} img/s` : "");
    },
    end() {
      bar?.done();
      bar = null;
    },
  };
}

/** Node-style system error codes, as a user would read them. */
const SYSTEM_CODES: Record<string, string> = {
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "address not available on this machine",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or folder",
  EISDIR: "is a folder",
  ENOTDIR: "not a folder",
  EEXIST: "already exists",
  ENOTFOUND: "host not found",
  ECONNREFUSED: "connection refused",
  ENOSPC: "no space left on the device",
};

/** True for an error the operating system or the runtime reported (a file, a socket), not a bug. */
function isSystemError(err: unknown): err is Error {
  if (!(err instanceof Error)) return false;
  if (Object.values(Deno.errors).some((E) => err instanceof E)) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code);
}

/**
 * The one line (or, with `WAYMARK_DEBUG=1`, the stack) printed for an error, and its exit code: 2 for a usage
 * error (`ValidationError`, bad flags), 1 for everything else. Nothing a command throws reaches the runtime's
 * uncaught-error handler, so a user never sees a stack trace unless they ask for one.
 */
export function reportError(err: unknown): { message: string; code: number } {
  if (err instanceof WaymarkError) {
    return {
      message: `waymark: ${err.name}: ${err.message}`,
      code: err.name === "ValidationError" ? EXIT_USAGE : EXIT_FAILURE,
    };
  }
  const code = (err as { code?: unknown })?.code;
  if (
    (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) ||
    (err instanceof TypeError && /parseArgs|ERR_PARSE_ARGS/.test(err.message))
  ) {
    return { message: `waymark: ${(err as Error).message}`, code: EXIT_USAGE };
  }
  if (isSystemError(err)) {
    // Deno's own errors already say it in words; a Node-style one says only its code.
    const words = !Object.values(Deno.errors).some((E) => err instanceof E) && typeof code === "string";
    const what = words && SYSTEM_CODES[code] ? ` (${SYSTEM_CODES[code]})` : "";
    return { message: `waymark: ${err.name}: ${err.message}${what}`, code: EXIT_FAILURE };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    message: `waymark: internal error: ${e.name}: ${e.message.split("\n")[0]}\n` +
      "  (a bug in Waymark, or input it does not yet check: please report it; WAYMARK_DEBUG=1 prints the stack)",
    code: EXIT_FAILURE,
  };
}

/** Run a command body, printing errors as one clear line and mapping them to exit codes (see `reportError`). */
export async function runCommand(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    const r = reportError(err);
    console.error(r.message);
    if (debugEnabled() && err instanceof Error && err.stack) console.error(err.stack);
    return r.code;
  }
}

/** `WAYMARK_DEBUG` is set (and env access is allowed). */
function debugEnabled(): boolean {
  try {
    return !!Deno.env.get("WAYMARK_DEBUG");
  } catch {
    return false;
  }
}

/** Seconds between two progress lines when stderr is not a terminal. */
export const PROGRESS_LINE_S = 5;

/** A single-line progress bar on a terminal (stderr); a plain line every few seconds when stderr is not a TTY. */
export class ProgressBar {
  #total: number;
  #label: string;
  #tty: boolean;
  #last = 0;
  #lastLine: number;
  #printed = false;
  #finished = false;
  #now: () => number;
  /** `options` (tests): whether stderr is a terminal, the clock in ms. */
  constructor(label: string, total: number, options: { tty?: boolean; now?: () => number } = {}) {
    this.#label = label;
    this.#total = Math.max(1, total);
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    this.#now = options.now ?? (() => performance.now());
    this.#lastLine = this.#now();
  }
  /**
   * Update to `done` items; `extra` is appended (e.g. "loss 0.12"). Not on a terminal: one plain line every
   * {@link PROGRESS_LINE_S} seconds, and the last one when a step that printed any finishes.
   */
  update(done: number, extra = ""): void {
    if (!this.#tty) {
      const t = this.#now();
      const finished = done >= this.#total && this.#printed && !this.#finished;
      if (!finished && (done >= this.#total || t - this.#lastLine < PROGRESS_LINE_S * 1000)) return;
      this.#lastLine = t;
      this.#printed = true;
      this.#finished = done >= this.#total;
      console.error(`${this.#label.trimEnd()}: ${done}/${this.#total}${extra ? ` ${extra}` : ""}`);
      return;
    }
    const now = performance.now();
    if (done < this.#total && now - this.#last < 100) return;
    this.#last = now;
    const width = 30;
    const filled = Math.round((done / this.#total) * width);
    const line = `\r${this.#label} [${"#".repeat(filled)}${
      "-".repeat(width - filled)
    }] ${done}/${this.#total} ${extra}`;
    Deno.stderr.writeSync(new TextEncoder().encode(line));
  }
  /** End the bar's line. */
  done(): void {
    if (this.#tty) Deno.stderr.writeSync(new TextEncoder().encode("\n"));
  }
}
