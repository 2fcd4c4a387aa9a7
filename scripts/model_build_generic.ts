/**
 * Build the generic default model shipped in `models/waymark-generic/` (used with no prior map, e.g. SLAM).
 *
 * Vocabulary images (all generated, none from an evaluation set):
 * - frames of the project's simulator (`src/io/simulator/`): 4 procedural buildings (seeds 11..14), every 12th
 *   pose of one lap, under nominal, lighting and viewpoint conditions;
 * - procedural "man-made" images: random axis-aligned and oblique rectangles, lines, text-like blocks and
 *   blurred blobs over smooth gradients, to cover edge/corner/texture statistics the simulator lacks.
 *
 * Usage: deno run -A scripts/model_build_generic.ts [--out models/waymark-generic] [--clusters 64]
 */
import { parseArgs } from "node:util";
import { createSimulator } from "../src/io/simulator/simulator.ts";
import { traversalSetup } from "../src/io/simulator/conditions.ts";
import { fitDefaultModel } from "../src/model/default_model.ts";
import { saveModelBundle } from "../src/model/onnx_model.ts";
import { getPreset } from "../src/model/registry.ts";
import { seededRandom } from "../src/train/kmeans.ts";
import type { PixelImage } from "../src/types.ts";
import { convertChannels } from "../src/image/resize.ts";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: new URL("../models/waymark-generic", import.meta.url).pathname },
    preset: { type: "string", default: "dsift-netvlad-64" },
  },
});

const W = 320, H = 240;

function simulatorImages(): PixelImage[] {
  const out: PixelImage[] = [];
  for (const seed of [11, 12, 13, 14]) {
    const sim = createSimulator({ seed, width: W, height: H });
    for (const [index, cond] of [[0, "none"], [1, "lighting"], [2, "viewpoint"]] as const) {
      const setup = traversalSetup(index, cond);
      const path = sim.path(setup.traversal);
      for (let i = index * 2; i < path.length; i += 12) {
        out.push(convertChannels(sim.render(path[i], setup.conditions), 1));
      }
    }
  }
  return out;
}

function proceduralImages(count: number, seed: number): PixelImage[] {
  const rand = seededRandom(seed);
  const out: PixelImage[] = [];
  for (let n = 0; n < count; n++) {
    const img = new Float32Array(W * H);
    const gx = (rand() - 0.5) * 120, gy = (rand() - 0.5) * 120, base = 60 + rand() * 120;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) img[y * W + x] = base + (gx * x) / W + (gy * y) / H;
    }
    const shapes = 10 + Math.floor(rand() * 40);
    for (let s = 0; s < shapes; s++) {
      const kind = rand();
      const v = rand() * 255;
      if (kind < 0.45) {
        // Rectangle (possibly rotated).
        const cx = rand() * W, cy = rand() * H, hw = 4 + rand() * 60, hh = 4 + rand() * 60;
        const a = rand() < 0.6 ? 0 : rand() * Math.PI, c = Math.cos(a), sn = Math.sin(a);
        const r = Math.ceil(Math.hypot(hw, hh));
        for (let y = Math.max(0, Math.floor(cy - r)); y < Math.min(H, cy + r); y++) {
          for (let x = Math.max(0, Math.floor(cx - r)); x < Math.min(W, cx + r); x++) {
            const u = (x - cx) * c + (y - cy) * sn, w = -(x - cx) * sn + (y - cy) * c;
            if (Math.abs(u) < hw && Math.abs(w) < hh) img[y * W + x] = v;
          }
        }
      } else if (kind < 0.75) {
        // Line.
        const x0 = rand() * W,
          y0 = rand() * H,
          a = rand() < 0.5 ? Math.round(rand() * 4) * Math.PI / 4 : rand() * Math.PI;
        const len = 20 + rand() * 200, width = 1 + rand() * 3;
        for (let t = 0; t < len; t += 0.5) {
          const x = x0 + Math.cos(a) * t, y = y0 + Math.sin(a) * t;
          for (let d = -width; d <= width; d += 0.5) {
            const px = Math.round(x - Math.sin(a) * d), py = Math.round(y + Math.cos(a) * d);
            if (px >= 0 && px < W && py >= 0 && py < H) img[py * W + px] = v;
          }
        }
      } else if (kind < 0.9) {
        // Text-like block of small glyph rectangles.
        const x0 = rand() * W,
          y0 = rand() * H,
          rows = 1 + Math.floor(rand() * 4),
          cols = 3 + Math.floor(rand() * 12);
        const gh = 3 + rand() * 6;
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            if (rand() < 0.2) continue;
            const gw = gh * (0.4 + rand() * 0.5);
            for (let y = Math.floor(y0 + r * gh * 1.6); y < y0 + r * gh * 1.6 + gh && y < H; y++) {
              for (let x = Math.floor(x0 + c * gh * 0.9); x < x0 + c * gh * 0.9 + gw && x < W; x++) {
                if (x >= 0 && y >= 0) img[y * W + x] = v;
              }
            }
          }
        }
      } else {
        // Soft blob.
        const cx = rand() * W, cy = rand() * H, rad = 5 + rand() * 40, amp = (rand() - 0.5) * 120;
        for (let y = 0; y < H; y++) {
          for (let x = 0; x < W; x++) {
            img[y * W + x] += amp * Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * rad * rad));
          }
        }
      }
    }
    const data = new Uint8Array(W * H);
    const noise = 1 + rand() * 4;
    for (let i = 0; i < W * H; i++) {
      data[i] = Math.max(0, Math.min(255, Math.round(img[i] + (rand() - 0.5) * 2 * noise)));
    }
    out.push({ width: W, height: H, channels: 1, data });
  }
  return out;
}

const sim = simulatorImages();
const proc = proceduralImages(120, 7);
const images = [...sim, ...proc];
console.error(`fitting on ${sim.length} simulator frames + ${proc.length} procedural images`);
const preset = getPreset(values.preset!);
const bundle = await fitDefaultModel(images, {
  ...preset.fit,
  inputWidth: W,
  inputHeight: H,
  pcaDim: 0,
  seed: 1,
  name: "waymark-generic",
});
bundle.manifest.description =
  `Generic ${preset.name}: dense RootSIFT + NetVLAD (K=${preset.fit.clusters}) with a vocabulary fitted on ${sim.length} simulator frames and ${proc.length} procedural images (scripts/model_build_generic.ts); for use without a prior map`;
bundle.manifest.provenance = {
  ...bundle.manifest.provenance,
  preset: preset.name,
  simulatorFrames: sim.length,
  proceduralImages: proc.length,
};
const path = await saveModelBundle(values.out!, bundle);
console.log(
  `wrote ${path} (${bundle.onnx.length} bytes ONNX, descriptor ${bundle.manifest.descriptorDim}-d)`,
);
