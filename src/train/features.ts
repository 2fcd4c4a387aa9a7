/**
 * Fixed feature maps for training, computed once per image and cached: the front end of the default model
 * (dense RootSIFT as ONNX) or a bring-your-own frozen backbone exported as a feature-map ONNX.
 *
 * Contract of a feature-map ONNX (bring your own backbone): one float32 input [N, channels, H, W] (NCHW, the
 * image resized to H x W, pixel / 255 then (x - mean) / std per channel) and one float32 output [N, C, h, w]
 * (the last convolutional feature map, before any pooling or normalisation). The NetVLAD head (input L2 over
 * C, soft assignment, aggregation, normalisations, whitening) is learnt on top of it.
 *
 * Training uses at most `maxPositions` grid positions per image (a regular sub-grid, stride s in both
 * directions): the VLAD sum over a regular sub-grid approximates the full-grid sum (neighbouring dense-SIFT
 * descriptors overlap by 75%), and it bounds time and memory. The exported model aggregates the full grid.
 *
 * @module
 */
import { invalid, TrainingError } from "../errors.ts";
import { toNchw } from "../image/normalise.ts";
import { prepareImage } from "../image/prepare.ts";
import { createSession, type RuntimeSession } from "../model/runtime.ts";
import type { PixelImage, ProviderChoice } from "../types.ts";
import type { PreparedFeatures } from "./netvlad_grad.ts";

/** Produces prepared (per-position L2-normalised, sub-gridded) feature maps of images. */
export interface FeatureExtractor {
  /** Feature channels C. */
  readonly channels: number;
  /** Prepared features of each image, in order. */
  extract(images: PixelImage[]): Promise<PreparedFeatures[]>;
  /** Release the session. */
  close(): Promise<void>;
}

/** The smallest integer stride s such that ceil(h/s) * ceil(w/s) <= maxPositions. */
export function subGridStride(h: number, w: number, maxPositions: number): number {
  if (!Number.isInteger(maxPositions) || maxPositions < 1) {
    throw invalid("sub-sample a feature grid", "maxPositions", "a positive integer", maxPositions);
  }
  let s = 1;
  while (Math.ceil(h / s) * Math.ceil(w / s) > maxPositions) s++;
  return s;
}

/**
 * One image's feature map ([C, h, w] channel-major, or [h, w, C] when `layout` is "hwc") to the training layout:
 * sub-grid of stride `stride` (offset so that the sub-grid is centred), position-major, L2 per position;
 * `weighted`: keep each position's length (capped at 1) as its weight (the default model's weighted NetVLAD).
 *
 * @example
 * ```ts
 * import { prepareGrid } from "./features.ts";
 * const f = prepareGrid(new Float32Array(2 * 4 * 4).fill(1), "chw", 2, 4, 4, 2);
 * console.assert(f.M === 4 && Math.abs(f.data[0] - Math.SQRT1_2) < 1e-6);
 * ```
 */
export function prepareGrid(
  data: Float32Array,
  layout: "chw" | "hwc",
  C: number,
  h: number,
  w: number,
  stride = 1,
  weighted = false,
): PreparedFeatures {
  if (data.length !== C * h * w) {
    throw invalid("prepare a feature map", "data.length", `C*h*w = ${C * h * w}`, data.length);
  }
  const ys: number[] = [], xs: number[] = [];
  const oy = Math.floor(((h - 1) % stride) / 2), ox = Math.floor(((w - 1) % stride) / 2);
  for (let y = oy; y < h; y += stride) ys.push(y);
  for (let x = ox; x < w; x += stride) xs.push(x);
  const M = ys.length * xs.length;
  const out = new Float32Array(M * C);
  const weights = weighted ? new Float32Array(M) : undefined;
  const HW = h * w;
  let m = 0;
  for (const y of ys) {
    for (const x of xs) {
      const p = y * w + x;
      const o = m * C;
      let n = 0;
      if (layout === "chw") {
        for (let c = 0; c < C; c++) {
          const v = data[c * HW + p];
          out[o + c] = v;
          n += v * v;
        }
      } else {
        for (let c = 0; c < C; c++) {
          const v = data[p * C + c];
          out[o + c] = v;
          n += v * v;
        }
      }
      const inv = 1 / Math.max(Math.sqrt(n), 1e-12);
      for (let c = 0; c < C; c++) out[o + c] *= inv;
      if (weights) weights[m] = Math.min(Math.sqrt(n), 1);
      m++;
    }
  }
  return weights ? { C, M, data: out, weights } : { C, M, data: out };
}

/** Input of a feature-map ONNX. */
export interface FeatureMapInput {
  width: number;
  height: number;
  channels: 1 | 3;
  /** Per channel, applied to pixel / 255. Default 0. */
  mean?: number[];
  /** Per channel. Default 1. */
  std?: number[];
}

/** Options of {@linkcode onnxFeatureExtractor}. */
export interface OnnxFeatureOptions {
  input: FeatureMapInput;
  /** Output to read. Default: the first output. */
  outputName?: string;
  /** Positions per image kept for training. Default 1024. */
  maxPositions?: number;
  /** Images per inference batch. Default 8. */
  batchSize?: number;
  /** Execution provider. Default "cpu". */
  provider?: ProviderChoice;
  /** Name used in messages. */
  label?: string;
}

/**
 * A feature extractor over a feature-map ONNX (bytes or path): the bring-your-own-backbone contract above, and
 * the default model's dense front end (see `train_model.ts`).
 */
export async function onnxFeatureExtractor(
  model: Uint8Array | string,
  options: OnnxFeatureOptions,
): Promise<FeatureExtractor> {
  const { input } = options;
  const maxPositions = options.maxPositions ?? 1024;
  const batchSize = options.batchSize ?? 8;
  const label = options.label ?? (typeof model === "string" ? model : "feature-map model");
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw invalid("extract features", "batchSize", "a positive integer", batchSize);
  }
  subGridStride(1, 1, maxPositions);
  const session: RuntimeSession = await createSession(model, { provider: options.provider ?? "cpu", label });
  if (session.inputs.length !== 1) {
    await session.close();
    throw new TrainingError(
      `${label}: a feature-map model has exactly one input, found ${session.inputs.length}`,
    );
  }
  const inName = session.inputs[0].name;
  const outName = options.outputName ?? session.outputs[0].name;
  if (!session.outputs.some((o) => o.name === outName)) {
    await session.close();
    throw new TrainingError(
      `${label}: no output named '${outName}' (outputs: ${session.outputs.map((o) => o.name).join(", ")})`,
    );
  }
  const norm = {
    width: input.width,
    height: input.height,
    channels: input.channels,
    mean: input.mean ?? Array(input.channels).fill(0),
    std: input.std ?? Array(input.channels).fill(1),
  };
  let channels = -1;
  const extractor: FeatureExtractor = {
    get channels() {
      return channels;
    },
    async extract(images) {
      const out: PreparedFeatures[] = [];
      for (let i = 0; i < images.length; i += batchSize) {
        const batch = await Promise.all(
          images.slice(i, i + batchSize).map((im) =>
            prepareImage(im, { width: input.width, height: input.height, channels: input.channels })
          ),
        );
        const res = await session.run(
          {
            [inName]: {
              data: toNchw(batch, norm),
              dims: [batch.length, input.channels, input.height, input.width],
            },
          },
          [outName],
        );
        const t = res[outName];
        if (t.dims.length !== 4 || t.dims[0] !== batch.length) {
          throw new TrainingError(
            `${label}: output '${outName}' must be [N, C, h, w] with N = ${batch.length}: got [${
              t.dims.join(", ")
            }]`,
          );
        }
        const [, C, h, w] = t.dims;
        channels = C;
        const stride = subGridStride(h, w, maxPositions);
        const per = C * h * w;
        for (let b = 0; b < batch.length; b++) {
          out.push(prepareGrid(t.data.subarray(b * per, (b + 1) * per), "chw", C, h, w, stride));
        }
      }
      return out;
    },
    close: () => session.close(),
  };
  return extractor;
}
