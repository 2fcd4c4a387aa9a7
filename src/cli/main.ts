/**
 * `waymark`: the command-line shell. Thin: each command module parses its arguments with `node:util`
 * parseArgs, calls library functions, and maps errors to exit codes (see `_common.ts`).
 *
 * Commands are listed statically here; each module is imported only when its command runs, so that
 * `waymark --help` starts fast.
 *
 * @module
 */
import { EXIT_FAILURE, EXIT_USAGE, reportError, runCommand } from "./_common.ts";

/** A command's module exports `run(args)` and a one-line `summary`. */
export interface CommandModule {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** Every command: name (may be two words) to a loader of its module. */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  "map build": () => import("./cmd_map_build.ts"),
  "map info": () => import("./cmd_map_info.ts"),
  "map repair": () => import("./cmd_map_repair.ts"),
  "map pull": () => import("./cmd_map_pull.ts"),
  "localize": () => import("./cmd_localize.ts"),
  "slam": () => import("./cmd_slam.ts"),
  "eval retrieval": () => import("./cmd_eval_retrieval.ts"),
  "eval stream": () => import("./cmd_eval_stream.ts"),
  "eval loops": () => import("./cmd_eval_loops.ts"),
  "eval suite": () => import("./cmd_eval_suite.ts"),
  "verify": () => import("./cmd_verify.ts"),
  "train": () => import("./cmd_train.ts"),
  "sim export": () => import("./cmd_sim_export.ts"),
  "model info": () => import("./cmd_model_info.ts"),
};

/**
 * One line per command for `waymark --help`, kept here so that help does not load every command's module
 * (onnxruntime, sharp, ...). test/cli/main_test.ts checks that every command has one and answers --help.
 */
export const SUMMARIES: Record<string, string> = {
  "map build": "describe a dataset or image folder and write a versioned map",
  "map info": "what a map holds, checked",
  "map repair": "salvage a damaged keyframe journal: keep every valid record, move damaged bytes aside",
  "map pull": "refresh a fleet map's local cache from its shared table now",
  "localize": "live localization against a map; events to WebSocket/rosbridge/JSONL",
  "slam": "loop closures with no prior map; the map grows online (journaled, multi-session)",
  "eval retrieval": "single-frame Recall@1/5/10 and per-stage latency on a dataset",
  "eval stream": "replay queries through the pipeline: single-frame and smoothed Recall@1, ECE, latency",
  "eval loops": "replay a sequence as SLAM: precision, recall, recall at 100% precision",
  "eval suite": "robustness suite: degraded, simulated and aliased rows; classic recipe beside Waymark",
  "verify": "DELF-style geometric verification of two images, drawn side by side",
  "train": "learn the NetVLAD head with the weakly supervised ranking loss",
  "sim export": "render the simulated route as a dataset",
  "model info": "load and check a model; print its contract and execution provider",
};

const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
const list = (names: string[]) => names.map((c) => `  ${c.padEnd(width)}  ${SUMMARIES[c] ?? ""}`).join("\n");

const USAGE = `waymark: live visual localization (NetVLAD retrieval + DELF verification)

Usage: waymark <command> [options]      (--help on any command)

Commands:
${list(Object.keys(COMMANDS))}
`;

/** Resolve argv to a command and run it; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    console.log(USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const two = argv.slice(0, 2).join(" ");
  const name = COMMANDS[two] ? two : COMMANDS[argv[0]] ? argv[0] : null;
  if (name === null) {
    const group = Object.keys(COMMANDS).filter((c) => c.startsWith(argv[0] + " "));
    if (group.length > 0 && (argv.length === 1 || argv[1] === "--help")) {
      console.log(`waymark ${argv[0]}: subcommands\n${list(group)}`);
      return argv.length === 1 ? 2 : 0;
    }
    console.error(`waymark: unknown command '${argv.slice(0, 2).join(" ")}'\n\n${USAGE}`);
    return 2;
  }
  const rest = argv.slice(name.split(" ").length);
  const mod = await COMMANDS[name]();
  return await runCommand(() => mod.run(rest));
}

if (import.meta.main) {
  // An error escaping a command asynchronously (a socket's late failure, a stray rejection) is reported like
  // any other: one line and exit code 1, never the runtime's stack trace.
  const fatal = (err: unknown) => {
    const r = reportError(err);
    console.error(r.message);
    Deno.exit(r.code === EXIT_USAGE ? EXIT_USAGE : EXIT_FAILURE);
  };
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    fatal(e.reason);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    fatal(e.error);
  });
  Deno.exit(await main(Deno.args));
}
