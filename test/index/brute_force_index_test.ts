import assert from "node:assert/strict";
import { IndexError, ValidationError } from "../../src/errors.ts";
import { BruteForceIndex } from "../../src/index/brute_force_index.ts";
import { GaussianMixture, randomUnitVectors } from "../../src/index/_synthetic.ts";
import { runVectorIndexContract } from "./vector_index_contract.ts";

runVectorIndexContract("BruteForceIndex", {
  create: (dim) => new BruteForceIndex(dim, { initialCapacity: 4 }),
  load: (path) => BruteForceIndex.load(path),
});

Deno.test("BruteForceIndex: searchBatch returns the hits of one search per query", () => {
  const dim = 40;
  const mix = new GaussianMixture({ dim, clusters: 5, spread: [0.5, 1], seed: 1 });
  const index = BruteForceIndex.fromMatrix(dim, mix.sample(500));
  const queries = Array.from({ length: 11 }, (_, i) => randomUnitVectors(1, dim, 100 + i));
  const filter = (id: number) => id % 3 !== 0;
  for (const options of [{}, { filter }]) {
    const batch = index.searchBatch(queries, 6, options);
    assert.equal(batch.length, queries.length);
    queries.forEach((q, i) => {
      const single = index.search(q, 6, options);
      assert.deepEqual(batch[i].map((h) => h.id), single.map((h) => h.id));
      batch[i].forEach((h, j) => assert.ok(Math.abs(h.similarity - single[j].similarity) < 1e-6));
    });
  }
  assert.deepEqual(new BruteForceIndex(dim).searchBatch(queries.slice(0, 2), 3), [[], []]);
  assert.throws(() => index.searchBatch([new Float32Array(3)], 1), IndexError);
});

Deno.test("BruteForceIndex: fromMatrix adopts rows with given or implicit ids and rejects bad shapes", () => {
  const data = randomUnitVectors(3, 4, 2);
  const implicit = BruteForceIndex.fromMatrix(4, data);
  assert.deepEqual(implicit.ids(), [0, 1, 2]);
  const withIds = BruteForceIndex.fromMatrix(4, data.slice(), new Uint32Array([10, 20, 30]));
  assert.equal(withIds.search(data.subarray(4, 8), 1)[0].id, 20);
  assert.deepEqual(withIds.getVector(30), data.slice(8, 12));
  assert.equal(withIds.getVector(31), undefined);
  assert.throws(() => BruteForceIndex.fromMatrix(4, new Float32Array(6)), ValidationError);
  assert.throws(() => BruteForceIndex.fromMatrix(4, data, new Uint32Array([1, 2])), ValidationError);
  assert.throws(() => BruteForceIndex.fromMatrix(4, data, new Uint32Array([1, 2, 1])), IndexError);
});

Deno.test("BruteForceIndex: invalid dimension or capacity is a ValidationError in the project's form", () => {
  assert.throws(
    () => new BruteForceIndex(0),
    (e) =>
      e instanceof ValidationError && /'dim' must be a positive integer: current value is 0/.test(e.message),
  );
  assert.throws(() => new BruteForceIndex(4, { initialCapacity: -1 }), ValidationError);
});

Deno.test("BruteForceIndex: grows past its initial capacity keeping every vector", () => {
  const index = new BruteForceIndex(3, { initialCapacity: 1 });
  const data = randomUnitVectors(100, 3, 3);
  for (let i = 0; i < 100; i++) index.add(1000 + i, data.subarray(i * 3, i * 3 + 3));
  assert.equal(index.size, 100);
  for (let i = 0; i < 100; i += 7) assert.deepEqual(index.getVector(1000 + i), data.slice(i * 3, i * 3 + 3));
});

Deno.test("BruteForceIndex: the file has the documented header and rejects other magics and versions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/bf.bin`;
    const index = new BruteForceIndex(5);
    index.add(7, randomUnitVectors(1, 5, 4));
    index.add(8, randomUnitVectors(1, 5, 5));
    await index.save(path);
    const bytes = await Deno.readFile(path);
    const view = new DataView(bytes.buffer);
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 8)), "WAYMKBFI");
    assert.equal(view.getUint32(8, true), 1);
    assert.equal(view.getUint32(12, true), 5);
    assert.equal(view.getUint32(16, true), 2);
    assert.equal(bytes.length, 32 + 4 * 2 * (1 + 5));
    assert.equal(view.getUint32(32, true), 7);

    const otherMagic = bytes.slice();
    otherMagic[0] = 0x58;
    await Deno.writeFile(path, otherMagic);
    await assert.rejects(
      BruteForceIndex.load(path),
      (e) => e instanceof IndexError && /magic/.test(e.message),
    );

    const extra = new Uint8Array(bytes.length + 4);
    extra.set(bytes);
    await Deno.writeFile(path, extra);
    await assert.rejects(
      BruteForceIndex.load(path),
      (e) => e instanceof IndexError && /trailing/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
