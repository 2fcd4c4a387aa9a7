/**
 * {@link DescriptorModel} over any ONNX model described by a manifest (the default model or one you bring):
 * loads and checks it, warms the session up once, and describes images one at a time or in batches.
 *
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import type {
  DenseLocalFeatures,
  DescriptorModel,
  DescriptorOutput,
  EncodedImage,
  ModelInfo,
  PixelImage,
  ProviderChoice,
  RawImage,
} from "../types.ts";
import { toNchw } from "../image/normalise.ts";
import { type AnyImage, prepareImage } from "../image/prepare.ts";
import { convertChannels, resizePixels } from "../image/resize.ts";
import { normalizeInPlace } from "../kernels/vector.ts";
import {
  checkOutputDims,
  checkSessionAgainstManifest,
  checkSha256,
  MANIFEST_FORMAT,
  type ModelBundle,
  type ModelManifest,
  readManifest,
  sha256Hex,
} from "./manifest.ts";
import { createSession, type RuntimeSession, type SessionStats } from "./runtime.ts";

/** Name of the optional per-image descriptor support output ([N], in [0, 1]). */
const SUPPORT_OUTPUT = "support";

/** Options of {@link loadModel} and {@link loadModelBundle}. */
export interface LoadModelOptions {
  /** Execution provider. Default `"auto"`. */
  provider?: ProviderChoice;
  /** Threads inside one operator. Default: CPU cores, at most 4. */
  intraOpNumThreads?: number;
  /** Where the CUDA fallback line goes. Default `console.error`. */
  log?: (line: string) => void;
}

/** Options of describe calls. */
export interface DescribeOptions {
  /** Also return the dense local descriptors (models with a local output). Default false. */
  local?: boolean;
}

/** A loaded ONNX descriptor model. */
export class OnnxDescriptorModel implements DescriptorModel {
  readonly info: ModelInfo;
  readonly manifest: ModelManifest;
  readonly #session: RuntimeSession;
  readonly #label: string;

  constructor(session: RuntimeSession, manifest: ModelManifest, id: string, label: string) {
    this.#session = session;
    this.manifest = manifest;
    this.#label = label;
    this.info = {
      name: manifest.name,
      id,
      descriptorDim: manifest.descriptorDim,
      inputWidth: manifest.input.width,
      inputHeight: manifest.input.height,
      inputChannels: manifest.input.channels,
      provider: session.provider,
      ...(manifest.outputs.local ? { localDim: manifest.outputs.local.dim } : {}),
    };
  }

  /** Bring any image to the model's input size and channels (encoded images in one sharp pipeline). */
  prepare(image: AnyImage, source?: string): Promise<PixelImage> {
    return prepareImage(image, {
      width: this.info.inputWidth,
      height: this.info.inputHeight,
      channels: this.info.inputChannels,
    }, { source });
  }

  /** Describe one decoded image (any size). */
  async describe(image: PixelImage, options: DescribeOptions = {}): Promise<DescriptorOutput> {
    return (await this.describeBatch([image], options))[0];
  }

  /** Describe an encoded or raw frame image, decoding straight to the input size (the fast path). */
  async describeEncoded(
    image: EncodedImage | RawImage | Uint8Array,
    options: DescribeOptions & { source?: string } = {},
  ): Promise<DescriptorOutput> {
    return await this.describe(await this.prepare(image, options.source), options);
  }

  /** Describe several decoded images in one batch. */
  async describeBatch(images: PixelImage[], options: DescribeOptions = {}): Promise<DescriptorOutput[]> {
    if (images.length === 0) return [];
    const { inputWidth: w, inputHeight: h, inputChannels: c } = this.info;
    const sized = images.map((img) => convertChannels(resizePixels(img, w, h), c));
    const m = this.manifest;
    const input = toNchw(sized, { width: w, height: h, channels: c, mean: m.input.mean, std: m.input.std });
    const wantLocal = options.local === true && m.outputs.local !== undefined;
    const names = wantLocal ? [m.outputs.global.name, m.outputs.local!.name] : [m.outputs.global.name];
    // The optional per-image `support` output (the default model's; see DescriptorOutput.support).
    const hasSupport = this.#session.outputs.some((o) => o.name === SUPPORT_OUTPUT);
    if (hasSupport) names.push(SUPPORT_OUTPUT);
    const out = await this.#session.run(
      { [m.input.name]: { data: input, dims: [images.length, c, h, w] } },
      names,
    );
    const g = out[m.outputs.global.name];
    const D = m.descriptorDim;
    // Each run's outputs are fresh buffers that nothing else holds: one image keeps them as they are (no
    // copy); a batch copies each image's part, so that keeping one result does not keep the whole batch.
    const one = images.length === 1;
    const results: DescriptorOutput[] = [];
    for (let b = 0; b < images.length; b++) {
      const global = one ? g.data : g.data.slice(b * D, (b + 1) * D);
      normalizeInPlace(global);
      results.push({ global });
      const s = hasSupport ? out[SUPPORT_OUTPUT]?.data[b] : undefined;
      if (s !== undefined && Number.isFinite(s)) results[b].support = Math.min(1, Math.max(0, s));
    }
    if (wantLocal) {
      const l = out[m.outputs.local!.name];
      const nhwc = m.outputs.local!.layout === "NHWC";
      const [gh, gw, dim] = nhwc ? [l.dims[1], l.dims[2], l.dims[3]] : [l.dims[2], l.dims[3], l.dims[1]];
      const plane = gh * gw;
      for (let b = 0; b < images.length; b++) {
        const src = l.data.subarray(b * dim * plane, (b + 1) * dim * plane);
        let hwc: Float32Array;
        if (nhwc) hwc = one ? src : src.slice();
        else {
          hwc = new Float32Array(plane * dim);
          for (let ch = 0; ch < dim; ch++) {
            const o = ch * plane;
            for (let p = 0; p < plane; p++) hwc[p * dim + ch] = src[o + p];
          }
        }
        const local: DenseLocalFeatures = {
          gridWidth: gw,
          gridHeight: gh,
          dim,
          stride: m.outputs.local!.stride,
          offset: m.outputs.local!.offset,
          descriptors: hwc,
          imageWidth: w,
          imageHeight: h,
        };
        results[b].local = local;
      }
    }
    return results;
  }

  /** Session statistics (provider in use, runs, time). */
  stats(): SessionStats {
    return this.#session.stats();
  }

  /** Where the model came from (file path or name). */
  get source(): string {
    return this.#label;
  }

  /** Release the ONNX session. */
  async close(): Promise<void> {
    await this.#session.close();
  }
}

/**
 * Create a model from an in-memory bundle: checks the hash, creates and checks the session, warms it up.
 * `label` names the model in messages (default: the manifest name).
 */
export async function loadModelBundle(
  bundle: ModelBundle,
  options: LoadModelOptions & { label?: string } = {},
): Promise<OnnxDescriptorModel> {
  const label = options.label ?? bundle.manifest.name;
  const id = await checkSha256(bundle.onnx, bundle.manifest, label);
  const session = await createSession(bundle.onnx, {
    provider: options.provider,
    intraOpNumThreads: options.intraOpNumThreads,
    log: options.log,
    label,
  });
  try {
    checkSessionAgainstManifest(session, bundle.manifest, label);
    const { width, height, channels } = bundle.manifest.input;
    const dims = [1, channels, height, width];
    const probe = await session.warmup({ [bundle.manifest.input.name]: dims }).catch((err) => {
      throw new ModelLoadError(`Cannot load model ${label}: a test run failed (${(err as Error).message})`, {
        cause: err,
        context: { file: label },
      });
    });
    checkOutputDims(probe, bundle.manifest, label, 1);
  } catch (err) {
    await session.close();
    throw err;
  }
  return new OnnxDescriptorModel(session, bundle.manifest, id, label);
}

async function resolveManifestPath(dirOrManifest: string): Promise<string> {
  let stat: Deno.FileInfo;
  try {
    stat = await Deno.stat(dirOrManifest);
  } catch (err) {
    throw new ModelLoadError(`Cannot load model ${dirOrManifest}: no such file or folder`, {
      cause: err,
      context: { file: dirOrManifest },
    });
  }
  if (!stat.isDirectory) return dirOrManifest;
  const candidate = `${dirOrManifest.replace(/\/+$/, "")}/manifest.json`;
  try {
    await Deno.stat(candidate);
    return candidate;
  } catch {
    throw new ModelLoadError(`Cannot load model ${dirOrManifest}: the folder has no manifest.json`, {
      context: { file: dirOrManifest },
    });
  }
}

/** Read a model bundle (manifest + ONNX bytes) from a folder or manifest path, checking the hash. */
export async function readModelBundle(
  dirOrManifest: string,
): Promise<{ bundle: ModelBundle; onnxPath: string }> {
  const manifestPath = await resolveManifestPath(dirOrManifest);
  const manifest = await readManifest(manifestPath);
  const dir = manifestPath.includes("/") ? manifestPath.slice(0, manifestPath.lastIndexOf("/")) : ".";
  const onnxPath = manifest.file.startsWith("/") ? manifest.file : `${dir}/${manifest.file}`;
  let onnx: Uint8Array;
  try {
    onnx = await Deno.readFile(onnxPath);
  } catch (err) {
    throw new ModelLoadError(
      `Cannot load model ${onnxPath} (named by ${manifestPath}): ${(err as Error).message}`,
      { cause: err, context: { file: onnxPath } },
    );
  }
  await checkSha256(onnx, manifest, onnxPath);
  return { bundle: { manifest, onnx }, onnxPath };
}

/**
 * Load a model from a folder holding `manifest.json`, or from a manifest path.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./onnx_model.ts";
 * const model = await loadModel("models/my-netvlad", { provider: "auto" });
 * console.log(model.info.descriptorDim, model.info.provider);
 * await model.close();
 * ```
 */
export async function loadModel(
  dirOrManifest: string,
  options: LoadModelOptions = {},
): Promise<OnnxDescriptorModel> {
  const { bundle, onnxPath } = await readModelBundle(dirOrManifest);
  return await loadModelBundle(bundle, { ...options, label: onnxPath });
}

/**
 * Write a bundle to `dir` (created if needed): the ONNX file named by the manifest and `manifest.json`,
 * each written to a temporary name and renamed, so a crash never leaves a half-written file.
 */
export async function saveModelBundle(dir: string, bundle: ModelBundle): Promise<string> {
  if (bundle.manifest.format !== MANIFEST_FORMAT) {
    throw new ModelLoadError(
      `Cannot save model to ${dir}: the bundle's manifest is not a waymark model manifest`,
    );
  }
  const hash = await sha256Hex(bundle.onnx);
  const manifest = { ...bundle.manifest, sha256: hash };
  await Deno.mkdir(dir, { recursive: true });
  const onnxPath = `${dir}/${manifest.file}`;
  const manifestPath = `${dir}/manifest.json`;
  await Deno.writeFile(`${onnxPath}.tmp`, bundle.onnx);
  await Deno.rename(`${onnxPath}.tmp`, onnxPath);
  await Deno.writeTextFile(`${manifestPath}.tmp`, JSON.stringify(manifest, null, 2) + "\n");
  await Deno.rename(`${manifestPath}.tmp`, manifestPath);
  return manifestPath;
}
