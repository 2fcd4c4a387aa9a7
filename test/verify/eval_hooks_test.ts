import assert from "node:assert/strict";
import {
  createVerificationHook,
  loopMetrics,
  MapFeatureBuilder,
  memoryStore,
} from "../../src/verify/eval_hooks.ts";
import { shifted, texturedImage } from "./_synthetic.ts";

Deno.test("loopMetrics() walks down by confidence until the first false event", () => {
  const loops = [[], [], [], [0], [1], [2]];
  const events = [
    { query: 3, match: 0, confidence: 0.9 },
    { query: 4, match: 1, confidence: 0.8 },
    { query: 2, match: 0, confidence: 0.7 }, // false: frame 2 has no loop
    { query: 5, match: 2, confidence: 0.6 },
  ];
  const m = loopMetrics(events, loops);
  assert.equal(m.loopFrames, 3);
  assert.equal(m.recallAt100Precision, 2 / 3);
  assert.equal(m.recall, 1);
  assert.equal(m.precision, 3 / 4);
  // A false event tied with a true one at the top: no threshold gives 100% precision there.
  assert.equal(
    loopMetrics([{ query: 3, match: 0, confidence: 1 }, { query: 2, match: 0, confidence: 1 }], loops)
      .recallAt100Precision,
    0,
  );
});

Deno.test("createVerificationHook() re-ranks the true place to the top", async () => {
  const a = texturedImage(256, 192, 20), c = texturedImage(256, 192, 21);
  const b = new MapFeatureBuilder();
  await b.add(7, a);
  await b.add(8, c);
  const { pca, features } = b.finish();
  const hook = createVerificationHook(memoryStore(features), pca, { minInliers: 20, topK: 2 });
  const out = await hook(shifted(a, 10, 6), [
    { placeId: 8, similarity: 0.9, rank: 0 },
    { placeId: 7, similarity: 0.8, rank: 1 },
    { placeId: 9, similarity: 0.1, rank: 2 },
  ]);
  assert.deepEqual(out.hypotheses.map((h) => h.placeId), [7, 8, 9]);
  assert.ok(out.hypotheses[0].inliers! > 20);
  assert.equal(out.results.length, 2);
});
