/** `eval stream --report` and `eval loops --report` on the simulated dataset: the page holds their charts. */
import assert from "node:assert/strict";
import { GENERIC_MODEL, simDataset } from "./_sim_fixture.ts";
import { runCli } from "./_capture.ts";
import { tempDir } from "../map/_tmp.ts";

Deno.test("eval stream --report: reliability diagram, strips; eval loops --report: PR curve with operating point", async () => {
  const ds = await simDataset();
  const dir = await tempDir();
  const s = await runCli(["eval", "stream", ds, "--model", GENERIC_MODEL, "--report", `${dir}/stream`]);
  assert.equal(s.code, 0, s.stderr);
  const sh = await Deno.readTextFile(`${dir}/stream/index.html`);
  assert.match(sh, /Reliability diagram \(ECE \d\.\d{3}\)/);
  assert.match(sh, /A sample of queries/);
  assert.match(sh, /images\/t1_\d+\.jpg/);
  const l = await runCli(["eval", "loops", ds, "--model", GENERIC_MODEL, "--report", `${dir}/loops`]);
  assert.equal(l.code, 0, l.stderr);
  const lh = await Deno.readTextFile(`${dir}/loops/index.html`);
  assert.match(lh, /Precision-recall of loop events/);
  assert.match(lh, /operating point \(conf ≥ \d\.\d{3}\)/);
  assert.match(lh, /recall at 100% precision/);
});
