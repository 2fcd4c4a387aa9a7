import assert from "node:assert/strict";
import { angleDiff, loopPairs, retrievalMatches, samePlace } from "../../../src/io/simulator/ground_truth.ts";
import type { SimPose } from "../../../src/io/simulator/simulator.ts";

const pose = (x: number, y: number, headingDeg: number, stamp = 0): SimPose => ({
  x,
  y,
  heading: (headingDeg * Math.PI) / 180,
  seq: 0,
  stamp,
  traversal: 0,
  distance: 0,
});

Deno.test("samePlace() needs both proximity and a similar heading (angles wrap)", () => {
  assert.ok(samePlace(pose(0, 0, 0), pose(2, 0, 20)));
  assert.ok(!samePlace(pose(0, 0, 0), pose(3, 0, 0)), "too far");
  assert.ok(!samePlace(pose(0, 0, 0), pose(0, 0, 90)), "looking elsewhere");
  assert.ok(samePlace(pose(0, 0, 355), pose(0, 0, 5)), "355 and 5 degrees are 10 apart");
  assert.ok(Math.abs(angleDiff(0.1, 2 * Math.PI - 0.1) - 0.2) < 1e-12);
});

Deno.test("retrievalMatches() equals the brute-force pair list", () => {
  const db = Array.from({ length: 60 }, (_, i) => pose(i * 0.7, (i % 7) * 0.5, (i * 37) % 360));
  const q = Array.from({ length: 50 }, (_, i) => pose(i * 0.8 + 0.3, (i % 5) * 0.6, (i * 41) % 360));
  const brute: [number, number][] = [];
  q.forEach((a, i) => db.forEach((b, j) => samePlace(a, b) && brute.push([i, j])));
  assert.ok(brute.length > 5);
  assert.deepEqual(retrievalMatches(q, db), brute);
});

Deno.test("loopPairs() pairs a later frame with earlier same-place frames outside the recent window", () => {
  const seq = [
    pose(0, 0, 0, 0),
    pose(0.5, 0, 0, 5),
    pose(20, 0, 0, 30),
    pose(0.2, 0, 0, 40),
    pose(0.1, 0, 180, 50),
  ];
  assert.deepEqual(loopPairs(seq, { excludeSeconds: 20 }), [[3, 0], [3, 1]]);
  assert.deepEqual(loopPairs(seq, { excludeSeconds: 36 }), [[3, 0]]);
});
