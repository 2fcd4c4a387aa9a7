import assert from "node:assert/strict";
import { join } from "node:path";
import { fileExists } from "../src/_fs.ts";

Deno.test("fileExists() is true for a file and false for a folder or a missing path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "a.csv");
    await Deno.writeTextFile(file, "x\n");
    await Deno.mkdir(join(dir, "sub"));
    assert.equal(await fileExists(file), true);
    assert.equal(await fileExists(join(dir, "sub")), false);
    assert.equal(await fileExists(join(dir, "missing.csv")), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
