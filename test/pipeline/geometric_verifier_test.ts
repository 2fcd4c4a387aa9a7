import assert from "node:assert/strict";
import { createGeometricVerifier } from "../../src/pipeline/geometric_verifier.ts";
import { createSimulator } from "../../src/io/simulator/simulator.ts";
import { isUnverifiable } from "../../src/localize/loop_gate.ts";
import { ValidationError } from "../../src/errors.ts";
import { writeAliasedLoopDataset } from "../../src/eval/aliased_loops.ts";
import { decodeImage } from "../../src/image/decode.ts";

const sim = createSimulator({ width: 320, height: 240, frames: 120 });
const poses = sim.path({ index: 0 });
const frame = (i: number, traversal = 0) =>
  sim.render(traversal === 0 ? poses[i] : sim.path({ index: traversal })[i], {
    noiseSeed: traversal * 1000 + i,
  });

Deno.test("geometric verifier confirms a remembered keyframe of the same place and rejects a far one", async () => {
  // 150: the verify module's calibrated default for its SIFT front end (a far pair of this scene gets about 60).
  const v = createGeometricVerifier({ minInliers: 150 });
  v.remember({ seq: 0, stamp: 0, placeId: 0, pixels: frame(10) });
  v.remember({ seq: 1, stamp: 1, placeId: 1, pixels: frame(70) });
  assert.equal(v.sessionSize, 2);
  const ev = await v.verify({ seq: 5, stamp: 5, pixels: frame(10, 1) }, [
    { placeId: 0, space: "session", similarity: 0.9 },
    { placeId: 1, space: "session", similarity: 0.8 },
  ]);
  assert.equal(ev.kind, "verification");
  assert.equal(ev.seq, 5);
  const [same, far] = ev.results;
  assert.equal(same.placeId, 0);
  assert.ok(same.result.ok, `same place: ${JSON.stringify(same.result)}`);
  assert.ok(same.result.inliers > far.result.inliers);
  assert.equal(far.result.ok, false);
  assert.equal(isUnverifiable(far.result), false);
});

Deno.test("geometric verifier reused for another sequence: a place id remembered again is verified against its new image", async () => {
  // A second sequence's ids start again at 0 (the robustness suite verifies every loop row with one verifier):
  // place 0 must then be the new keyframe, not the features extracted for the first sequence's place 0.
  const reused = createGeometricVerifier({ minInliers: 150 });
  reused.remember({ seq: 0, stamp: 0, placeId: 0, pixels: frame(10) });
  const first = await reused.verify({ seq: 1, stamp: 1, pixels: frame(10, 1) }, [
    { placeId: 0, space: "session", similarity: 0.9 },
  ]);
  assert.ok(first.results[0].result.ok, JSON.stringify(first.results[0].result));
  reused.remember({ seq: 0, stamp: 0, placeId: 0, pixels: frame(70) });
  const again = await reused.verify({ seq: 1, stamp: 1, pixels: frame(70, 1) }, [
    { placeId: 0, space: "session", similarity: 0.9 },
  ]);
  const fresh = createGeometricVerifier({ minInliers: 150 });
  fresh.remember({ seq: 0, stamp: 0, placeId: 0, pixels: frame(70) });
  const once = await fresh.verify({ seq: 1, stamp: 1, pixels: frame(70, 1) }, [
    { placeId: 0, space: "session", similarity: 0.9 },
  ]);
  assert.ok(once.results[0].result.ok, JSON.stringify(once.results[0].result));
  assert.deepEqual(again.results[0].result, once.results[0].result);
  assert.equal(reused.sessionSize, 1);
});

Deno.test("geometric verifier: a blank query or a forgotten keyframe is unverifiable, not rejected", async () => {
  const v = createGeometricVerifier({ sessionCapacity: 1 });
  v.remember({ seq: 0, stamp: 0, placeId: 0, pixels: frame(10) });
  v.remember({ seq: 1, stamp: 1, placeId: 1, pixels: frame(20) }); // place 0 forgotten (capacity 1)
  assert.equal(v.sessionSize, 1);
  const blank = { width: 320, height: 240, channels: 1 as const, data: new Uint8Array(320 * 240).fill(128) };
  const a = await v.verify({ seq: 2, stamp: 2, pixels: blank }, [{
    placeId: 1,
    space: "session",
    similarity: 1,
  }]);
  assert.ok(isUnverifiable(a.results[0].result), a.results[0].result.reason);
  assert.match(a.results[0].result.reason!, /keypoints/);
  const b = await v.verify({ seq: 3, stamp: 3, pixels: frame(10) }, [
    { placeId: 0, space: "session", similarity: 1 },
    { placeId: 9, space: "map", similarity: 1 },
  ]);
  assert.match(b.results[0].result.reason!, /not remembered/);
  assert.match(b.results[1].result.reason!, /no local features or readable image/);
  assert.ok(b.results.every((r) => isUnverifiable(r.result)));
  assert.throws(() => createGeometricVerifier({ maxKeypoints: 2 }), ValidationError);
});

Deno.test("geometric verifier at 160x120: look-alike places that a 20 px tolerance confirms are rejected, true revisits kept", async () => {
  // The aliased simulated sequence (160x120, look-alike wall segments): frames 67 and 77 are in the first lap,
  // 22 m and 36 m from the earlier frames they resemble; frames 218 and 150 revisit frames 68 and 0.
  const dir = await Deno.makeTempDir();
  try {
    await writeAliasedLoopDataset("sim", dir);
    const names = (await Deno.readTextFile(`${dir}/sequence.csv`)).trim().split("\n").slice(1)
      .map((l) => l.split(",")[0]);
    const pixels = async (i: number) =>
      await decodeImage(await Deno.readFile(`${dir}/${names[i]}`), { channels: 1 });
    const pairs = [[67, 29, false], [77, 6, false], [218, 68, true], [150, 0, true]] as const;
    const check = async (v: ReturnType<typeof createGeometricVerifier>) => {
      const out: boolean[] = [];
      for (const [q, m] of pairs) {
        v.remember({ seq: m, stamp: m, placeId: m, pixels: await pixels(m) });
        const ev = await v.verify({ seq: q, stamp: q, pixels: await pixels(q) }, [
          { placeId: m, space: "session", similarity: 0.5 },
        ]);
        out.push(ev.results[0].result.ok);
      }
      return out;
    };
    // Before: a fixed 20 px tolerance (an eighth of the image) and a fixed 120 inliers accept the look-alikes.
    const old = await check(createGeometricVerifier({ verify: { threshold: 20 } }));
    assert.deepEqual(old.slice(0, 2), [true, true], "the absolute settings confirm the look-alikes");
    // Now: tolerance and inlier count follow the image; the look-alikes fail, the revisits pass.
    assert.deepEqual(await check(createGeometricVerifier()), pairs.map((p) => p[2]));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
