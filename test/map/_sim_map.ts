/**
 * Test fixture: maps built from simulator frames (a fake 16-d global model, real local features), stored as
 * files in a trivial raw format so that no image codec is needed.
 */
import { join } from "node:path";
import type { DatasetImage } from "../../src/dataset/types.ts";
import { createSimulator } from "../../src/io/simulator/simulator.ts";
import { buildMap, type BuildMapOptions } from "../../src/map/build_map.ts";
import type { PixelImage } from "../../src/types.ts";
import { FakeModel } from "./_fake.ts";
import { tempDir } from "./_tmp.ts";

/** Simulator frames (320x240 RGB) as files in a trivial raw format: "RAW3", u16 width, u16 height, pixels. */
export const sim = createSimulator({ width: 320, height: 240, frames: 120 });
/** Frame `i` of traversal `traversal` (another traversal: other noise, slightly other poses). */
export function simFrame(i: number, traversal = 0): PixelImage {
  return sim.render(sim.path({ index: traversal })[i], { noiseSeed: traversal * 1000 + i });
}

/** Encode pixels in the raw format. */
export function encodeRaw(im: PixelImage): Uint8Array {
  const out = new Uint8Array(8 + im.data.length);
  out.set([82, 65, 87, 51]);
  new DataView(out.buffer).setUint16(4, im.width, true);
  new DataView(out.buffer).setUint16(6, im.height, true);
  out.set(im.data, 8);
  return out;
}

/** Decoder of the raw format (3 channels stored; grey on request). */
export function decodeRaw(bytes: Uint8Array, _source: string, channels: 1 | 3): Promise<PixelImage> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dv.getUint16(4, true), height = dv.getUint16(6, true);
  const rgb = bytes.subarray(8);
  if (channels === 3) return Promise.resolve({ width, height, channels: 3, data: rgb.slice() });
  const g = new Uint8Array(width * height);
  for (let i = 0; i < g.length; i++) g[i] = Math.round((rgb[3 * i] + rgb[3 * i + 1] + rgb[3 * i + 2]) / 3);
  return Promise.resolve({ width, height, channels: 1, data: g });
}

/** Frames 0, 10, ..., 110 of traversal 0 written into a fresh folder; place id k = frame 10k. */
export async function simImages(): Promise<{ dir: string; images: DatasetImage[] }> {
  const dir = await tempDir("waymark_lf_src_");
  const images: DatasetImage[] = [];
  for (let k = 0; k < 12; k++) {
    const image = `f${String(k * 10).padStart(3, "0")}.raw`;
    await Deno.writeFile(join(dir, image), encodeRaw(simFrame(k * 10)));
    images.push({ index: k, image, path: join(dir, image), stamp: k });
  }
  return { dir, images };
}

/** Build a map of {@link simImages} (fake 16-d global model, exact index). */
export async function buildSimMap(options: BuildMapOptions = {}) {
  const src = await simImages();
  const out = `${src.dir}_map`;
  const model = new FakeModel();
  const r = await buildMap(src.images, out, {
    model,
    index: "exact",
    decode: decodeRaw,
    onWarning: () => {},
    ...options,
  });
  return { src, out, model, r };
}
