import assert from "node:assert/strict";
import { createSimulator } from "../../src/io/simulator/simulator.ts";
import { convertChannels } from "../../src/image/resize.ts";
import { fitDefaultModel } from "../../src/model/default_model.ts";
import { loadModelBundle } from "../../src/model/onnx_model.ts";
import { mulberry32 as seededRandom } from "../../src/_rng.ts";
import type { PixelImage } from "../../src/types.ts";

const W = 160, H = 120;

function simImages(count: number, seed = 5): PixelImage[] {
  const sim = createSimulator({ seed, width: W, height: H });
  const path = sim.path({ index: 0 });
  const step = Math.max(1, Math.floor(path.length / count));
  const out: PixelImage[] = [];
  for (let i = 0; i < count; i++) out.push(convertChannels(sim.render(path[i * step]), 1));
  return out;
}

/** A night-like copy: values x0.1 plus sensor noise (sigma 4 grey levels). */
function darkNoisy(img: PixelImage, seed = 7): PixelImage {
  const rand = seededRandom(seed);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    data[i] = Math.max(0, Math.min(255, Math.round(img.data[i] * 0.1 + 4 * n)));
  }
  return { ...img, data };
}

Deno.test("the default model's support is the mean weight of its local descriptors, and falls on a dark, noisy frame", async () => {
  const images = simImages(6);
  const bundle = await fitDefaultModel(images, {
    clusters: 8,
    inputWidth: W,
    kmeansIterations: 5,
    samplesPerImage: 300,
  });
  const model = await loadModelBundle(bundle, { provider: "cpu" });
  try {
    const out = await model.describe(images[2], { local: true });
    const local = out.local!;
    let sum = 0;
    const count = local.gridWidth * local.gridHeight;
    for (let p = 0; p < count; p++) {
      let s = 0;
      for (let j = 0; j < local.dim; j++) s += local.descriptors[p * local.dim + j] ** 2;
      sum += Math.sqrt(s);
    }
    assert.ok(out.support !== undefined && out.support > 0 && out.support <= 1, `support ${out.support}`);
    assert.ok(
      Math.abs(out.support - sum / count) < 1e-4,
      `support ${out.support} vs mean length ${sum / count}`,
    );
    // Without local features the support is still there (a scalar per image).
    const dark = await model.describe(darkNoisy(images[2]));
    assert.ok(dark.support !== undefined);
    assert.ok(dark.support < 0.5 * out.support, `dark ${dark.support} vs clean ${out.support}`);
  } finally {
    await model.close();
  }
});
