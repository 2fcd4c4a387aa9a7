import assert from "node:assert/strict";
import { ValidationError } from "../../../src/errors.ts";
import { buildFloorPlan } from "../../../src/io/simulator/floor_plan.ts";

Deno.test("buildFloorPlan() route lies in free cells all the way round and closes on itself", () => {
  const plan = buildFloorPlan(3);
  for (let s = 0; s < plan.routeLength; s += 0.1) {
    const p = plan.routePoint(s);
    assert.ok(plan.isFree(p.x, p.y), `route point at s=${s.toFixed(1)} (${p.x}, ${p.y}) is inside a wall`);
  }
  const a = plan.routePoint(0), b = plan.routePoint(plan.routeLength);
  assert.ok(Math.hypot(a.x - b.x, a.y - b.y) < 1e-9);
  // Consecutive points are a step apart (no jumps at segment joins) and headings turn by a full circle.
  let turn = 0;
  let prev = plan.routePoint(0);
  const n = Math.ceil(plan.routeLength / 0.05);
  for (let k = 1; k <= n; k++) {
    const s = (k * plan.routeLength) / n;
    const p = plan.routePoint(s);
    assert.ok(Math.hypot(p.x - prev.x, p.y - prev.y) < 0.051, `jump at s=${s}`);
    let d = p.heading - prev.heading;
    while (d > Math.PI) d -= 2 * Math.PI;
    while (d < -Math.PI) d += 2 * Math.PI;
    turn += d;
    prev = p;
  }
  assert.ok(Math.abs(turn - 2 * Math.PI) < 1e-6, `total turn ${turn}`);
});

Deno.test("buildFloorPlan() carves side branches off the loop, seeded", () => {
  const freeCount = (seed: number, branches: number) =>
    buildFloorPlan(seed, { branches }).cells.reduce((a, c) => a + (c === 0 ? 1 : 0), 0);
  const ring = freeCount(1, 0);
  assert.ok(freeCount(1, 8) > ring + 20, "branches add free space");
  assert.deepEqual(buildFloorPlan(5).cells, buildFloorPlan(5).cells);
  assert.notDeepEqual(buildFloorPlan(5).cells, buildFloorPlan(6).cells);
});

Deno.test("buildFloorPlan() rejects bad sizes with a message naming the option", () => {
  assert.throws(
    () => buildFloorPlan(1, { corridorWidth: 1 }),
    (e) => e instanceof ValidationError && /corridorWidth/.test(e.message),
  );
  assert.throws(() => buildFloorPlan(1, { loopWidth: 5 }), /loopWidth/);
  assert.throws(() => buildFloorPlan(1, { wallHeight: 10 }), /wallHeight/);
});
