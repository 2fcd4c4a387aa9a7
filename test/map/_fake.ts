import { tempDir } from "./_tmp.ts";
/**
 * Test doubles for maps: a tiny descriptor model (grey image averaged onto a 4x4 grid, L2-normalised, 16-d)
 * and a trivial image "format" (`FAKE` + width + height + grey bytes) with a decoder that rejects anything else.
 */
import { ImageDecodeError } from "../../src/errors.ts";
import type { DescriptorModel, DescriptorOutput, ModelInfo, PixelImage } from "../../src/types.ts";

const G = 4;

/** A descriptor model of downsampled pixels. */
export class FakeModel implements DescriptorModel {
  readonly info: ModelInfo;
  closed = false;
  constructor(id = "fake-model-1") {
    this.info = {
      name: "fake-grid",
      id,
      descriptorDim: G * G,
      inputWidth: G,
      inputHeight: G,
      inputChannels: 1,
      provider: "cpu",
    };
  }
  describe(image: PixelImage): Promise<DescriptorOutput> {
    const v = new Float32Array(G * G);
    const cnt = new Float32Array(G * G);
    for (let y = 0; y < image.height; y++) {
      for (let x = 0; x < image.width; x++) {
        const c = Math.floor((y * G) / image.height) * G + Math.floor((x * G) / image.width);
        v[c] += image.data[(y * image.width + x) * image.channels] + 1;
        cnt[c]++;
      }
    }
    let n = 0;
    for (let i = 0; i < v.length; i++) {
      v[i] /= Math.max(1, cnt[i]);
      n += v[i] * v[i];
    }
    n = Math.sqrt(n) || 1;
    for (let i = 0; i < v.length; i++) v[i] /= n;
    return Promise.resolve({ global: v });
  }
  async describeBatch(images: PixelImage[]): Promise<DescriptorOutput[]> {
    const out: DescriptorOutput[] = [];
    for (const im of images) out.push(await this.describe(im));
    return out;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

/** Encode a grey image in the fake format. */
export function encodeFake(
  width: number,
  height: number,
  pixel: (x: number, y: number) => number,
): Uint8Array {
  const out = new Uint8Array(8 + width * height);
  out.set([70, 65, 75, 69, width, height]);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[8 + y * width + x] = pixel(x, y);
  return out;
}

/** Decode the fake format; anything else (or a truncated file) is an ImageDecodeError. */
export function decodeFake(bytes: Uint8Array, source: string, _channels: 1 | 3): Promise<PixelImage> {
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== "FAKE") {
    return Promise.reject(new ImageDecodeError(`Cannot decode ${source}: unknown image format`));
  }
  const [w, h] = [bytes[4], bytes[5]];
  if (bytes.length < 8 + w * h) {
    return Promise.reject(new ImageDecodeError(`Cannot decode ${source}: truncated`));
  }
  return Promise.resolve({ width: w, height: h, channels: 1, data: bytes.slice(8, 8 + w * h) });
}

/** Write `n` distinct fake images (plus `extra` files) into a temp folder; returns the folder. */
export async function fakeImageFolder(n: number, extra: Record<string, Uint8Array> = {}): Promise<string> {
  const dir = await tempDir("waymark_map_");
  for (let i = 0; i < n; i++) {
    const img = encodeFake(16, 16, (x, y) => ((x * (i + 3) + y * (2 * i + 1) + i * 37) * 7) % 256);
    await Deno.writeFile(`${dir}/${i + 1}.fake.png`, img);
  }
  for (const [name, bytes] of Object.entries(extra)) await Deno.writeFile(`${dir}/${name}`, bytes);
  return dir;
}
