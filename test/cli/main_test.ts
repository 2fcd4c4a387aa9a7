import assert from "node:assert/strict";
import { COMMANDS, SUMMARIES } from "../../src/cli/main.ts";
import { runCli } from "./_capture.ts";

Deno.test("waymark --help lists every command with its one-line summary", async () => {
  const { code, stdout } = await runCli(["--help"]);
  assert.equal(code, 0);
  for (const name of Object.keys(COMMANDS)) {
    assert.ok(SUMMARIES[name], `summary for '${name}'`);
    assert.match(stdout, new RegExp(`^  ${name} +${SUMMARIES[name].slice(0, 20)}`, "m"));
  }
});

Deno.test("every command answers --help with its usage and exit code 0", async () => {
  for (const name of Object.keys(COMMANDS)) {
    const { code, stdout } = await runCli([...name.split(" "), "--help"]);
    assert.equal(code, 0, `waymark ${name} --help exit code`);
    assert.match(stdout, new RegExp(`waymark ${name}`), `waymark ${name} --help prints its usage`);
  }
});

Deno.test("an unknown command is a usage error naming it", async () => {
  const { code, stderr } = await runCli(["mapp", "build"]);
  assert.equal(code, 2);
  assert.match(stderr, /unknown command 'mapp build'/);
});

Deno.test("a command group alone lists its subcommands", async () => {
  const { code, stdout } = await runCli(["eval"]);
  assert.equal(code, 2);
  assert.match(stdout, /eval retrieval/);
  assert.match(stdout, /eval loops/);
});
