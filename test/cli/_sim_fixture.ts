/**
 * A small simulated dataset (2 traversals of a short loop, 160x120) exported once per test process, and a map of
 * its first traversal built with the shipped generic model: shared by the localize and slam CLI tests.
 * @module
 */
import { exportSimDataset } from "../../src/io/simulator/export.ts";
import { tempDir } from "../map/_tmp.ts";
import { runCli } from "./_capture.ts";

/** The shipped generic model folder. */
export const GENERIC_MODEL = new URL("../../models/waymark-generic", import.meta.url).pathname;

let dataset: Promise<string> | null = null;
let map: Promise<string> | null = null;

/** The exported dataset folder (database.csv, queries.csv, sequence.csv, loops.csv). */
export function simDataset(): Promise<string> {
  dataset ??= (async () => {
    const dir = `${await tempDir()}/ds`;
    await exportSimDataset(dir, {
      width: 160,
      height: 120,
      frames: 40,
      traversals: 2,
      seed: 3,
      condition: "lighting",
      strength: 0.5,
    });
    return dir;
  })();
  return dataset;
}

/** A map of the dataset's first traversal (database.csv), built with `waymark map build`. */
export function simMap(): Promise<string> {
  map ??= (async () => {
    const out = `${await tempDir()}/map`;
    const r = await runCli([
      "map",
      "build",
      await simDataset(),
      "--out",
      out,
      "--model",
      GENERIC_MODEL,
      "--index",
      "exact",
    ]);
    if (r.code !== 0) throw new Error(`map build failed: ${r.stderr}`);
    return out;
  })();
  return map;
}

/**
 * Run the CLI in-process; `onStderr` sees each stderr line as it is printed (to connect to a served socket).
 */
export async function runCliLive(
  argv: string[],
  onStderr: (line: string) => void,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { main } = await import("../../src/cli/main.ts");
  const out: string[] = [], err: string[] = [];
  const { log, error, warn } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = console.warn = (...a: unknown[]) => {
    const line = a.join(" ");
    err.push(line);
    onStderr(line);
  };
  try {
    const code = await main(argv);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    Object.assign(console, { log, error, warn });
  }
}
