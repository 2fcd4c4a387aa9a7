/**
 * The `VectorIndex` contract, run against every implementation (`HnswIndex`, `BruteForceIndex`):
 * `runVectorIndexContract(name, factory)` registers one `Deno.test` per behaviour.
 *
 * @module
 */

import assert from "node:assert/strict";
import { IndexError } from "../../src/errors.ts";
import type { SearchHit, VectorIndex } from "../../src/index/vector_index.ts";
import { GaussianMixture, randomUnitVectors } from "../../src/index/_synthetic.ts";

/** How the contract creates and reloads an implementation. */
export interface VectorIndexFactory {
  /** A new empty index of `dim`-dimensional vectors. */
  create(dim: number): VectorIndex;
  /** Load what `save(path)` wrote. */
  load(path: string): Promise<VectorIndex>;
}

/** Exact top-k by a plain loop (the test oracle): ties by smaller id. */
export function exactTopK(
  vectors: Map<number, Float32Array>,
  query: Float32Array,
  k: number,
  filter?: (id: number) => boolean,
): SearchHit[] {
  const all: SearchHit[] = [];
  for (const [id, v] of vectors) {
    if (filter && !filter(id)) continue;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * query[i];
    all.push({ id, similarity: s });
  }
  all.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
  return all.slice(0, k);
}

function rows(data: Float32Array, dim: number): Float32Array[] {
  return Array.from({ length: data.length / dim }, (_, r) => data.slice(r * dim, (r + 1) * dim));
}

/** A small clustered set: `n` vectors under scattered ids (multiples of 7 plus an offset). */
function fill(index: VectorIndex, n: number, dim: number, seed: number): Map<number, Float32Array> {
  const mix = new GaussianMixture({ dim, clusters: 8, spread: [0.5, 1.0], seed });
  const vs = rows(mix.sample(n), dim);
  const map = new Map<number, Float32Array>();
  vs.forEach((v, i) => {
    const id = i * 7 + 3;
    index.add(id, v);
    map.set(id, v);
  });
  return map;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_index_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function assertSortedBySimilarity(hits: SearchHit[]): void {
  for (let i = 1; i < hits.length; i++) {
    assert.ok(hits[i - 1].similarity >= hits[i].similarity, `hit ${i} is more similar than hit ${i - 1}`);
  }
}

function assertSameHits(actual: SearchHit[], expected: SearchHit[], tol = 1e-5): void {
  assert.deepEqual(actual.map((h) => h.id), expected.map((h) => h.id));
  actual.forEach((h, i) =>
    assert.ok(Math.abs(h.similarity - expected[i].similarity) < tol, `similarity of hit ${i}`)
  );
}

/** Register the contract tests for one implementation. */
export function runVectorIndexContract(name: string, factory: VectorIndexFactory): void {
  const t = (what: string, fn: () => void | Promise<void>) => Deno.test(`${name}: ${what}`, fn);

  t("a new index is empty and searching it returns no hits", () => {
    const index = factory.create(16);
    assert.equal(index.dim, 16);
    assert.equal(index.size, 0);
    assert.deepEqual(index.search(new Float32Array(16).fill(0.25), 5), []);
  });

  t("each stored vector is its own top-1 with similarity 1", () => {
    const dim = 32;
    const index = factory.create(dim);
    const vectors = fill(index, 300, dim, 1);
    assert.equal(index.size, 300);
    for (const [id, v] of vectors) {
      const [best] = index.search(v, 1);
      assert.equal(best.id, id);
      assert.ok(Math.abs(best.similarity - 1) < 1e-5, `similarity ${best.similarity}`);
    }
  });

  t("hits are ordered by similarity and equal the exact top-k with inner-product similarities", () => {
    const dim = 24;
    const index = factory.create(dim);
    const vectors = fill(index, 200, dim, 2);
    for (const q of rows(randomUnitVectors(20, dim, 3), dim)) {
      const hits = index.search(q, 10);
      assertSortedBySimilarity(hits);
      assertSameHits(hits, exactTopK(vectors, q, 10));
    }
  });

  t("k larger than the size returns every vector once; k = 0 returns none", () => {
    const dim = 8;
    const index = factory.create(dim);
    const vectors = fill(index, 5, dim, 4);
    const q = randomUnitVectors(1, dim, 5);
    const hits = index.search(q, 50);
    assert.equal(hits.length, 5);
    assert.deepEqual(new Set(hits.map((h) => h.id)), new Set(vectors.keys()));
    assertSortedBySimilarity(hits);
    assert.deepEqual(index.search(q, 0), []);
  });

  t("a filter restricts hits to the admitted ids and still returns the best of them", () => {
    const dim = 16;
    const index = factory.create(dim);
    const vectors = fill(index, 150, dim, 6);
    const filter = (id: number) => id % 2 === 0;
    for (const q of rows(randomUnitVectors(10, dim, 7), dim)) {
      const hits = index.search(q, 5, { filter });
      assert.ok(hits.every((h) => filter(h.id)));
      assertSameHits(hits, exactTopK(vectors, q, 5, filter));
    }
    assert.deepEqual(index.search(randomUnitVectors(1, dim, 8), 5, { filter: () => false }), []);
  });

  t("re-adding an id replaces its vector without growing the index", () => {
    const dim = 16;
    const index = factory.create(dim);
    const vectors = fill(index, 50, dim, 9);
    const [first] = vectors.keys();
    const replacement = randomUnitVectors(1, dim, 10);
    const old = vectors.get(first)!;
    index.add(first, replacement);
    assert.equal(index.size, 50);
    const [best] = index.search(replacement, 1);
    assert.equal(best.id, first);
    assert.ok(Math.abs(best.similarity - 1) < 1e-5);
    const oldHit = index.search(old, 50).find((h) => h.id === first);
    assert.ok(oldHit !== undefined);
    let expected = 0;
    for (let i = 0; i < dim; i++) expected += old[i] * replacement[i];
    assert.ok(Math.abs(oldHit.similarity - expected) < 1e-5, "the old vector is gone");
  });

  t("ids may be sparse and as large as 2^32 - 1", () => {
    const dim = 4;
    const index = factory.create(dim);
    const ids = [0, 4294967295, 123456789, 42];
    const vs = rows(randomUnitVectors(ids.length, dim, 11), dim);
    ids.forEach((id, i) => index.add(id, vs[i]));
    ids.forEach((id, i) => assert.equal(index.search(vs[i], 1)[0].id, id));
  });

  t("invalid ids, wrong dimensions, non-finite values and negative k are IndexErrors", () => {
    const index = factory.create(8);
    const v = randomUnitVectors(1, 8, 12);
    for (const id of [-1, 1.5, 2 ** 32, NaN]) {
      assert.throws(() => index.add(id, v), (e) => e instanceof IndexError && /'id'/.test(e.message));
    }
    assert.throws(
      () => index.add(1, new Float32Array(7)),
      (e) => e instanceof IndexError && /dimension 8/.test(e.message) && /current value is 7/.test(e.message),
    );
    assert.throws(
      () => index.search(new Float32Array(9), 1),
      (e) => e instanceof IndexError && /query/.test(e.message),
    );
    const bad = v.slice();
    bad[3] = NaN;
    assert.throws(() => index.add(1, bad), (e) => e instanceof IndexError && /finite/.test(e.message));
    assert.throws(() => index.search(bad, 1), IndexError);
    assert.throws(() => index.search(v, -1), (e) => e instanceof IndexError && /'k'/.test(e.message));
    assert.equal(index.size, 0, "failed adds leave the index unchanged");
  });

  t("save then load gives the same dimension, size and search results, and stays writable", async () => {
    await withTempDir(async (dir) => {
      const dim = 20;
      const index = factory.create(dim);
      const vectors = fill(index, 120, dim, 13);
      const path = `${dir}/index.bin`;
      await index.save(path);
      const loaded = await factory.load(path);
      assert.equal(loaded.dim, dim);
      assert.equal(loaded.size, 120);
      for (const q of rows(randomUnitVectors(10, dim, 14), dim)) {
        assertSameHits(loaded.search(q, 7), index.search(q, 7), 1e-7);
      }
      const extra = randomUnitVectors(1, dim, 15);
      loaded.add(99999, extra);
      assert.equal(loaded.size, 121);
      assert.equal(loaded.search(extra, 1)[0].id, 99999);
      vectors.set(99999, extra);
    });
  });

  t("save overwrites an existing file and leaves no temporary files; an empty index roundtrips", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/index.bin`;
      const empty = factory.create(6);
      await empty.save(path);
      const before = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
      const loadedEmpty = await factory.load(path);
      assert.equal(loadedEmpty.size, 0);
      assert.deepEqual(loadedEmpty.search(new Float32Array(6).fill(1), 3), []);
      const full = factory.create(6);
      fill(full, 30, 6, 16);
      await full.save(path);
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), before);
      assert.equal((await factory.load(path)).size, 30);
    });
  });

  t("loading a missing, truncated or corrupted file is an IndexError naming the file", async () => {
    await withTempDir(async (dir) => {
      const path = `${dir}/index.bin`;
      const isNamed = (e: unknown) => e instanceof IndexError && e.message.includes(path);
      await assert.rejects(factory.load(path), isNamed);
      const index = factory.create(12);
      fill(index, 60, 12, 17);
      await index.save(path);
      const good = await Deno.readFile(path);

      await Deno.writeFile(path, good.subarray(0, Math.floor(good.length / 2)));
      await assert.rejects(factory.load(path), isNamed, "truncated");
      await Deno.writeFile(path, good.subarray(0, 10));
      await assert.rejects(factory.load(path), isNamed, "truncated header");

      const flipped = good.slice();
      flipped[Math.floor(flipped.length * 0.7)] ^= 0x5a;
      await Deno.writeFile(path, flipped);
      await assert.rejects(factory.load(path), isNamed, "flipped byte");

      const garbage = good.slice();
      garbage.fill(0x41, 0, 32);
      await Deno.writeFile(path, garbage);
      await assert.rejects(factory.load(path), isNamed, "garbage header");

      await Deno.writeFile(path, good);
      assert.equal((await factory.load(path)).size, 60, "the restored file loads");
    });
  });
}
