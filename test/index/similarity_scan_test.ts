import assert from "node:assert/strict";
import { from, lastValueFrom, toArray } from "rxjs";
import { IndexError, ValidationError } from "../../src/errors.ts";
import { BruteForceIndex } from "../../src/index/brute_force_index.ts";
import { jsSimilarityScanner, scanRows, type SimilarityScanner } from "../../src/index/similarity_scan.ts";
import { createSimilarityScanner } from "../../src/model/similarity_scanner.ts";
import { randomUnitVectors } from "../../src/index/_synthetic.ts";
import { dot } from "../../src/kernels/vector.ts";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { type PlaceMap, searchStage } from "../../src/pipeline/search_stage.ts";

/** The reference row: one `dot` per map row, as the search stage's JS loop computes it. */
function dotRow(q: Float32Array, rows: Float32Array, dim: number): Float32Array {
  const n = rows.length / dim;
  return Float32Array.from({ length: n }, (_, r) => dot(q, 0, rows, r * dim, dim));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("createSimilarityScanner() on ONNX Runtime gives the JS dot row within 1e-5 (8192-d, 256-d, odd dims)", async () => {
  for (const [n, dim] of [[300, 8192], [1000, 256], [13, 37], [1, 5]]) {
    const rows = randomUnitVectors(n, dim, n + dim);
    const queries = randomUnitVectors(3, dim, 7);
    const scanner = await createSimilarityScanner(rows, dim, { backend: "onnxruntime" });
    try {
      assert.equal(scanner.backend, "onnxruntime");
      assert.equal(scanner.size, n);
      assert.equal(scanner.dim, dim);
      for (let t = 0; t < 3; t++) {
        const q = queries.subarray(t * dim, (t + 1) * dim);
        const sims = await scanner.scan(q);
        assert.equal(sims.length, n);
        const err = maxAbsDiff(sims, dotRow(q, rows, dim));
        assert.ok(err <= 1e-5, `${n} x ${dim}: max |ORT - dot| = ${err}`);
      }
      // A row equal to the query scores 1.
      const self = await scanner.scan(rows.slice(0, dim));
      assert.ok(Math.abs(self[0] - 1) < 1e-5, `self similarity ${self[0]}`);
    } finally {
      await scanner.close();
    }
  }
});

Deno.test("the ONNX Runtime scanner reads a map that is a view into a larger buffer (byteOffset), not its neighbours", async () => {
  const dim = 16, n = 20;
  const big = randomUnitVectors(n + 5, dim, 3);
  const rows = big.subarray(3 * dim, (3 + n) * dim);
  const q = randomUnitVectors(1, dim, 4);
  const scanner = await createSimilarityScanner(rows, dim, { backend: "onnxruntime", threads: 1 });
  try {
    assert.ok(maxAbsDiff(await scanner.scan(q), dotRow(q, rows, dim)) <= 1e-6);
  } finally {
    await scanner.close();
  }
});

Deno.test("the JS scanner and scanRows() give exactly the dot row", async () => {
  const dim = 33, n = 40;
  const rows = randomUnitVectors(n, dim, 9), q = randomUnitVectors(1, dim, 10);
  const ref = dotRow(q, rows, dim);
  assert.deepEqual(scanRows(q, rows, dim), ref);
  const out = new Float32Array(n);
  assert.equal(scanRows(q, rows, dim, out), out);
  assert.deepEqual(out, ref);
  for (
    const s of [jsSimilarityScanner(rows, dim), await createSimilarityScanner(rows, dim, { backend: "js" })]
  ) {
    assert.equal(s.backend, "js");
    assert.equal(s.size, n);
    assert.deepEqual(await s.scan(q), ref);
    await s.close();
  }
});

Deno.test("createSimilarityScanner() rejects bad matrices and options, naming the field", async () => {
  const rows = new Float32Array(12);
  await assert.rejects(
    () => createSimilarityScanner(rows, 5),
    (e) => e instanceof ValidationError && /'rows'/.test(e.message),
  );
  await assert.rejects(() => createSimilarityScanner(new Float32Array(0), 4), /'rows'.*current value is 0/);
  await assert.rejects(() => createSimilarityScanner(rows, 0), /'dim' must be a positive integer/);
  await assert.rejects(
    () => createSimilarityScanner([1, 2] as unknown as Float32Array, 2),
    /'rows' must be a Float32Array/,
  );
  await assert.rejects(
    () => createSimilarityScanner(rows, 4, { backend: "gpu" as "js" }),
    /'backend' must be one of auto, onnxruntime, js/,
  );
  await assert.rejects(() => createSimilarityScanner(rows, 4, { threads: 0 }), /'threads'/);
  assert.throws(() => jsSimilarityScanner(rows, 7), /'rows'/);
});

Deno.test("scan() rejects a query of the wrong length, and every scan after close()", async () => {
  const dim = 8;
  const rows = randomUnitVectors(4, dim, 1);
  for (const backend of ["js", "onnxruntime"] as const) {
    const s = await createSimilarityScanner(rows, dim, { backend });
    await assert.rejects(
      () => s.scan(new Float32Array(7)),
      (e) =>
        e instanceof ValidationError &&
        /'query' must be a Float32Array of length 8: current value is 7/.test(e.message),
      backend,
    );
    await s.close();
    await s.close(); // idempotent
    await assert.rejects(
      () => s.scan(new Float32Array(dim)),
      (e) => e instanceof IndexError && /closed/.test(e.message),
    );
  }
});

Deno.test("createSimilarityScanner() with backend auto uses ONNX Runtime here and logs nothing", async () => {
  const lines: string[] = [];
  const s = await createSimilarityScanner(randomUnitVectors(3, 4, 2), 4, { log: (l) => lines.push(l) });
  assert.equal(s.backend, "onnxruntime");
  assert.deepEqual(lines, []);
  await s.close();
});

// ------------------------------------------------------------------ search stage with a scanner

function randomMap(n: number, dim: number, seed: number): PlaceMap {
  const descriptors = randomUnitVectors(n, dim, seed);
  const index = BruteForceIndex.fromMatrix(dim, descriptors);
  const places = Array.from({ length: n }, (_, i) => ({
    placeId: i,
    image: `p${i}.png`,
    position: { x: i, y: -i, z: 0 },
  }));
  return { index, places, descriptors };
}

/** Keyframes whose descriptors are noisy copies of map rows (a revisit), plus one non-keyframe. */
function frames(map: PlaceMap, dim: number, count: number): FrameWork[] {
  const noise = randomUnitVectors(count, dim, 77);
  const out: FrameWork[] = [];
  for (let i = 0; i < count; i++) {
    const place = (i * 37) % map.places.length;
    const q = new Float32Array(dim);
    for (let j = 0; j < dim; j++) q[j] = map.descriptors![place * dim + j] + 0.8 * noise[i * dim + j];
    out.push({
      frame: { seq: i, stamp: i / 10, frameId: "cam", source: "test" },
      receivedAt: 0,
      keyframe: i !== 2,
      descriptor: { global: q },
    } as unknown as FrameWork);
  }
  return out;
}

async function runStage(map: PlaceMap, dim: number, options: Parameters<typeof searchStage>[1]) {
  return await lastValueFrom(from(frames(map, dim, 6)).pipe(searchStage(map, options), toArray()));
}

Deno.test("searchStage() with an ONNX Runtime scanner gives the hypotheses, row and background of its JS loop", async () => {
  for (const [n, dim] of [[400, 256], [120, 2048]]) {
    const map = randomMap(n, dim, n);
    const scanner = await createSimilarityScanner(map.descriptors!, dim, { backend: "onnxruntime" });
    try {
      const base = await runStage(map, dim, { k: 10 });
      for (const viaMap of [false, true]) {
        const got = viaMap
          ? await runStage({ ...map, scanner }, dim, { k: 10 })
          : await runStage(map, dim, { k: 10, scanner });
        assert.equal(got.length, base.length);
        for (let i = 0; i < base.length; i++) {
          const a = base[i], b = got[i];
          assert.equal(b.frame.seq, a.frame.seq, "order kept");
          if (!a.keyframe) {
            assert.equal(b.similarities, undefined);
            assert.equal(b.hypotheses, undefined);
            continue;
          }
          assert.ok(a.similarities && b.similarities, "whole row expected");
          assert.ok(maxAbsDiff(a.similarities!, b.similarities!) <= 1e-5);
          assert.deepEqual(
            b.hypotheses!.map((h) => [h.placeId, h.rank, h.position]),
            a.hypotheses!.map((h) => [h.placeId, h.rank, h.position]),
          );
          for (let r = 0; r < a.hypotheses!.length; r++) {
            assert.ok(Math.abs(a.hypotheses![r].similarity - b.hypotheses![r].similarity) <= 1e-5);
          }
          assert.ok(Math.abs(a.background!.mean - b.background!.mean) <= 1e-6);
          assert.ok(Math.abs(a.background!.std - b.background!.std) <= 1e-6);
        }
      }
    } finally {
      await scanner.close();
    }
  }
});

Deno.test("searchStage() turns a failing scan into a frame error and keeps going", async () => {
  const dim = 32;
  const map = randomMap(50, dim, 5);
  let calls = 0;
  const real = jsSimilarityScanner(map.descriptors!, dim);
  const flaky: SimilarityScanner = {
    backend: "js",
    size: real.size,
    dim,
    scan: (q) => (++calls === 2 ? Promise.reject(new IndexError("scan failed")) : real.scan(q)),
    close: () => real.close(),
  };
  const out = await runStage(map, dim, { k: 5, scanner: flaky });
  const errors = out.filter((w) => w.error);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error!.message, "scan failed");
  assert.equal(out.filter((w) => w.similarities).length, 4);
});

Deno.test("searchStage() rejects a scanner that does not cover the map, and ignores it above the fullScan budget", async () => {
  const dim = 32;
  const map = randomMap(50, dim, 5);
  const other = jsSimilarityScanner(randomUnitVectors(49, dim, 1), dim);
  assert.throws(
    () => searchStage(map, { scanner: other }),
    /'scanner' must be a scanner over the map's 50 x 32 descriptors: current value is .*49 x 32/,
  );
  let used = false;
  const spy: SimilarityScanner = {
    ...jsSimilarityScanner(map.descriptors!, dim),
    size: 50,
    dim,
    backend: "js",
    scan: () => {
      used = true;
      return Promise.resolve(new Float32Array(50));
    },
    close: () => Promise.resolve(),
  };
  const out = await runStage(map, dim, { k: 5, fullScan: 0, backgroundSample: 16, scanner: spy });
  assert.equal(used, false);
  assert.equal(out[0].similarities, undefined);
  assert.ok(out[0].hypotheses!.length === 5);
});
