/**
 * Test doubles for the pipeline: a fake descriptor model (a place code in the pixels -> a smooth one-hot
 * descriptor), raw mono8 frames carrying a place code, and a tiny exact map.
 */
import type {
  CameraFrame,
  DescriptorModel,
  DescriptorOutput,
  LoopClosureEvent,
  PixelImage,
  RawImage,
} from "../../src/types.ts";
import { rawToPixels } from "../../src/image/decode.ts";
import { BruteForceIndex } from "../../src/index/brute_force_index.ts";
import type { PlaceMap } from "../../src/pipeline/search_stage.ts";

export const DIM = 64;

/** Smooth one-hot descriptor of a place code (neighbouring codes are similar). */
export function codeVector(code: number, dim = DIM): Float32Array {
  const v = new Float32Array(dim);
  let n = 0;
  for (let j = 0; j < dim; j++) {
    const d = j - (code % dim);
    v[j] = Math.exp(-(d * d) / 2);
    n += v[j] * v[j];
  }
  n = Math.sqrt(n);
  for (let j = 0; j < dim; j++) v[j] /= n;
  return v;
}

/** A fake model: the first pixel is the place code. `delayMs` > 0 answers after a timer; 0 answers synchronously. */
export function fakeModel(
  options: { delayMs?: number; failOn?: number } = {},
): DescriptorModel & { calls: number } {
  const delay = options.delayMs ?? 0;
  const m = {
    calls: 0,
    info: {
      name: "fake",
      id: "fake-1",
      descriptorDim: DIM,
      inputWidth: 4,
      inputHeight: 4,
      inputChannels: 1 as const,
      provider: "cpu" as const,
    },
    describe(image: PixelImage): Promise<DescriptorOutput> {
      m.calls++;
      const code = image.data[0];
      if (code === options.failOn) throw new Error("model failure");
      const out = { global: codeVector(code) };
      if (delay === 0) return out as unknown as Promise<DescriptorOutput>;
      return new Promise((resolve) => setTimeout(() => resolve(out), delay));
    },
    async describeBatch(images: PixelImage[]) {
      return await Promise.all(images.map((i) => m.describe(i)));
    },
    async close() {},
  };
  return m;
}

/**
 * A raw mono8 16x16 frame carrying `code` in its first pixel, on a horizontal ramp (pixel (x, y) holds
 * `code + 8x`), so that it has content (the pipeline skips uniform frames) and frames of different codes differ
 * everywhere.
 */
export function codeFrame(seq: number, code: number, stamp = seq / 10): CameraFrame {
  const data = new Uint8Array(16 * 16);
  for (let i = 0; i < data.length; i++) data[i] = (code + 8 * (i % 16)) & 255;
  const image: RawImage = {
    kind: "raw",
    width: 16,
    height: 16,
    encoding: "mono8",
    step: 16,
    bigEndian: false,
    data,
  };
  return { seq, stamp, frameId: "cam", image, source: `code-${code}` };
}

/** A loop-closure event of frame `seq` (stamp `seq`) with map place `placeId`. */
export function loopEvent(seq: number, placeId: number, confidence = 0.99): LoopClosureEvent {
  return {
    kind: "loop",
    query: { seq, stamp: seq },
    match: { placeId },
    stamps: [seq, 0],
    score: 0.9,
    confidence,
  };
}

/** A frame whose raw data does not match its declared size (a decode error). */
export function badFrame(seq: number): CameraFrame {
  return {
    seq,
    stamp: seq / 10,
    frameId: "cam",
    image: {
      kind: "raw",
      width: 40,
      height: 40,
      encoding: "mono8",
      step: 40,
      bigEndian: false,
      data: new Uint8Array(3),
    },
  };
}

/** Synchronous decoder (raw frames only), so that the pipeline runs in virtual time. */
export const syncDecode = (image: CameraFrame["image"]) => rawToPixels(image as RawImage, { channels: 1 });

/** A map of places with codes 0..n-1 (place id = code). */
export function codeMap(n: number): PlaceMap {
  const index = new BruteForceIndex(DIM);
  const descriptors = new Float32Array(n * DIM);
  const places = [];
  for (let i = 0; i < n; i++) {
    const v = codeVector(i);
    index.add(i, v);
    descriptors.set(v, i * DIM);
    places.push({ placeId: i, image: `p${i}.png` });
  }
  return { index, places, descriptors };
}
