import assert from "node:assert/strict";
import { latLonToLocal, pointsWithinRadius } from "../../src/dataset/geo.ts";

Deno.test("latLonToLocal() maps 0.001 deg of latitude to about 111 m north and shrinks longitude by cos(lat)", () => {
  const o = { lat: 60, lon: 10 };
  const n = latLonToLocal(60.001, 10, o);
  assert.ok(Math.abs(n.y - 111.195) < 0.01, String(n.y));
  const e = latLonToLocal(60, 10.001, o);
  assert.ok(Math.abs(e.x - 111.195 * 0.5) < 0.01, String(e.x));
  assert.ok(Math.abs(latLonToLocal(0, -179.9995, { lat: 0, lon: 179.9995 }).x - 111.195) < 0.01);
});

Deno.test("pointsWithinRadius() equals the brute-force answer on random points", () => {
  let s = 7;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) * 200 - 100;
  const ref = Array.from({ length: 300 }, () => ({ x: rnd(), y: rnd() }));
  const q = Array.from({ length: 50 }, () => ({ x: rnd(), y: rnd() }));
  const got = pointsWithinRadius(q, ref, 12.5);
  const want = q.map((p) =>
    ref.flatMap((r, i) => ((r.x - p.x) ** 2 + (r.y - p.y) ** 2 <= 12.5 ** 2 ? [i] : []))
  );
  assert.deepEqual(got, want);
  assert.ok(want.some((w) => w.length > 0));
});
