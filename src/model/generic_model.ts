/**
 * The default model with a shipped, generic vocabulary (`models/waymark-generic/`), for use with no prior map
 * (SLAM, loop closure on the fly). Built by `scripts/model_build_generic.ts`; see `models/README.md`.
 *
 * @module
 */
import { ModelLoadError } from "../errors.ts";
import { type ModelBundle, validateManifest } from "./manifest.ts";
import { loadModelBundle, type LoadModelOptions, type OnnxDescriptorModel } from "./onnx_model.ts";

/** Where the generic model lives (next to this module, so it also works from a remote import). */
export const GENERIC_MODEL_URL: URL = new URL("../../models/waymark-generic/", import.meta.url);

async function readUrl(url: URL): Promise<Uint8Array> {
  if (url.protocol === "file:") return await Deno.readFile(url);
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Read the generic model's bundle (manifest + ONNX bytes). */
export async function readGenericModelBundle(base: URL = GENERIC_MODEL_URL): Promise<ModelBundle> {
  const manifestUrl = new URL("manifest.json", base);
  let manifestBytes: Uint8Array;
  try {
    manifestBytes = await readUrl(manifestUrl);
  } catch (err) {
    throw new ModelLoadError(
      `Cannot load the generic model ${manifestUrl.href}: ${
        (err as Error).message
      } (run scripts/model_build_generic.ts)`,
      { cause: err, context: { file: manifestUrl.href } },
    );
  }
  let obj: unknown;
  try {
    obj = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (err) {
    throw new ModelLoadError(`Cannot load model manifest ${manifestUrl.href}: invalid JSON`, {
      cause: err,
      context: { file: manifestUrl.href },
    });
  }
  const manifest = validateManifest(obj, manifestUrl.href);
  const onnxUrl = new URL(manifest.file, base);
  try {
    return { manifest, onnx: await readUrl(onnxUrl) };
  } catch (err) {
    throw new ModelLoadError(`Cannot load model ${onnxUrl.href}: ${(err as Error).message}`, {
      cause: err,
      context: { file: onnxUrl.href },
    });
  }
}

/**
 * Load the default model with its shipped generic vocabulary (no map needed).
 *
 * @example
 * ```ts ignore
 * import { loadGenericModel } from "./generic_model.ts";
 * const model = await loadGenericModel({ provider: "auto" });
 * console.log(model.info.name, model.info.descriptorDim);
 * await model.close();
 * ```
 */
export async function loadGenericModel(options: LoadModelOptions = {}): Promise<OnnxDescriptorModel> {
  const bundle = await readGenericModelBundle();
  return await loadModelBundle(bundle, {
    ...options,
    label: new URL(bundle.manifest.file, GENERIC_MODEL_URL).href,
  });
}
