/**
 * Issue 14 items 7 and 8 at the command line: the --publish token from the flag, a file or WAYMARK_TOKEN; token
 * flags without --publish are usage errors; IPv6 brackets are stripped; --jsonl may not name a folder.
 */
import assert from "node:assert/strict";
import { sinkSettings, TOKEN_ENV } from "../../src/cli/cmd_localize.ts";
import { ValidationError } from "../../src/errors.ts";
import { tempDir } from "../map/_tmp.ts";

Deno.test("the token comes from --token, --token-file or WAYMARK_TOKEN, in that order", async () => {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir}/token`, "from-file\n");
  const before = Deno.env.get(TOKEN_ENV);
  Deno.env.set(TOKEN_ENV, "from-env");
  try {
    const publish = "ws://127.0.0.1:0";
    assert.equal((await sinkSettings("t", { publish, token: "flag" })).publish?.token, "flag");
    assert.equal(
      (await sinkSettings("t", { publish, "token-file": `${dir}/token` })).publish?.token,
      "from-file",
    );
    assert.equal((await sinkSettings("t", { publish })).publish?.token, "from-env");
    await assert.rejects(
      sinkSettings("t", { publish, token: "a", "token-file": `${dir}/token` }),
      ValidationError,
    );
    await assert.rejects(sinkSettings("t", { publish, "token-file": `${dir}/missing` }), /token-file/);
    await Deno.writeTextFile(`${dir}/empty`, "\n");
    await assert.rejects(sinkSettings("t", { publish, "token-file": `${dir}/empty` }), /first line/);
    // The environment alone never makes a server: without --publish it is ignored.
    assert.deepEqual(await sinkSettings("t", {}), {});
  } finally {
    if (before === undefined) Deno.env.delete(TOKEN_ENV);
    else Deno.env.set(TOKEN_ENV, before);
  }
});

Deno.test("--token, --token-file or --allow-origin without --publish is a usage error", async () => {
  await assert.rejects(sinkSettings("t", { token: "x" }), /'token' must be given only with --publish/);
  await assert.rejects(sinkSettings("t", { "token-file": "f" }), /'token-file'/);
  await assert.rejects(sinkSettings("t", { "allow-origin": ["http://a"] }), /'allow-origin'/);
});

Deno.test("--publish ws://[::1]:PORT is host ::1; --allow-origin is passed on; --jsonl may not be a folder", async () => {
  const s = await sinkSettings("t", {
    publish: "ws://[::1]:9001",
    "allow-origin": ["http://localhost:3000"],
  });
  assert.equal(s.publish?.host, "::1");
  assert.equal(s.publish?.port, 9001);
  assert.deepEqual(s.publish?.allowedOrigins, ["http://localhost:3000"]);
  await assert.rejects(sinkSettings("t", { publish: "http://x" }), ValidationError);
  await assert.rejects(
    sinkSettings("t", { jsonl: await tempDir() }),
    /'jsonl' must be a file to write, not a folder/,
  );
});
