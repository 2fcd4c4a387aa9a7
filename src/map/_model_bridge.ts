/**
 * Private: the one place where maps reach the model and image code of `src/model/` and `src/image/`
 * (loading a model folder, fitting and saving the default model, decoding image files).
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import type { DescriptorModel, PixelImage, ProviderChoice } from "../types.ts";

/** Load the model stored in a folder (a bundle written by the default-model fitter or a BYO manifest). */
export function loadModelDir(dir: string, _provider: ProviderChoice): Promise<DescriptorModel> {
  return Promise.reject(
    new ModelLoadError(`${dir}: the model runtime is not wired into maps yet`, { context: { file: dir } }),
  );
}

/** Options of {@link fitDefaultModelInto}. */
export interface FitOptions {
  clusters: number;
  provider: ProviderChoice;
}

/** Fit the default model on `images`, save its bundle into `modelDir`, and load it. */
export function fitDefaultModelInto(
  _images: PixelImage[],
  modelDir: string,
  _options: FitOptions,
): Promise<DescriptorModel> {
  return Promise.reject(
    new ModelLoadError(`${modelDir}: the default model fitter is not wired into maps yet`, {
      context: { file: modelDir },
    }),
  );
}

/** Decode one image file's bytes (`source` names it in errors). */
export function decodeFile(bytes: Uint8Array, source: string, channels: 1 | 3): Promise<PixelImage> {
  return decodeImage(bytes, { source, channels });
}
