import assert from "node:assert/strict";
import { join } from "node:path";
import { loadMap } from "../../src/map/map_loader.ts";
import { DEFAULT_LOCAL_FEATURE_EXTRACTION, extractionMismatch } from "../../src/map/local_features_writer.ts";
import type { GeometricVerifier } from "../../src/pipeline/geometric_verifier.ts";
import { loadPipelineVerifier, useMapFeatures } from "../../src/pipeline/verifier_loader.ts";
import { isUnverifiable } from "../../src/localize/loop_gate.ts";
import { buildSimMap, decodeRaw, simFrame } from "../map/_sim_map.ts";

// Map place k = frame 10k of traversal 0; the query is frame 30 of traversal 1 (the same place, other noise and
// a slightly other pose): place 3 is the true match, place 9 (frame 90) a false one. The simulated world repeats
// its textures, so false pairs reach ~60 inliers: verify at 120 (true pairs: 230+ stored, 250+ re-extracted).
const minInliers = 120;
const query = { seq: 1, stamp: 1, pixels: simFrame(30, 1) };
const candidates = [
  { placeId: 3, space: "map" as const, similarity: 0.9 },
  { placeId: 9, space: "map" as const, similarity: 0.8 },
];

Deno.test("a verifier over a reloaded map verifies a true pair from the stored features, with the images gone", async () => {
  const { src, out, model } = await buildSimMap();
  await Deno.remove(src.dir, { recursive: true }); // the map's source images are gone
  const map = await loadMap(out, { model });
  const notices: string[] = [];
  const v = await loadPipelineVerifier({
    map,
    minInliers,
    onNotice: (l) => notices.push(l),
  }) as GeometricVerifier;
  assert.deepEqual(notices, []);
  const ev = await v.verify(query, candidates.map((c) => ({ ...c, image: src.images[c.placeId].image })));
  const [same, far] = ev.results;
  assert.ok(same.result.ok, `true pair: ${JSON.stringify(same.result)}`);
  assert.equal(far.result.ok, false);
  assert.ok(!isUnverifiable(far.result), `false pair was verified, not skipped: ${far.result.reason}`);
  assert.ok(same.result.inliers > far.result.inliers);
  assert.equal(v.extractions, 1, "only the query's features were extracted");
  assert.equal(map.localFeatures!.reads, 2, "each candidate's blob read once");
});

Deno.test("a map without stored features falls back to its images with one notice", async () => {
  const { src, out, model } = await buildSimMap({ localFeatures: false });
  const map = await loadMap(out, { model });
  const notices: string[] = [];
  const mapImage = async (_id: number, c: { image?: string }) =>
    await decodeRaw(await Deno.readFile(c.image!), c.image!, 1);
  const v = await loadPipelineVerifier({
    map,
    minInliers,
    mapImage,
    onNotice: (l) => notices.push(l),
  }) as GeometricVerifier;
  assert.equal(notices.length, 1);
  assert.match(notices[0], /stores no local features .* re-extracts them from the map's images/);
  const ev = await v.verify(query, candidates.map((c) => ({ ...c, image: src.images[c.placeId].path })));
  assert.ok(ev.results[0].result.ok, JSON.stringify(ev.results[0].result));
  assert.equal(ev.results[1].result.ok, false);
  assert.equal(v.extractions, 3, "query + both candidates re-extracted");
  // With the images gone, the fallback cannot verify: unverifiable, not rejected.
  await Deno.remove(src.dir, { recursive: true });
  const v2 = await loadPipelineVerifier({ map, minInliers, mapImage, onNotice: () => {} });
  const ev2 = await v2.verify(query, candidates.map((c) => ({ ...c, image: src.images[c.placeId].path })));
  assert.ok(ev2.results.every((r) => isUnverifiable(r.result)));
});

Deno.test("useMapFeatures() points an existing verifier at a built map's features", async () => {
  const { src, out, model } = await buildSimMap();
  await Deno.remove(src.dir, { recursive: true });
  const v = await loadPipelineVerifier({ minInliers }) as GeometricVerifier;
  const before = await v.verify(query, candidates.slice(0, 1));
  assert.ok(isUnverifiable(before.results[0].result), "no features, no image: unverifiable");
  const map = await loadMap(out, { model });
  assert.equal(await useMapFeatures(v, map), true);
  const after = await v.verify(query, candidates.slice(0, 1));
  assert.ok(after.results[0].result.ok, JSON.stringify(after.results[0].result));
  // A map without features: false, with a notice.
  const old = await buildSimMap({ localFeatures: false });
  const notices: string[] = [];
  const oldMap = await loadMap(old.out, { model: old.model });
  assert.equal(await useMapFeatures(v, oldMap, (l) => notices.push(l)), false);
  assert.equal(notices.length, 1);
});

Deno.test("a map whose manifest records the old dense-sift extraction is treated as mismatched: images, one notice", async () => {
  const { src, out, model } = await buildSimMap();
  // Rewrite the manifest as a map written before the keypoint-first front end recorded it.
  const path = join(out, "manifest.json");
  const manifest = JSON.parse(await Deno.readTextFile(path));
  manifest.localFeatures.extraction = {
    extractor: "dense-sift",
    maxSide: 512,
    maxKeypoints: 500,
    scales: [1, 0.7071, 0.5],
  };
  manifest.version = 1; // such maps predate the manifest checksum (format version 2)
  delete manifest.integrity;
  await Deno.writeTextFile(path, JSON.stringify(manifest, null, 2));
  const map = await loadMap(out, { model });
  assert.ok(map.localFeatures, "the map still offers its stored features");
  const notices: string[] = [];
  const mapImage = async (_id: number, c: { image?: string }) =>
    await decodeRaw(await Deno.readFile(c.image!), c.image!, 1);
  const v = await loadPipelineVerifier({
    map,
    minInliers,
    mapImage,
    onNotice: (l) => notices.push(l),
  }) as GeometricVerifier;
  assert.equal(notices.length, 1);
  assert.match(notices[0], /extracted otherwise .*extractor "dense-sift", not "sift-kp".* re-extracts them/);
  const ev = await v.verify(query, candidates.map((c) => ({ ...c, image: src.images[c.placeId].path })));
  assert.ok(ev.results[0].result.ok, JSON.stringify(ev.results[0].result));
  assert.equal(v.extractions, 3, "query + both candidates re-extracted, stored features unused");
  assert.equal(map.localFeatures!.reads, 0, "no stored blob read");
  // useMapFeatures() refuses them the same way; the verifier itself ignores them if handed them directly.
  const notices2: string[] = [];
  assert.equal(await useMapFeatures(v, map, (l) => notices2.push(l)), false);
  assert.equal(notices2.length, 1);
  v.useMapFeatures(map.localFeatures);
  await v.verify(query, candidates.slice(0, 1).map((c) => ({ ...c, image: src.images[c.placeId].path })));
  assert.equal(map.localFeatures!.reads, 0);
  // The current tag with the current settings matches.
  assert.equal(extractionMismatch({ ...DEFAULT_LOCAL_FEATURE_EXTRACTION }, v.extraction), undefined);
  assert.match(
    extractionMismatch({ ...DEFAULT_LOCAL_FEATURE_EXTRACTION, scales: [1, 0.5] }, v.extraction)!,
    /^scales \[1,0.5\], not \[1,0.7071,0.5,0.3536\]$/,
  );
});
