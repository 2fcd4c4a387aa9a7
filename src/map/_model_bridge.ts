/**
 * Private: the one place where maps reach the model and image code of `src/model/` and `src/image/`
 * (loading a model folder, fitting and saving the default model, decoding image files).
 * @module
 */
import { decodeImage } from "../image/decode.ts";
import { fitDefaultModel } from "../model/default_model.ts";
import { loadModel, saveModelBundle } from "../model/onnx_model.ts";
import { DEFAULT_PRESET, getPreset } from "../model/registry.ts";
import type { DescriptorModel, PixelImage, ProviderChoice } from "../types.ts";

/** Load the model stored in a folder (a bundle written by the default-model fitter or a BYO manifest). */
export function loadModelDir(dir: string, provider: ProviderChoice): Promise<DescriptorModel> {
  return loadModel(dir, { provider });
}

/** Options of {@link fitDefaultModelInto}. */
export interface FitOptions {
  /** Named preset (`src/model/registry.ts`). Default `dsift-netvlad-64`. */
  preset?: string;
  /** NetVLAD clusters (overrides the preset's). */
  clusters?: number;
  /** PCA whitening dimension, 0 = none (overrides the preset's). */
  pcaDim?: number;
  provider: ProviderChoice;
  /** Fit progress: stage name, done, total (when known). */
  onProgress?: (stage: string, done: number, total?: number) => void;
}

/** Check a default-model preset name (an unknown one is an `UnknownNameError` listing the known ones). */
export function checkPreset(name: string): string {
  return getPreset(name).name;
}

/** Channels the default model's fitter works on (its front end is greyscale). */
export const FIT_CHANNELS: 1 | 3 = 1;

/** Fit the default model on `images`, save its bundle into `modelDir`, and load it from there. */
export async function fitDefaultModelInto(
  images: PixelImage[],
  modelDir: string,
  options: FitOptions,
): Promise<DescriptorModel> {
  const preset = getPreset(options.preset ?? DEFAULT_PRESET);
  const bundle = await fitDefaultModel(images, {
    ...preset.fit,
    clusters: options.clusters ?? preset.fit.clusters,
    pcaDim: options.pcaDim ?? preset.fit.pcaDim,
    onProgress: options.onProgress ? (p) => options.onProgress!(p.stage, p.done, p.total) : undefined,
  });
  await saveModelBundle(modelDir, bundle);
  return await loadModel(modelDir, { provider: options.provider });
}

/** Decode one image file's bytes (`source` names it in errors). */
export function decodeFile(bytes: Uint8Array, source: string, channels: 1 | 3): Promise<PixelImage> {
  return decodeImage(bytes, { source, channels });
}
