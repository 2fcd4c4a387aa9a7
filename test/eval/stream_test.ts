import assert from "node:assert/strict";
import { evaluateStream, streamReportJson } from "../../src/eval/stream.ts";
import { loadGenericModel } from "../../src/model/generic_model.ts";
import { needsShared, sharedPath } from "../_shared.ts";

Deno.test({
  name: "evaluateStream on rtabmap_samples_loop: smoothing does not lose to single frames, ECE is small",
  ...needsShared(),
  fn: async () => {
    const model = await loadGenericModel({ provider: "cpu" });
    try {
      const r = await evaluateStream(sharedPath("data/rtabmap_samples_loop"), { model, onWarning: () => {} });
      assert.equal(r.queries, 44);
      assert.ok(r.recall1 > 0.8, `single-frame R@1 ${r.recall1}`);
      assert.ok(r.smoothedRecall1 >= r.recall1, `smoothed ${r.smoothedRecall1} vs single ${r.recall1}`);
      assert.ok(r.ece < 0.15, `ECE ${r.ece}`);
      const json = streamReportJson(r);
      for (const k of ["recall@1", "smoothed_recall@1", "ece", "latency_ms"]) assert.ok(k in json, k);
    } finally {
      await model.close();
    }
  },
});
