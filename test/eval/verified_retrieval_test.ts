import { tempDir } from "../map/_tmp.ts";
import assert from "node:assert/strict";
import { evaluateRetrieval } from "../../src/eval/retrieval.ts";
import { createRetrievalVerifier } from "../../src/eval/verified_retrieval.ts";
import { FakeModel } from "../map/_fake.ts";
import { needsShared, sharedPath } from "../_shared.ts";

Deno.test({
  name: "createRetrievalVerifier() re-ranks candidates by geometric verification inside evaluateRetrieval",
  ...needsShared(),
  fn: async () => {
    const dir = await tempDir();
    const src = sharedPath("data/rtabmap_samples_loop/images");
    for (const n of [1, 2, 3, 15, 25, 35, 41]) await Deno.copyFile(`${src}/${n}.jpg`, `${dir}/${n}.jpg`);
    await Deno.writeTextFile(`${dir}/database.csv`, "image\n1.jpg\n15.jpg\n25.jpg\n2.jpg\n35.jpg\n3.jpg\n");
    await Deno.writeTextFile(`${dir}/queries.csv`, "image\n41.jpg\n");
    await Deno.writeTextFile(
      `${dir}/matches.csv`,
      "query,database\n41.jpg,1.jpg\n41.jpg,2.jpg\n41.jpg,3.jpg\n",
    );
    const seen: number[][] = [];
    const verifier = createRetrievalVerifier({ topK: 6 });
    const rerank = verifier.rerank;
    verifier.rerank = async (qi, cands, image) => {
      const out = await rerank(qi, cands, image);
      seen.push(out.map((c) => c.inliers ?? -1));
      return out;
    };
    const r = await evaluateRetrieval(dir, {
      model: new FakeModel(),
      index: "exact",
      verifier,
      onWarning: () => {},
    });
    assert.equal(seen.length, 1);
    assert.equal(seen[0].length, 6);
    assert.ok(seen[0][0] > 0, `the first candidate after re-ranking has inliers: ${seen[0]}`);
    assert.equal(r.recall[1], 1, "a verified true match comes first");
    assert.ok(r.latencyMs.rerank);
  },
});
