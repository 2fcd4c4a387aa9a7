import assert from "node:assert/strict";
import { evaluateRetrieval, retrievalReportJson } from "../../src/eval/retrieval.ts";
import { decodeFake, FakeModel } from "../map/_fake.ts";
import { fakeRetrievalDataset } from "./_fixture.ts";

Deno.test("evaluateRetrieval() finds noisy copies of database images and counts the unseen query apart", async () => {
  const dir = await fakeRetrievalDataset(8);
  const model = new FakeModel();
  const r = await evaluateRetrieval(dir, { model, decode: decodeFake, index: "exact", onWarning: () => {} });
  assert.equal(r.queries, 8);
  assert.equal(r.queriesWithoutMatch, 1);
  assert.equal(r.recall[1], 1);
  assert.equal(r.recall[10], 1);
  assert.equal(r.perQuery[3].ranked[0], 3);
  assert.equal(r.perQuery[3].ranked.length, 8);
  for (const stage of ["decode", "describe", "search", "total"] as const) {
    assert.equal(r.latencyMs[stage]!.count, 9);
  }
  assert.equal(r.latencyMs.rerank, undefined);
  const json = retrievalReportJson(r);
  assert.deepEqual(
    Object.keys(json).slice(0, 4),
    ["recall@1", "recall@5", "recall@10", "queries"],
  );
  assert.deepEqual(Object.keys(json.latency_ms as object), ["decode", "describe", "search", "total"]);
  assert.equal(model.closed, false);
});

Deno.test("evaluateRetrieval() applies the rerank hook to each query's candidates before scoring", async () => {
  const dir = await fakeRetrievalDataset(6);
  const seen: number[] = [];
  const r = await evaluateRetrieval(dir, {
    model: new FakeModel(),
    decode: decodeFake,
    index: "hnsw",
    candidates: 12,
    ns: [1, 3],
    onWarning: () => {},
    rerank: (qi, cands) => {
      seen.push(qi);
      return Promise.resolve([...cands].reverse()); // a deliberately bad re-ranker
    },
  });
  assert.equal(seen.length, 7);
  assert.equal(r.recall[1], 0);
  assert.ok(r.latencyMs.rerank);
});

Deno.test("evaluateRetrieval() counts an undecodable query as a miss and keeps the map when asked", async () => {
  const dir = await fakeRetrievalDataset(4);
  await Deno.writeFile(`${dir}/q_2.png`, new Uint8Array([1, 2, 3]));
  const warnings: string[] = [];
  const mapOut = `${dir}/map`;
  const r = await evaluateRetrieval(dir, {
    model: new FakeModel(),
    decode: decodeFake,
    index: "exact",
    mapOut,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(r.failedQueries, 1);
  assert.equal(r.recall[1], 0.75);
  assert.match(warnings[0], /q_2\.png counted as a miss/);
  assert.ok((await Deno.stat(`${mapOut}/manifest.json`)).isFile);
});
