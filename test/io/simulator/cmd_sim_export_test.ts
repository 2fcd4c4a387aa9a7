import assert from "node:assert/strict";
import { run } from "../../../src/cli/cmd_sim_export.ts";
import { runCommand } from "../../../src/cli/_common.ts";

function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  return fn().then((code) => ({ code, out: out.join("\n"), err: err.join("\n") })).finally(() => {
    console.log = log;
    console.error = error;
  });
}

Deno.test("waymark sim export --help documents the options and exits 0", async () => {
  const r = await capture(() => run(["--help"]));
  assert.equal(r.code, 0);
  for (const opt of ["--frames", "--traversals", "--width", "--height", "--seed", "--condition"]) {
    assert.ok(r.out.includes(opt), `help mentions ${opt}`);
  }
});

Deno.test("waymark sim export writes a dataset and reports counts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_sim_cli_" });
  try {
    const r = await capture(() =>
      runCommand(() =>
        run([dir, "--frames", "8", "--width", "64", "--height", "48", "--condition", "lighting"])
      )
    );
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote 16 frames/);
    const sim = JSON.parse(await Deno.readTextFile(`${dir}/sim.json`));
    assert.equal(sim.options.condition, "lighting");
    assert.equal((await Deno.readTextFile(`${dir}/queries.csv`)).trim().split("\n").length, 9);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("waymark sim export rejects bad arguments with a usage exit code", async () => {
  const bad = await capture(() => runCommand(() => run(["/tmp/x", "--condition", "fog"])));
  assert.equal(bad.code, 2);
  assert.match(bad.err, /condition/);
  const nan = await capture(() => runCommand(() => run(["/tmp/x", "--frames", "ten"])));
  assert.equal(nan.code, 2);
  assert.match(nan.err, /frames/);
  const none = await capture(() => runCommand(() => run([])));
  assert.equal(none.code, 2);
});
