import assert from "node:assert/strict";
import { ValidationError } from "../../../src/errors.ts";
import { traversalSetup } from "../../../src/io/simulator/conditions.ts";
import { createSimulator } from "../../../src/io/simulator/simulator.ts";
import { correlation, meanLevel, thumbnail } from "./_helpers.ts";

const sim = createSimulator({ seed: 1, width: 160, height: 120, frames: 100 });

Deno.test("createSimulator() renders the same bytes for the same seed and pose, other bytes for another seed", () => {
  const pose = sim.path()[10];
  const again = createSimulator({ seed: 1, width: 160, height: 120, frames: 100 });
  const other = createSimulator({ seed: 2, width: 160, height: 120, frames: 100 });
  const a = sim.render(pose, { noise: 4, noiseSeed: 9 });
  assert.equal(a.width, 160);
  assert.equal(a.height, 120);
  assert.equal(a.channels, 3);
  assert.deepEqual(a.data, again.render(pose, { noise: 4, noiseSeed: 9 }).data);
  assert.notDeepEqual(a.data, other.render(pose, { noise: 4, noiseSeed: 9 }).data);
  assert.notDeepEqual(a.data, sim.render(pose, { noise: 4, noiseSeed: 10 }).data, "noise seed matters");
});

Deno.test("render() produces a structured image, not a flat or saturated one", () => {
  const img = sim.render(sim.path()[0]);
  const level = meanLevel(img);
  assert.ok(level > 40 && level < 215, `mean level ${level}`);
  // Ceiling (top rows) is brighter than the floor (bottom rows) in a corridor view.
  const rowMean = (y: number) => {
    let s = 0;
    for (let x = 0; x < img.width * 3; x++) s += img.data[y * img.width * 3 + x];
    return s / (img.width * 3);
  };
  assert.ok(rowMean(2) > rowMean(img.height - 3), "ceiling above floor");
  const hist = new Set(img.data);
  assert.ok(hist.size > 100, `only ${hist.size} distinct levels`);
});

Deno.test("render() reuses the output buffer and rejects a wrong-sized one or a non-finite pose", () => {
  const out = new Uint8Array(160 * 120 * 3);
  const img = sim.render(sim.path()[5], {}, out);
  assert.equal(img.data, out);
  assert.throws(() => sim.render(sim.path()[5], {}, new Uint8Array(10)), ValidationError);
  assert.throws(() => sim.render({ x: NaN, y: 1, heading: 0 }), /pose/);
});

Deno.test("render() conditions: gain darkens, exposure brightens, noise perturbs, texture change alters posters only", () => {
  const poses = sim.path();
  const pose = poses[20];
  const base = sim.render(pose);
  assert.ok(meanLevel(sim.render(pose, { gain: 0.5 })) < meanLevel(base) * 0.7);
  assert.ok(meanLevel(sim.render(pose, { exposure: 1.8 })) > meanLevel(base) * 1.2);
  const noisy = sim.render(pose, { noise: 8, noiseSeed: 1 });
  let sq = 0;
  for (let i = 0; i < base.data.length; i++) sq += (noisy.data[i] - base.data[i]) ** 2;
  const rms = Math.sqrt(sq / base.data.length);
  assert.ok(rms > 5 && rms < 10, `noise rms ${rms}`);
  let changed = 0;
  for (const p of poses) {
    const a = sim.render(p), b = sim.render(p, { textureChange: true });
    if (a.data.some((v, i) => v !== b.data[i])) changed++;
  }
  assert.ok(changed > 0 && changed < poses.length, `texture change altered ${changed}/${poses.length} views`);
});

Deno.test("path() revisits places: a second traversal passes within a step of every pose of the first", () => {
  const first = sim.path({ index: 0 });
  const second = sim.path({ index: 1, lateralOffset: 0.3, headingJitterDeg: 2 });
  assert.equal(first.length, 100);
  assert.ok(second[0].stamp > first[first.length - 1].stamp, "stamps increase across traversals");
  for (const p of first) {
    const nearest = Math.min(...second.map((q) => Math.hypot(p.x - q.x, p.y - q.y)));
    assert.ok(nearest < sim.step + 0.4, `pose ${p.seq} not revisited (nearest ${nearest.toFixed(2)} m)`);
  }
  for (const p of second) assert.ok(sim.plan.isFree(p.x, p.y));
  // Stamps follow the frame rate.
  assert.ok(Math.abs(first[1].stamp - first[0].stamp - 1 / sim.options.fps) < 1e-9);
});

Deno.test("path() and createSimulator() reject invalid options with the option's name", () => {
  assert.throws(() => sim.path({ lateralOffset: 5 }), /lateralOffset/);
  assert.throws(() => sim.path({ index: -1 }), /index/);
  assert.throws(
    () => createSimulator({ width: 0 }),
    (e) => e instanceof ValidationError && /'width'/.test(e.message),
  );
  assert.throws(() => createSimulator({ frames: 1.5 }), /frames/);
  assert.throws(() => traversalSetup(1, "fog" as never), /condition/);
});

Deno.test("same place under changed conditions correlates more than different places, on average", () => {
  const db = sim.path({ index: 0 });
  const setup = traversalSetup(1, "all");
  const q = sim.path(setup.traversal);
  let same = 0, diff = 0;
  const n = 25;
  for (let k = 0; k < n; k++) {
    const i = k * 4;
    const tq = thumbnail(sim.render(q[i], { ...setup.conditions, noiseSeed: i }));
    same += correlation(tq, thumbnail(sim.render(db[i])));
    diff += correlation(tq, thumbnail(sim.render(db[(i + 50) % db.length])));
  }
  same /= n, diff /= n;
  assert.ok(same > diff + 0.1, `same place ${same.toFixed(3)} vs different places ${diff.toFixed(3)}`);
});

Deno.test("different places render differently: views along the route are not near-duplicates", () => {
  const poses = sim.path();
  const thumbs = poses.filter((_, i) => i % 10 === 0).map((p) => thumbnail(sim.render(p)));
  let maxCorr = -1;
  for (let i = 0; i < thumbs.length; i++) {
    for (let j = i + 1; j < thumbs.length; j++) {
      maxCorr = Math.max(maxCorr, correlation(thumbs[i], thumbs[j]));
    }
  }
  assert.ok(maxCorr < 0.98, `two places 10+ m apart look identical (corr ${maxCorr.toFixed(3)})`);
});
