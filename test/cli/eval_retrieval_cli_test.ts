import assert from "node:assert/strict";
import { needsShared, sharedPath } from "../_shared.ts";

const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;

Deno.test({
  name:
    "waymark eval retrieval --json prints one parseable JSON object as the last stdout line (rtabmap, default model)",
  ...needsShared(),
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        main,
        "eval",
        "retrieval",
        sharedPath("data/rtabmap_samples_loop"),
        "--json",
        "--provider",
        "cpu",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trimEnd();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const last = JSON.parse(stdout.split("\n").at(-1)!);
    for (const k of ["recall@1", "recall@5", "recall@10", "queries", "latency_ms"]) assert.ok(k in last, k);
    assert.equal(last.queries, 44);
    for (const stage of ["decode", "describe", "search", "total"]) {
      assert.deepEqual(Object.keys(last.latency_ms[stage]), ["p50", "p90", "p99"]);
    }
    // The regression guard of CI (the model's own bar is 0.95).
    assert.ok(last["recall@1"] >= 0.9, `recall@1 ${last["recall@1"]}`);
    assert.ok(last["recall@10"] >= last["recall@5"] && last["recall@5"] >= last["recall@1"]);
  },
});
