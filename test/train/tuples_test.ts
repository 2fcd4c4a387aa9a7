import assert from "node:assert/strict";
import { bestPositive, buildTuples, mineNegatives, sampleNegativePool } from "../../src/train/tuples.ts";
import { Rng } from "../../src/train/rng.ts";
import { TrainingError } from "../../src/errors.ts";

const at = (x: number) => ({ position: { x, y: 0 } });
// database every 2 m from 0 to 198 m; queries every 5 m
const db = Array.from({ length: 100 }, (_, i) => at(i * 2));
const queries = Array.from({ length: 40 }, (_, i) => at(i * 5 + 0.5));
const truth = queries.map((q) =>
  db.flatMap((d, j) => (Math.abs(d.position.x - q.position.x) <= 25 ? [j] : []))
);

Deno.test("buildTuples() takes positives within posRadius and never offers anything within negRadius as a negative", () => {
  const s = buildTuples({ database: db, queries, truth }, { posRadius: 10, negRadius: 25, valFraction: 0 });
  assert.equal(s.mode, "positions");
  assert.equal(s.train.length, 40);
  const rng = new Rng(1);
  for (const t of s.train) {
    const qx = queries[t.query].position.x;
    assert.deepEqual(t.positives, db.flatMap((d, j) => (Math.abs(d.position.x - qx) <= 10 ? [j] : [])));
    const pool = sampleNegativePool(t, db.length, 1000, rng);
    assert.ok(pool.length > 0);
    for (const n of pool) {
      assert.ok(Math.abs(db[n].position.x - qx) > 25, `negative ${n} at ${db[n].position.x} m`);
    }
  }
});

Deno.test("buildTuples() holds out the last block of queries and keeps their places out of training", () => {
  const s = buildTuples({ database: db, queries, truth }, { valFraction: 0.25 });
  assert.deepEqual(s.validation, Array.from({ length: 10 }, (_, i) => 30 + i));
  const valX = s.validation.map((q) => queries[q].position.x);
  const nearVal = (j: number) => valX.some((x) => Math.abs(db[j].position.x - x) <= 25);
  for (const j of s.excludedDatabase) assert.ok(nearVal(j));
  const rng = new Rng(2);
  for (const t of s.train) {
    assert.ok(t.query < 30);
    for (const p of t.positives) assert.ok(!nearVal(p), "positive in a validation place");
    for (const n of sampleNegativePool(t, db.length, 1000, rng)) {
      assert.ok(!nearVal(n), "negative in a validation place");
    }
  }
});

Deno.test("buildTuples() without positions uses matches and frames far from every match", () => {
  const noPos = {
    database: Array.from({ length: 50 }, () => ({})),
    queries: Array.from({ length: 5 }, () => ({})),
    truth: [[3, 4], [10], [], [30, 31], [45]],
  };
  const s = buildTuples(noPos, { negFrameGap: 5, valFraction: 0 });
  assert.equal(s.mode, "matches");
  assert.deepEqual(s.train.map((t) => t.query), [0, 1, 3, 4]);
  const t = s.train[0];
  assert.deepEqual(t.positives, [3, 4]);
  for (const n of sampleNegativePool(t, 50, 1000, new Rng(3))) {
    assert.ok(n > 9, `negative ${n} is within 5 frames of a match`);
  }
});

Deno.test("buildTuples() fails clearly when no tuple exists and validates radii", () => {
  const tiny = { database: [at(0), at(1)], queries: [at(0.5)], truth: [[0, 1]] };
  assert.throws(() => buildTuples(tiny, { valFraction: 0 }), TrainingError);
  assert.throws(() => buildTuples(tiny, { posRadius: 30, negRadius: 25 }), /negRadius/);
});

Deno.test("mineNegatives() returns the nearest negatives of the pool by cached descriptors; bestPositive the nearest positive", () => {
  const s = buildTuples({ database: db, queries, truth }, { valFraction: 0 });
  const D = 2;
  // descriptor of database j: (cos j, sin j) scaled; query descriptor equal to database 90's
  const descs = new Float32Array(db.length * D);
  for (let j = 0; j < db.length; j++) {
    descs[j * D] = Math.cos(j * 0.05);
    descs[j * D + 1] = Math.sin(j * 0.05);
  }
  const t = s.train[0]; // query at 0.5 m: negatives are beyond 25 m (index >= 13)
  const q = descs.slice(90 * D, 91 * D);
  const hard = mineNegatives(t, q, descs, D, 3, 1000, new Rng(4));
  assert.deepEqual([...hard].sort((a, b) => a - b), [89, 90, 91]);
  assert.equal(bestPositive(t, descs.slice(4 * D, 5 * D), descs, D), 4);
});
