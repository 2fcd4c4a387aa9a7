/**
 * Private helpers of the streaming evaluations: dataset images as camera frames, and the model to use.
 *
 * @module
 */
import type { DatasetImage } from "../dataset/types.ts";
import { decodeImage } from "../image/decode.ts";
import { fitDefaultModel } from "../model/default_model.ts";
import { loadGenericModel } from "../model/generic_model.ts";
import { loadModel, loadModelBundle } from "../model/onnx_model.ts";
import type { CameraFrame, DescriptorModel, ProviderChoice } from "../types.ts";

/** A dataset image as the camera frame a replay source would deliver (bytes read from disk). */
export async function datasetFrame(img: DatasetImage, seq: number): Promise<CameraFrame> {
  const data = await Deno.readFile(img.path);
  const frame: CameraFrame = {
    seq,
    stamp: img.stamp,
    frameId: "dataset",
    image: { kind: "encoded", format: "auto", data },
    source: img.image,
  };
  if (img.position) frame.position = img.position;
  return frame;
}

/** Where the SLAM vocabulary came from. */
export type VocabularySource = "given" | "generic" | "fitted-on-sequence";

/**
 * The model of a SLAM evaluation: the given one, the folder given, else the shipped generic vocabulary
 * (`loadGenericModel`); when that is not installed, the default model fitted on (at most 400 evenly spread
 * images of) the sequence itself, with a warning.
 */
export async function slamModel(
  images: DatasetImage[],
  options: {
    model?: DescriptorModel;
    modelDir?: string;
    provider?: ProviderChoice;
    clusters?: number;
    vocabulary?: "generic" | "fit";
    onWarning?: (m: string) => void;
  },
): Promise<{ model: DescriptorModel; source: VocabularySource; owned: boolean }> {
  if (options.model) return { model: options.model, source: "given", owned: false };
  if (options.modelDir) {
    return {
      model: await loadModel(options.modelDir, { provider: options.provider }),
      source: "given",
      owned: true,
    };
  }
  if ((options.vocabulary ?? "generic") === "generic") {
    try {
      return {
        model: await loadGenericModel({ provider: options.provider }),
        source: "generic",
        owned: true,
      };
    } catch (err) {
      options.onWarning?.(
        `generic vocabulary unavailable (${
          (err as Error).message
        }); fitting the default model on the sequence`,
      );
    }
  }
  const step = Math.max(1, Math.floor(images.length / 400));
  const pick = images.filter((_, i) => i % step === 0);
  const decoded = [];
  for (const img of pick) {
    try {
      decoded.push(await decodeImage(await Deno.readFile(img.path), { channels: 1, source: img.path }));
    } catch { /* unreadable images are reported by the replay */ }
  }
  const bundle = await fitDefaultModel(decoded, { clusters: options.clusters ?? 64 });
  return {
    model: await loadModelBundle(bundle, { provider: options.provider }),
    source: "fitted-on-sequence",
    owned: true,
  };
}
