import assert from "node:assert/strict";
import { main } from "../../src/cli/main.ts";

Deno.test("waymark train --help documents the options and exits 0", async () => {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    assert.equal(await main(["train", "--help"]), 0);
  } finally {
    console.log = log;
  }
  const help = lines.join("\n");
  for (
    const opt of [
      "--out",
      "--epochs",
      "--lr",
      "--margin",
      "--pos-radius",
      "--neg-radius",
      "--resume",
      "--seed",
      "--backbone",
    ]
  ) {
    assert.ok(help.includes(opt), `help mentions ${opt}`);
  }
});

Deno.test("waymark train exits 2 with a clear message on missing --out or a bad option value", async () => {
  const errors: string[] = [];
  const err = console.error;
  console.error = (s: string) => errors.push(s);
  try {
    assert.equal(await main(["train", "some-dataset"]), 2);
    assert.equal(await main(["train", "some-dataset", "--out", "x", "--epochs", "two"]), 2);
    assert.equal(await main(["train", "some-dataset", "--out", "x", "--optimizer", "rmsprop"]), 2);
  } finally {
    console.error = err;
  }
  assert.ok(errors.some((e) => /--out/.test(e)));
  assert.ok(errors.some((e) => /'epochs' must be an integer/.test(e)));
  assert.ok(errors.some((e) => /'optimizer' must be adam or sgd/.test(e)));
});
