import assert from "node:assert/strict";
import { from, lastValueFrom, toArray } from "rxjs";
import { blindPlacesOf, PlaceFilter } from "../../src/localize/place_filter.ts";
import { filterStage } from "../../src/pipeline/filter_stage.ts";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import {
  FULL_SCAN_DEFAULT,
  FULL_SCAN_WITH_SCANNER,
  type PlaceMap,
  searchStage,
} from "../../src/pipeline/search_stage.ts";
import { jsSimilarityScanner } from "../../src/index/similarity_scan.ts";
import { codeFrame, codeMap, codeVector, DIM } from "./_fakes.ts";

function work(seq: number, code: number): FrameWork {
  return {
    frame: codeFrame(seq, code),
    receivedAt: 0,
    keyframe: true,
    descriptor: { global: codeVector(code) },
  } as unknown as FrameWork;
}

Deno.test("searchStage() hands on the whole similarity row when the map fits the fullScan budget", async () => {
  // 64 places of 64-d, more than the background sample: only the fullScan budget makes it scan.
  const map = codeMap(64);
  const [w] = await lastValueFrom(
    from([work(0, 42)]).pipe(searchStage(map, { k: 5, backgroundSample: 16 }), toArray()),
  );
  assert.ok(w.similarities, "similarities expected");
  assert.equal(w.similarities!.length, 64);
  assert.equal(w.hypotheses!.length, 5);
  assert.equal(w.hypotheses![0].placeId, 42);
  // The row is in place order and holds the same values as the hypotheses.
  for (const h of w.hypotheses!) assert.ok(Math.abs(w.similarities![h.placeId] - h.similarity) < 1e-6);
  // Exact background of the whole row.
  const row = [...w.similarities!];
  const mean = row.reduce((s, v) => s + v, 0) / row.length;
  assert.ok(Math.abs(w.background!.mean - mean) < 1e-6);
});

Deno.test("searchStage() asks the index (no whole row) above the fullScan budget, or with fullScan 0", async () => {
  const map = codeMap(64);
  const over = 64 * DIM - 1;
  for (const fullScan of [0, over]) {
    const [w] = await lastValueFrom(
      from([work(0, 42)]).pipe(searchStage(map, { k: 5, fullScan, backgroundSample: 16 }), toArray()),
    );
    assert.equal(w.similarities, undefined, `fullScan ${fullScan}`);
    assert.equal(w.hypotheses![0].placeId, 42);
  }
  assert.throws(() => searchStage(map, { fullScan: -1 }), /fullScan/);
});

Deno.test("filterStage() folds the whole row into the filter when given, as a direct PlaceFilter run does", async () => {
  const map = codeMap(64);
  const codes = Array.from({ length: 40 }, (_, i) => 5 + Math.floor(i * 1.2));
  const out = await lastValueFrom(
    from(codes.map((c, i) => work(i, c))).pipe(
      searchStage(map, { k: 5 }),
      filterStage(map.places),
      toArray(),
    ),
  );
  const direct = new PlaceFilter({ placeCount: 64 });
  const indices = Int32Array.from({ length: 64 }, (_, i) => i);
  out.forEach((w, i) => {
    const b = direct.step({ indices, similarities: w.similarities! });
    assert.equal(w.estimate!.placeId, b.placeIndex, `frame ${i}`);
    assert.ok(Math.abs(w.estimate!.confidence - b.confidence) < 1e-12);
  });
  const last = out[out.length - 1].estimate!;
  assert.equal(last.status, "localized");
  assert.ok(Math.abs(last.placeId! - codes[codes.length - 1]) <= 1, `estimate ${last.placeId}`);
});

Deno.test("searchStage() with a scanner scans maps up to FULL_SCAN_WITH_SCANNER by default, without up to FULL_SCAN_DEFAULT", async () => {
  // 140,000 places of 64-d: above the JS budget (8.4M multiply-adds), within the scanner's (33.5M).
  const dim = 64, n = 140_000;
  const descriptors = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) descriptors.set(codeVector(i % dim), i * dim);
  const index = {
    dim,
    size: n,
    search: (_q: Float32Array, k: number) => Array.from({ length: k }, (_, i) => ({ id: i, similarity: 0 })),
  } as unknown as PlaceMap["index"];
  const places = Array.from({ length: n }, (_, i) => ({ placeId: i, image: `p${i}.png` }));
  assert.ok(n * dim > FULL_SCAN_DEFAULT && n * dim <= FULL_SCAN_WITH_SCANNER);
  const map: PlaceMap = { index, places, descriptors };
  const [plain] = await lastValueFrom(from([work(0, 7)]).pipe(searchStage(map, { k: 3 }), toArray()));
  assert.equal(plain.similarities, undefined, "no whole row without a scanner");
  const scanner = jsSimilarityScanner(descriptors, dim);
  const [scanned] = await lastValueFrom(
    from([work(0, 7)]).pipe(searchStage({ ...map, scanner }, { k: 3 }), toArray()),
  );
  assert.equal(scanned.similarities?.length, n);
  assert.equal(scanned.hypotheses![0].placeId % dim, 7);
});

Deno.test("filterStage() given the map's descriptors makes the places with an all-zero descriptor blind", async () => {
  const map = codeMap(16);
  const descriptors = map.descriptors!;
  descriptors.fill(0, 6 * DIM, 7 * DIM); // place 6's image had no descriptor
  assert.deepEqual(blindPlacesOf(descriptors, 16), [6]);
  assert.deepEqual(blindPlacesOf(new Float32Array(0), 0), []);
  const codes = Array.from({ length: 16 }, (_, i) => i);
  const rows = codes.map((c) =>
    Float32Array.from({ length: 16 }, (_, j) => (j === 6 ? 0 : j === c ? 0.9 : 0.2))
  );
  const run = (options: Parameters<typeof filterStage>[1]) =>
    lastValueFrom(
      from(rows.map((r, i) => ({ ...work(i, codes[i]), similarities: r }) as FrameWork)).pipe(
        filterStage(map.places, options),
        toArray(),
      ),
    );
  const withMap = await run({ descriptors });
  const blind = new PlaceFilter({ placeCount: 16, blindPlaces: [6] });
  const plain = new PlaceFilter({ placeCount: 16 });
  const indices = Int32Array.from({ length: 16 }, (_, i) => i);
  let differs = false;
  withMap.forEach((w, i) => {
    const b = blind.step({ indices, similarities: rows[i] });
    const p = plain.step({ indices, similarities: rows[i] });
    assert.equal(w.estimate!.placeId, b.placeIndex, `frame ${i}`);
    assert.ok(Math.abs(w.estimate!.confidence - b.confidence) < 1e-12, `frame ${i}`);
    differs ||= p.confidence !== b.confidence || p.placeIndex !== b.placeIndex;
  });
  assert.ok(differs, "the blind place changes the estimates");
  // Without the descriptors (or with the filter's own list) the stage keeps the filter options as given.
  const without = await run({});
  without.forEach((w, i) => {
    const p = new PlaceFilter({ placeCount: 16 });
    for (let j = 0; j <= i; j++) p.step({ indices, similarities: rows[j] });
    assert.equal(w.estimate!.confidence, p.belief().confidence, `frame ${i}`);
  });
  const given = await run({ descriptors, filter: { blindPlaces: [] } });
  given.forEach((w, i) =>
    assert.equal(w.estimate!.confidence, without[i].estimate!.confidence, `frame ${i}`)
  );
});
