import assert from "node:assert/strict";
import { LIGHT_CELLS_PER_M, lightField, MAX_LIGHT } from "../../../src/io/simulator/lighting.ts";
import { createSimulator } from "../../../src/io/simulator/simulator.ts";
import { meanLevel } from "./_helpers.ts";

const sim = createSimulator({ seed: 2, width: 120, height: 90, frames: 60 });

Deno.test("lightField() averages 1 over free space with every lamp on and has pools of light", () => {
  const f = lightField(sim.world);
  const { plan } = sim.world;
  let sum = 0, n = 0, min = Infinity, max = 0;
  for (let y = 0; y < f.h; y++) {
    for (let x = 0; x < f.w; x++) {
      if (
        plan.cells[Math.floor(y / LIGHT_CELLS_PER_M) * plan.width + Math.floor(x / LIGHT_CELLS_PER_M)] !== 0
      ) continue;
      const v = f.data[y * f.w + x];
      sum += v, n++, min = Math.min(min, v), max = Math.max(max, v);
    }
  }
  assert.ok(Math.abs(sum / n - 1) < 1e-3, `mean ${sum / n}`);
  assert.ok(max > 1.3 * min, `uneven lighting (min ${min.toFixed(2)}, max ${max.toFixed(2)})`);
  assert.ok(max <= MAX_LIGHT);
  assert.ok(sim.world.lamps.length >= 20, "lamps along the corridors");
  assert.equal(lightField(sim.world), f, "memoised");
});

Deno.test("switching lamps off darkens some views much more than others (a local, uneven change)", () => {
  const ratios = sim.path().filter((_, i) => i % 6 === 0).map((p) =>
    meanLevel(sim.render(p, { lampsOff: 0.6, lightSeed: 1 })) / meanLevel(sim.render(p))
  );
  const lo = Math.min(...ratios), hi = Math.max(...ratios);
  assert.ok(hi <= 1.0001, "switching lamps off never brightens");
  assert.ok(hi - lo > 0.08, `darkening ratios ${lo.toFixed(2)}..${hi.toFixed(2)} are too uniform`);
  const other = lightField(sim.world, 0.6, 2);
  assert.notDeepEqual(other.data, lightField(sim.world, 0.6, 1).data, "the seed picks which lamps are off");
});
