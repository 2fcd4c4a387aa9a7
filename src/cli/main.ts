/**
 * `waymark`: the command-line shell. Thin: each command module parses its arguments with `node:util`
 * parseArgs, calls library functions, and maps errors to exit codes (see `_common.ts`).
 *
 * Commands are listed statically here; each module is imported only when its command runs, so that
 * `waymark --help` starts fast.
 *
 * @module
 */
import { runCommand } from "./_common.ts";

/** A command's module exports `run(args)` and a one-line `summary`. */
export interface CommandModule {
  summary: string;
  run(args: string[]): Promise<number>;
}

/** Every command: name (may be two words) to a loader of its module. */
export const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  "map build": () => import("./cmd_map_build.ts"),
  "map info": () => import("./cmd_map_info.ts"),
  "eval retrieval": () => import("./cmd_eval_retrieval.ts"),
  "eval stream": () => import("./cmd_eval_stream.ts"),
  "eval loops": () => import("./cmd_eval_loops.ts"),
  "sim export": () => import("./cmd_sim_export.ts"),
  "localize": () => import("./cmd_localize.ts"),
  "slam": () => import("./cmd_slam.ts"),
  "verify": () => import("./cmd_verify.ts"),
  "train": () => import("./cmd_train.ts"),
  "model info": () => import("./cmd_model_info.ts"),
};

const USAGE = `waymark: live visual localization (NetVLAD retrieval + DELF verification)

Usage: waymark <command> [options]      (--help on any command)

Commands:
${Object.keys(COMMANDS).map((c) => `  ${c}`).join("\n")}
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
      console.log(`waymark ${argv[0]}: subcommands\n${group.map((c) => `  ${c}`).join("\n")}`);
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
  Deno.exit(await main(Deno.args));
}
