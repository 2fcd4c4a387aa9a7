import assert from "node:assert/strict";
import { IndexError, ValidationError } from "../../src/errors.ts";
import { BruteForceIndex } from "../../src/index/brute_force_index.ts";
import { HNSW_DEFAULTS, HnswIndex, sidecarPath } from "../../src/index/hnsw_index.ts";
import { GaussianMixture, randomUnitVectors } from "../../src/index/_synthetic.ts";
import { runVectorIndexContract } from "./vector_index_contract.ts";

runVectorIndexContract("HnswIndex", {
  create: (dim) => new HnswIndex(dim, { maxElements: 4 }),
  load: (path) => HnswIndex.load(path),
});

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_hnsw_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("HnswIndex: Recall@1 against exact search is at least 0.95 on 4000 clustered 64-d vectors", () => {
  const dim = 64, n = 4000, queries = 200;
  const mix = new GaussianMixture({ dim, clusters: 40, spread: [0.6, 1.2], seed: 21 });
  const data = mix.sample(n);
  const exact = BruteForceIndex.fromMatrix(dim, data);
  const hnsw = new HnswIndex(dim, { maxElements: 256, efConstruction: 100, efSearch: 32 });
  for (let i = 0; i < n; i++) hnsw.add(i, data.subarray(i * dim, (i + 1) * dim));
  assert.ok(hnsw.capacity >= n, "capacity grew from 256");
  const fresh = mix.sample(queries);
  const qs = Array.from({ length: queries }, (_, i) => fresh.subarray(i * dim, (i + 1) * dim));
  const truth = exact.searchBatch(qs, 1);
  let hits = 0;
  qs.forEach((q, i) => {
    if (hnsw.search(q, 1)[0].id === truth[i][0].id) hits++;
  });
  const recall = hits / queries;
  assert.ok(recall >= 0.95, `Recall@1 ${recall}`);
});

Deno.test("HnswIndex: options are validated with the option name and defaults are documented", () => {
  assert.deepEqual(new HnswIndex(4).options, HNSW_DEFAULTS);
  for (
    const [options, field] of [
      [{ m: 1 }, "m"],
      [{ m: 2.5 }, "m"],
      [{ efConstruction: 0 }, "efConstruction"],
      [{ efSearch: -3 }, "efSearch"],
      [{ maxElements: 0 }, "maxElements"],
      [{ seed: -1 }, "seed"],
    ] as const
  ) {
    assert.throws(
      () => new HnswIndex(4, options),
      (e) =>
        e instanceof ValidationError &&
        e.message.startsWith(`Cannot create HNSW index as '${field}' must be`),
    );
  }
  assert.throws(() => new HnswIndex(0), ValidationError);
  const index = new HnswIndex(4);
  index.efSearch = 128;
  assert.equal(index.efSearch, 128);
  assert.throws(() => (index.efSearch = 0), ValidationError);
});

Deno.test("HnswIndex: the same inserts with the same seed give the same results", () => {
  const dim = 32;
  const data = randomUnitVectors(800, dim, 22);
  const build = () => {
    const index = new HnswIndex(dim, { m: 8, efConstruction: 40, efSearch: 10, seed: 7 });
    for (let i = 0; i < 800; i++) index.add(i, data.subarray(i * dim, (i + 1) * dim));
    return index;
  };
  const a = build(), b = build();
  for (const q of Array.from({ length: 20 }, (_, i) => randomUnitVectors(1, dim, 300 + i))) {
    assert.deepEqual(a.search(q, 5), b.search(q, 5));
  }
});

Deno.test("HnswIndex: save writes a sidecar with dim, options, count and checksum; efSearch survives load", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/h.bin`;
    const index = new HnswIndex(8, { m: 12, efSearch: 99 });
    index.add(1, randomUnitVectors(1, 8, 23));
    await index.save(path);
    const side = JSON.parse(await Deno.readTextFile(sidecarPath(path)));
    assert.equal(side.format, "waymark-hnsw-index");
    assert.equal(side.dim, 8);
    assert.equal(side.count, 1);
    assert.equal(side.options.m, 12);
    assert.equal(side.indexBytes, (await Deno.stat(path)).size);
    const loaded = await HnswIndex.load(path);
    assert.equal(loaded.efSearch, 99);
    assert.equal(loaded.options.m, 12);
    assert.equal((await HnswIndex.load(path, { efSearch: 5 })).efSearch, 5);
  });
});

Deno.test("HnswIndex: a missing, corrupt or mismatched sidecar is an IndexError naming the index file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/h.bin`;
    const index = new HnswIndex(8);
    for (let i = 0; i < 20; i++) index.add(i, randomUnitVectors(1, 8, 30 + i));
    await index.save(path);
    const side = sidecarPath(path);
    const good = await Deno.readTextFile(side);
    const isNamed = (pattern: RegExp) => (e: unknown) =>
      e instanceof IndexError && e.message.includes(path) && pattern.test(e.message);

    await Deno.writeTextFile(side, "{not json");
    await assert.rejects(HnswIndex.load(path), isNamed(/not valid JSON/));
    await Deno.writeTextFile(side, JSON.stringify({ ...JSON.parse(good), dim: 9 }));
    await assert.rejects(HnswIndex.load(path), isNamed(/header does not match/));
    await Deno.writeTextFile(side, JSON.stringify({ ...JSON.parse(good), count: 21 }));
    await assert.rejects(HnswIndex.load(path), isNamed(/header does not match/));
    await Deno.writeTextFile(side, JSON.stringify({ ...JSON.parse(good), version: 2 }));
    await assert.rejects(HnswIndex.load(path), isNamed(/version 2/));
    await Deno.remove(side);
    await assert.rejects(HnswIndex.load(path), isNamed(/sidecar/));
    await Deno.writeTextFile(side, good);
    assert.equal((await HnswIndex.load(path)).size, 20);
  });
});
