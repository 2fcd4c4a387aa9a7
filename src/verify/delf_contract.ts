/**
 * Bring your own DELF: the ONNX contract a learned DELF export fits, and a {@link DenseExtractor} over it.
 *
 * Contract (`delf.json` beside the ONNX file, or a {@link DelfContract} object):
 * ```json
 * {
 *   "format": "waymark-delf", "formatVersion": 1,
 *   "file": "delf.onnx",
 *   "input": { "name": "image", "channels": 3, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225] },
 *   "features": { "name": "features", "layout": "NCHW" },
 *   "attention": { "name": "attention" },
 *   "stride": 16, "offset": 0
 * }
 * ```
 * - Input: float32 `[1, C, H, W]` with **free** H and W (the pyramid runs the model on each resized image),
 *   C = 1 (grey) or 3 (RGB); pixels are given as `(pixel / 255 - mean) / std` per channel.
 * - `features`: the dense feature map, `[1, D, h, w]` (`layout: "NCHW"`, default) or `[1, h, w, D]` (`"NHWC"`).
 *   Not normalised by the model (Waymark L2-normalises, applies the map's PCA, L2-normalises again).
 * - `attention`: the attention map on the same grid, `[1, 1, h, w]`, `[1, h, w]` or `[1, h, w, 1]`, one
 *   non-negative score per location (DELF: the softplus output of the attention head).
 * - Grid cell (gx, gy) has its receptive-field centre at input pixel `(offset + gx * stride, offset +
 *   gy * stride)`. For DELF's ResNet-50 conv4 (receptive field 291 px, stride 16, padding 145) that is
 *   `stride 16, offset 0`.
 *
 * Shapes are checked on the first run of each image; a mismatch throws a ModelLoadError naming the output.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import type { DenseLocalFeatures, PixelImage } from "../types.ts";
import { invalid, ModelLoadError } from "../errors.ts";
import { createSession, type RuntimeSession } from "../model/runtime.ts";
import type { DenseExtractor } from "./local_features.ts";
import { resizeByScale } from "../image/resize.ts";

/** Format tag of `delf.json`. */
export const DELF_FORMAT = "waymark-delf";

/** The DELF ONNX contract (see the module documentation). */
export interface DelfContract {
  format?: typeof DELF_FORMAT;
  formatVersion?: number;
  /** ONNX file, relative to the contract file (when read from one). */
  file?: string;
  input: { name: string; channels: 1 | 3; mean?: number[]; std?: number[] };
  features: { name: string; layout?: "NCHW" | "NHWC" };
  attention: { name: string };
  /** Input pixels between grid points. */
  stride: number;
  /** Input pixel coordinate of grid point 0. */
  offset: number;
}

/** A loaded DELF model: its extractor (for `extractLocalFeatures({ extractor })`) and its session. */
export interface DelfModel {
  readonly contract: DelfContract;
  readonly extractor: DenseExtractor;
  close(): Promise<void>;
}

/** Validate a contract object; throws ValidationError naming the first bad field. */
export function checkDelfContract(c: DelfContract, where = "DELF contract"): DelfContract {
  const act = `load the ${where}`;
  if (!c || typeof c !== "object") throw invalid(act, "contract", "an object", c);
  if (c.format !== undefined && c.format !== DELF_FORMAT) {
    throw invalid(act, "format", `"${DELF_FORMAT}"`, c.format);
  }
  if (c.formatVersion !== undefined && c.formatVersion !== 1) {
    throw invalid(act, "formatVersion", "1", c.formatVersion);
  }
  if (!c.input || typeof c.input.name !== "string") {
    throw invalid(act, "input.name", "a string", c.input?.name);
  }
  if (c.input.channels !== 1 && c.input.channels !== 3) {
    throw invalid(act, "input.channels", "1 or 3", c.input.channels);
  }
  for (const k of ["mean", "std"] as const) {
    const v = c.input[k];
    if (
      v !== undefined && (!Array.isArray(v) || v.length !== c.input.channels || v.some((x) => !isFinite(x)))
    ) {
      throw invalid(act, `input.${k}`, `${c.input.channels} numbers`, v);
    }
  }
  if (c.input.std?.some((s) => s === 0)) throw invalid(act, "input.std", "non-zero numbers", c.input.std);
  if (!c.features || typeof c.features.name !== "string") {
    throw invalid(act, "features.name", "a string", c.features?.name);
  }
  const layout = c.features.layout ?? "NCHW";
  if (layout !== "NCHW" && layout !== "NHWC") {
    throw invalid(act, "features.layout", `"NCHW" or "NHWC"`, layout);
  }
  if (!c.attention || typeof c.attention.name !== "string") {
    throw invalid(act, "attention.name", "a string", c.attention?.name);
  }
  if (!(c.stride > 0) || !Number.isFinite(c.stride)) {
    throw invalid(act, "stride", "a positive number", c.stride);
  }
  if (!Number.isFinite(c.offset)) throw invalid(act, "offset", "a number", c.offset);
  return c;
}

function pack(image: PixelImage, c: DelfContract): Float32Array {
  const { width: w, height: h, channels: ic, data } = image;
  const oc = c.input.channels;
  const mean = c.input.mean ?? new Array(oc).fill(0), std = c.input.std ?? new Array(oc).fill(1);
  const plane = w * h;
  const out = new Float32Array(oc * plane);
  for (let p = 0; p < plane; p++) {
    let r: number, g: number, b: number;
    if (ic === 1) r = g = b = data[p];
    else r = data[3 * p], g = data[3 * p + 1], b = data[3 * p + 2];
    if (oc === 1) out[p] = ((0.299 * r + 0.587 * g + 0.114 * b) / 255 - mean[0]) / std[0];
    else {
      out[p] = (r / 255 - mean[0]) / std[0];
      out[plane + p] = (g / 255 - mean[1]) / std[1];
      out[2 * plane + p] = (b / 255 - mean[2]) / std[2];
    }
  }
  return out;
}

/**
 * Turn one run's outputs into dense features; throws ModelLoadError when the shapes break the contract.
 * Exported for tests.
 */
export function denseFromOutputs(
  features: { data: Float32Array; dims: number[] },
  attention: { data: Float32Array; dims: number[] },
  c: DelfContract,
  imageWidth: number,
  imageHeight: number,
  label = "DELF model",
): DenseLocalFeatures {
  const bad = (what: string) => new ModelLoadError(`DELF model ${label} breaks its contract: ${what}`);
  const fd = features.dims, ad = attention.dims;
  if (fd.length !== 4 || fd[0] !== 1) {
    throw bad(`output '${c.features.name}' must be [1, D, h, w] or [1, h, w, D], got [${fd.join(", ")}]`);
  }
  const nhwc = (c.features.layout ?? "NCHW") === "NHWC";
  const [dim, gh, gw] = nhwc ? [fd[3], fd[1], fd[2]] : [fd[1], fd[2], fd[3]];
  const grid = ad.length === 4
    ? (ad[1] === 1 ? [ad[2], ad[3]] : ad[3] === 1 ? [ad[1], ad[2]] : null)
    : ad.length === 3
    ? [ad[1], ad[2]]
    : null;
  if (!grid || ad[0] !== 1 || grid[0] !== gh || grid[1] !== gw) {
    throw bad(
      `output '${c.attention.name}' must be one score per feature location ([1, 1, ${gh}, ${gw}], [1, ${gh}, ${gw}]` +
        ` or [1, ${gh}, ${gw}, 1]), got [${ad.join(", ")}]`,
    );
  }
  const plane = gh * gw;
  let hwc: Float32Array;
  if (nhwc) hwc = features.data.slice(0, plane * dim);
  else {
    hwc = new Float32Array(plane * dim);
    for (let ch = 0; ch < dim; ch++) {
      const o = ch * plane;
      for (let p = 0; p < plane; p++) hwc[p * dim + ch] = features.data[o + p];
    }
  }
  const att = new Float32Array(plane);
  for (let p = 0; p < plane; p++) {
    const v = attention.data[p];
    att[p] = Number.isFinite(v) && v > 0 ? v : 0;
  }
  return {
    gridWidth: gw,
    gridHeight: gh,
    dim,
    stride: c.stride,
    offset: c.offset,
    descriptors: hwc,
    attention: att,
    imageWidth,
    imageHeight,
  };
}

/**
 * Load a DELF ONNX model: `source` is a folder or `delf.json` path (the contract names the ONNX file), or
 * ONNX bytes / an ONNX path together with `contract`. The session's input and outputs are checked against the
 * contract at load time (ModelLoadError otherwise).
 *
 * @example
 * ```ts ignore
 * const delf = await loadDelfModel("models/my-delf");
 * const f = await extractLocalFeatures(image, { extractor: delf.extractor });
 * await delf.close();
 * ```
 */
export async function loadDelfModel(
  source: string | Uint8Array,
  contract?: DelfContract,
  options: { threads?: number } = {},
): Promise<DelfModel> {
  let model: string | Uint8Array = source;
  let c = contract;
  let label = typeof source === "string" ? source : "<bytes>";
  if (!c) {
    if (typeof source !== "string") {
      throw invalid("load a DELF model", "contract", "a contract object when the model is given as bytes", c);
    }
    let file = source;
    if ((await Deno.stat(source).catch(() => null))?.isDirectory) file = join(source, "delf.json");
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new ModelLoadError(
        `Cannot load DELF model ${source}: no readable ${file} (${(err as Error).message})`,
        {
          cause: err,
          context: { file },
        },
      );
    }
    try {
      c = JSON.parse(text) as DelfContract;
    } catch (err) {
      throw new ModelLoadError(`Cannot load DELF model ${file}: not JSON (${(err as Error).message})`, {
        cause: err,
        context: { file },
      });
    }
    checkDelfContract(c, file);
    if (typeof c.file !== "string") {
      throw invalid(`load the DELF contract ${file}`, "file", "a string", c.file);
    }
    model = isAbsolute(c.file) ? c.file : join(dirname(file), c.file);
    label = model;
  } else checkDelfContract(c);
  const session = await createSession(model, {
    provider: "cpu",
    intraOpNumThreads: options.threads ?? 1,
    label,
  });
  const check = (
    kind: "input" | "output",
    list: { name: string; shape: (number | string)[] }[],
    name: string,
  ) => {
    if (!list.some((x) => x.name === name)) {
      const have = list.map((x) => x.name).join(", ");
      throw new ModelLoadError(
        `DELF model ${label} breaks its contract: no ${kind} '${name}' (it has: ${have || "none"})`,
        { context: { file: label } },
      );
    }
  };
  try {
    check("input", session.inputs, c.input.name);
    check("output", session.outputs, c.features.name);
    check("output", session.outputs, c.attention.name);
  } catch (err) {
    await session.close();
    throw err;
  }
  return {
    contract: c,
    extractor: delfExtractor(session, c, label),
    close: () => session.close(),
  };
}

/** A {@link DenseExtractor} over an open session that fits the contract. */
export function delfExtractor(
  session: RuntimeSession,
  c: DelfContract,
  label = session.label,
): DenseExtractor {
  checkDelfContract(c);
  return async (image, scale) => {
    const resized = resizeByScale(image, scale);
    const { width: w, height: h } = resized;
    const out = await session.run(
      { [c.input.name]: { data: pack(resized, c), dims: [1, c.input.channels, h, w] } },
      [c.features.name, c.attention.name],
    );
    return denseFromOutputs(out[c.features.name], out[c.attention.name], c, w, h, label);
  };
}
