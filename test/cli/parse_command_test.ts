import assert from "node:assert/strict";
import { EXIT_OK, EXIT_USAGE, parseCommand } from "../../src/cli/_common.ts";

/** Run `fn` with console.log/error captured. */
function captured<T>(fn: () => T): { result: T; stdout: string; stderr: string } {
  const out: string[] = [], err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { result: fn(), stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    Object.assign(console, { log, error });
  }
}

const spec = {
  name: "demo cmd",
  help: "HELP TEXT",
  options: { out: { type: "string" }, json: { type: "boolean", default: false } },
  positionals: { count: 1, what: "one folder" },
  required: ["out"],
} as const;

Deno.test("parseCommand: values and positionals, with --help added", () => {
  const { result } = captured(() =>
    parseCommand(["dir", "--out", "o", "--json"], { ...spec, required: ["out"] })
  );
  assert.notEqual(typeof result, "number");
  if (typeof result === "number") return;
  assert.equal(result.values.out, "o");
  assert.equal(result.values.json, true);
  assert.deepEqual(result.positionals, ["dir"]);
});

Deno.test("parseCommand: --help prints the help and returns EXIT_OK, before any other check", () => {
  const r = captured(() => parseCommand(["-h"], { ...spec, required: ["out"] }));
  assert.equal(r.result, EXIT_OK);
  assert.equal(r.stdout, "HELP TEXT");
});

Deno.test("parseCommand: wrong positional count or a missing required option is a usage error with the help", () => {
  const a = captured(() => parseCommand(["--out", "o"], { ...spec, required: ["out"] }));
  assert.equal(a.result, EXIT_USAGE);
  assert.match(a.stderr, /^waymark demo cmd: expected one folder, got 0\n\nHELP TEXT/);
  const b = captured(() => parseCommand(["dir", "--out", ""], { ...spec, required: ["out"] }));
  assert.equal(b.result, EXIT_USAGE);
  assert.match(b.stderr, /waymark demo cmd: --out is required/);
  const c = captured(() =>
    parseCommand([], {
      name: "two",
      help: "H",
      options: { map: { type: "string" }, source: { type: "string" } },
      required: ["map", "source"],
    })
  );
  assert.match(c.stderr, /--map and --source are required/);
  const d = captured(() =>
    parseCommand(["a", "b"], {
      name: "opt",
      help: "H",
      options: {},
      positionals: { count: 1, what: "one x", optional: true },
    })
  );
  assert.equal(d.result, EXIT_USAGE);
  assert.match(d.stderr, /expected at most one x, got 2/);
});

Deno.test("parseCommand: a command without positionals refuses one through parseArgs", () => {
  assert.throws(() => parseCommand(["stray"], { name: "none", help: "H", options: {} }), /stray/);
});
