import assert from "node:assert/strict";
import {
  blindMap,
  cutStream,
  drawPlaces,
  offMapHole,
  onePerPlace,
  stressReport,
  stressVariants,
  thinMap,
} from "../../scripts/filter_stress.ts";
import { blindColumns, replay, type ReplayCache, syntheticCache } from "../../scripts/filter_tune.ts";

/** 6 places, 8 queries; query q's row is q * 10 + place (so a kept column is recognisable). */
function tiny(): ReplayCache {
  const truth = [[0], [0, 1], [1], [2], [3], [3, 4], [4], [5]];
  return {
    places: 6,
    rows: truth.map((_, q) => Float32Array.from({ length: 6 }, (_, j) => q * 10 + j)),
    keyframe: truth.map((_, q) => q % 2 === 0),
    truth,
    support: truth.map((_, q) => q / 10),
  };
}

Deno.test("thinMap keeps every k-th place from the offset, renumbers the truth and drops queries left without one", () => {
  const t = thinMap(tiny(), 2, 1); // places 1, 3, 5
  assert.equal(t.places, 3);
  assert.deepEqual(t.truth, [[0], [0], [1], [1], [2]]); // queries 1, 2, 4, 5, 7
  assert.deepEqual(Array.from(t.rows[0]), [11, 13, 15]);
  assert.deepEqual(Array.from(t.rows[4]), [71, 73, 75]);
  assert.deepEqual(t.support, [0.1, 0.2, 0.4, 0.5, 0.7]);
  assert.equal(t.keyframe[0], true); // a stream starts with an update
  assert.throws(() => thinMap(tiny(), 2, 2), /offset/);
});

Deno.test("onePerPlace takes the middle query naming only that place, in stream order", () => {
  const c = tiny();
  c.truth = [[0], [0], [0], [1], [1], [2], [2, 3], [3]];
  const one = onePerPlace(c);
  assert.deepEqual(one.truth, [[0], [1], [2], [3]]);
  assert.deepEqual(one.rows.map((r) => r[0]), [10, 40, 50, 70]);
});

Deno.test("cutStream starts with a keyframe and stops at the end", () => {
  const c = cutStream(tiny(), 5, 10);
  assert.equal(c.rows.length, 3);
  assert.deepEqual(c.keyframe, [true, true, false]); // query 5 is not a keyframe: the cut makes it one
  assert.deepEqual(c.truth, [[3, 4], [4], [5]]);
});

Deno.test("offMapHole removes the middle of the map and leaves its queries without a true place", () => {
  const h = offMapHole(tiny(), 0.4, 0.6); // places [2, 3) removed
  assert.equal(h.places, 5);
  assert.deepEqual(h.truth[3], []);
  assert.deepEqual(h.truth[4], [2]); // place 3 renumbered
  assert.deepEqual(Array.from(h.rows[3]), [30, 31, 33, 34, 35]);
});

Deno.test("stressReport replays every variant group and counts off-map frames reported lost", () => {
  const cache = syntheticCache({ seed: 3, signal: 2.2, places: 60, queries: 80 });
  const groups = new Map<string, number>();
  for (const v of stressVariants(cache, "synth")) groups.set(v.group, (groups.get(v.group) ?? 0) + 1);
  // 4 cuts; thinned maps every 2..5 from every offset (14), each with its one-per-place and cut stream; 2 holes.
  assert.equal(groups.get("dense"), 1);
  assert.equal(groups.get("cut10"), 4);
  assert.equal(groups.get("thin"), 14);
  assert.equal(groups.get("hole"), 2);
  assert.equal(groups.get("blind"), 6); // 3 draws on the dense and on the every-3rd map
  const report = stressReport([{ label: "synth", cache }]);
  assert.equal(report.thin.routes, 14);
  assert.equal(report.hole.routes, 2);
  for (const g of Object.values(report)) {
    assert.ok(g.meanSmoothed >= 0 && g.meanSmoothed <= 1);
    assert.ok(g.pooledEce >= 0 && g.pooledEce <= 1);
  }
  assert.equal(report.dense.lostOffMap, null); // the synthetic route never leaves the map
  assert.equal(typeof report.hole.lostOffMap, "number");
  // A strong signal on the route as recorded: the filter is right on most frames.
  assert.ok(report.dense.meanSmoothed > 0.8, `dense smoothed ${report.dense.meanSmoothed}`);
});

Deno.test("blindMap zeroes the drawn places' columns, and the replay tells the filter about them", () => {
  const cols = drawPlaces(60, 0.15, 4);
  assert.ok(cols.length >= 3 && cols.length <= 20, `${cols.length} places`);
  assert.deepEqual(drawPlaces(60, 0.15, 4), cols, "seeded");
  assert.equal(drawPlaces(5, 0, 1).length, 1, "at least one place");
  const cache = syntheticCache({ seed: 5, signal: 2.2, places: 60, queries: 80 });
  const b = blindMap(cache, cols);
  assert.deepEqual(blindColumns(b), cols);
  assert.deepEqual(blindColumns(cache), []);
  assert.equal(b.rows[3][cols[0]], 0);
  const kept = [...Array(60).keys()].find((j) => !cols.includes(j))!;
  assert.equal(b.rows[3][kept], cache.rows[3][kept]);
  const told = replay(b, {}, false), untold = replay(b, { blindPlaces: [] }, false);
  assert.notDeepEqual(told.pairs.conf, untold.pairs.conf);
});
