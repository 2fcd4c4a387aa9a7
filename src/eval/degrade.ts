/**
 * Image degradations for the robustness suite: the ways real cameras and real days spoil an image, applied to
 * 8-bit pixels, deterministic for a given seed (same image, same spec, same seed: same bytes).
 *
 * - `night`: the night-like change of issue 9: values in [0, 1] raised to the power 2.2, times 0.35, times
 *   (0.8, 0.9, 1.2) per RGB channel (their mean on grey images), Gaussian sensor noise sigma 0.02, clipped,
 *   then JPEG quality 85. `night:S` also blurs (Gaussian sigma S px) before the noise.
 * - `darker:F`: values times F (clipped). `gamma:G`: values raised to the power G.
 * - `cast:R,G,B`: per-channel gains (clipped).
 * - `noise:S`: Gaussian noise of sigma S (in [0, 1] units), clipped.
 * - `blur:S`: Gaussian blur of sigma S px (separable, mirrored border).
 * - `jpeg:Q`: a JPEG round trip at quality Q.
 * - `crop:F[:side]`: F of the width cut away on `side` (left, right; default left), resized back to the
 *   original size (a viewpoint shift with a slight zoom). `crop:A-B[:side]` draws F uniformly in [A, B] per
 *   image from the seed; side `random` draws the side too.
 * - `down:WxH`: resized to W x H (antialiased, `src/image/resize.ts`).
 *
 * Specs combine with `+`, applied left to right: `night+down:160x120`, `crop:0.1-0.2:random+jpeg:30`.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { gaussian, mulberry32 } from "../_rng.ts";
import { decodeImage } from "../image/decode.ts";
import { resizePixels } from "../image/resize.ts";
import { encodeImage } from "../io/simulator/encode.ts";
import type { PixelImage } from "../types.ts";

/** One degradation step. */
export type Degradation =
  | { kind: "night"; blurSigma: number }
  | { kind: "darker"; factor: number }
  | { kind: "gamma"; gamma: number }
  | { kind: "cast"; gains: [number, number, number] }
  | { kind: "noise"; sigma: number }
  | { kind: "blur"; sigma: number }
  | { kind: "jpeg"; quality: number }
  | { kind: "crop"; min: number; max: number; side: "left" | "right" | "random" }
  | { kind: "down"; width: number; height: number };

/** The night-like change's constants (issue 9). */
export const NIGHT = {
  gamma: 2.2,
  gain: 0.35,
  cast: [0.8, 0.9, 1.2] as [number, number, number],
  noiseSigma: 0.02,
  jpegQuality: 85,
} as const;

const ACTION = "parse a degradation";

function num(spec: string, text: string | undefined, lo: number, hi: number): number {
  const v = Number(text);
  if (text === undefined || text === "" || !Number.isFinite(v) || v < lo || v > hi) {
    throw invalid(ACTION, spec, `a number in [${lo}, ${hi}]`, text);
  }
  return v;
}

/**
 * Parse one step (`jpeg:30`) or a `+`-combination (`night+down:160x120`) into steps.
 * Throws a ValidationError naming the step and what it expects.
 *
 * @example
 * ```ts
 * import { parseDegradations } from "./degrade.ts";
 * console.assert(parseDegradations("night+jpeg:30").length === 2);
 * ```
 */
export function parseDegradations(spec: string): Degradation[] {
  if (spec.trim() === "" || spec === "none") return [];
  return spec.split("+").map((part) => {
    const [name, a, b] = part.trim().split(":");
    switch (name) {
      case "night":
        return { kind: "night", blurSigma: a === undefined ? 0 : num(part, a, 0, 20) };
      case "darker":
        return { kind: "darker", factor: num(part, a, 0, 10) };
      case "gamma":
        return { kind: "gamma", gamma: num(part, a, 0.05, 10) };
      case "cast": {
        const g = (a ?? "").split(",");
        if (g.length !== 3) throw invalid(ACTION, part, "three gains R,G,B", a);
        return { kind: "cast", gains: g.map((x) => num(part, x, 0, 10)) as [number, number, number] };
      }
      case "noise":
        return { kind: "noise", sigma: num(part, a, 0, 1) };
      case "blur":
        return { kind: "blur", sigma: num(part, a, 0, 50) };
      case "jpeg": {
        const q = num(part, a, 1, 100);
        if (!Number.isInteger(q)) throw invalid(ACTION, part, "an integer quality in [1, 100]", a);
        return { kind: "jpeg", quality: q };
      }
      case "crop": {
        const range = (a ?? "").split("-");
        const min = num(part, range[0], 0, 0.9);
        const max = range.length > 1 ? num(part, range[1], min, 0.9) : min;
        const side = b ?? "left";
        if (side !== "left" && side !== "right" && side !== "random") {
          throw invalid(ACTION, part, "side left, right or random", side);
        }
        return { kind: "crop", min, max, side };
      }
      case "down": {
        const m = /^(\d+)x(\d+)$/.exec(a ?? "");
        if (!m || +m[1] < 1 || +m[2] < 1) throw invalid(ACTION, part, "a size WxH (e.g. 160x120)", a);
        return { kind: "down", width: +m[1], height: +m[2] };
      }
      default:
        throw invalid(
          ACTION,
          "degradation",
          "one of night, darker, gamma, cast, noise, blur, jpeg, crop, down (joined with +)",
          part,
        );
    }
  });
}

/** Apply `fn` to every channel value in [0, 1] (channel index given), rounding and clipping back to 8 bits. */
function mapValues(img: PixelImage, fn: (v: number, channel: number) => number): PixelImage {
  const c = img.channels, src = img.data, out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = fn(src[i] / 255, i % c);
    out[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return { width: img.width, height: img.height, channels: img.channels, data: out };
}

function channelGain(gains: readonly [number, number, number], channels: 1 | 3): number[] {
  return channels === 3 ? [...gains] : [(gains[0] + gains[1] + gains[2]) / 3];
}

/** Gaussian sensor noise of `sigma` (values in [0, 1]), clipped; one draw per channel value. */
export function addNoise(img: PixelImage, sigma: number, seed: number): PixelImage {
  const normal = gaussian(mulberry32(seed));
  return mapValues(img, (v) => v + sigma * normal());
}

/** Separable Gaussian blur of `sigma` pixels (radius ceil(3 sigma), mirrored border); sigma 0 returns the input. */
export function gaussianBlur(img: PixelImage, sigma: number): PixelImage {
  if (!(sigma > 0)) return img;
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const { width: w, height: h, channels: c, data } = img;
  const mirror = (i: number, n: number) => {
    if (n === 1) return 0;
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
    return i;
  };
  const mid = new Float32Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) acc += k[t + r] * data[(y * w + mirror(x + t, w)) * c + ch];
        mid[(y * w + x) * c + ch] = acc;
      }
    }
  }
  const out = new Uint8Array(data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = -r; t <= r; t++) acc += k[t + r] * mid[(mirror(y + t, h) * w + x) * c + ch];
        out[(y * w + x) * c + ch] = Math.min(255, Math.max(0, Math.round(acc)));
      }
    }
  }
  return { width: w, height: h, channels: c, data: out };
}

/** A JPEG round trip at `quality` (libjpeg through sharp: deterministic). */
export async function jpegRoundTrip(img: PixelImage, quality: number): Promise<PixelImage> {
  const bytes = await encodeImage(img, "jpeg", quality);
  return await decodeImage(bytes, { channels: img.channels, source: `jpeg q${quality} round trip` });
}

/** Cut `fraction` of the width away on `side` and resize back to the original size. */
export function cropShift(img: PixelImage, fraction: number, side: "left" | "right"): PixelImage {
  const cut = Math.round(img.width * fraction);
  if (cut <= 0) return img;
  const w = img.width - cut, c = img.channels, x0 = side === "left" ? cut : 0;
  const data = new Uint8Array(w * img.height * c);
  for (let y = 0; y < img.height; y++) {
    data.set(img.data.subarray((y * img.width + x0) * c, (y * img.width + x0 + w) * c), y * w * c);
  }
  return resizePixels({ width: w, height: img.height, channels: c, data }, img.width, img.height);
}

/** The night-like change of issue 9 (see the module doc), with an optional blur before the noise. */
export async function nightLike(img: PixelImage, seed: number, blurSigma = 0): Promise<PixelImage> {
  const gains = channelGain(NIGHT.cast, img.channels);
  // Tone first (no rounding in between would change little: the noise dominates the 8-bit step).
  let out = mapValues(img, (v, ch) => Math.pow(v, NIGHT.gamma) * NIGHT.gain * gains[ch]);
  out = gaussianBlur(out, blurSigma);
  out = addNoise(out, NIGHT.noiseSigma, seed);
  return await jpegRoundTrip(out, NIGHT.jpegQuality);
}

/** Apply one step; `seed` drives the step's random draws (noise, crop fraction and side). */
export async function applyDegradation(
  img: PixelImage,
  step: Degradation,
  seed: number,
): Promise<PixelImage> {
  switch (step.kind) {
    case "night":
      return await nightLike(img, seed, step.blurSigma);
    case "darker":
      return mapValues(img, (v) => v * step.factor);
    case "gamma":
      return mapValues(img, (v) => Math.pow(v, step.gamma));
    case "cast": {
      const g = channelGain(step.gains, img.channels);
      return mapValues(img, (v, ch) => v * g[ch]);
    }
    case "noise":
      return addNoise(img, step.sigma, seed);
    case "blur":
      return gaussianBlur(img, step.sigma);
    case "jpeg":
      return await jpegRoundTrip(img, step.quality);
    case "crop": {
      const rand = mulberry32(seed ^ 0x5bd1e995);
      const f = step.min + (step.max - step.min) * rand();
      const side = step.side === "random" ? (rand() < 0.5 ? "left" : "right") : step.side;
      return cropShift(img, f, side);
    }
    case "down":
      return resizePixels(img, step.width, step.height);
  }
}

/**
 * Apply a list of steps (or a spec string) in order. Step `i` draws from `seed * 31 + i`, so an image's
 * degradation depends only on the spec and its seed (pass e.g. the image's index plus a run seed).
 *
 * @example
 * ```ts
 * import { degrade } from "./degrade.ts";
 * const img = { width: 2, height: 1, channels: 1 as const, data: new Uint8Array([200, 100]) };
 * const d = await degrade(img, "darker:0.5", 1);
 * console.assert(d.data[0] === 100 && d.data[1] === 50);
 * ```
 */
export async function degrade(
  img: PixelImage,
  steps: Degradation[] | string,
  seed: number,
): Promise<PixelImage> {
  const list = typeof steps === "string" ? parseDegradations(steps) : steps;
  let out = img;
  for (let i = 0; i < list.length; i++) {
    out = await applyDegradation(out, list[i], (Math.imul(seed >>> 0, 31) + i) >>> 0);
  }
  return out;
}
