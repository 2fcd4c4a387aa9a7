/**
 * `@waymark/waymark/model`: Descriptor models: the ONNX Runtime adapter, the default NetVLAD model and its
 * PCA, manifests and the preset registry, the generic vocabulary, the graph builder, the ONNX Runtime
 * similarity scanner, and image decoding and preparation (`src/model`, `src/image`).
 *
 * @module
 */
export { createSession, type RuntimeSession, type SessionOptions } from "./runtime.ts";
export {
  loadModel,
  type LoadModelOptions,
  OnnxDescriptorModel,
  readModelBundle,
  saveModelBundle,
} from "./onnx_model.ts";
export { type ModelBundle, type ModelManifest, readManifest, validateManifest } from "./manifest.ts";
export {
  buildDefaultModelGraph,
  buildFrontEndGraph,
  type DefaultModelParams,
  fitDefaultModel,
  type FitDefaultOptions,
  type FittedDefaultModel,
  type FrontEnd,
  frontEndDescriptors,
} from "./default_model.ts";
export { loadGenericModel, readGenericModelBundle } from "./generic_model.ts";
export {
  addNetVladLayer,
  initParams,
  netvladForward,
  type NetVladParams,
  type NetVladVariant,
} from "./netvlad.ts";
export { GraphBuilder } from "./graph_builder.ts";
export { applyPca, fitPca, type PcaParams } from "./pca.ts";
export { DEFAULT_PRESET, getPreset, listPresets, MODEL_PRESETS, type ModelPreset } from "./registry.ts";
export { decodeImage, type DecodeOptions } from "../image/decode.ts";
export { prepareImage } from "../image/prepare.ts";
export { createSimilarityScanner, type SimilarityScannerOptions } from "./similarity_scanner.ts";
