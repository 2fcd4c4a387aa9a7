/**
 * PCA whitening of global descriptors: the default model learns it on a map's VLAD vectors and bakes it into
 * the ONNX graph (`default_model.ts`). The fitting and the reference projection are the project's one PCA,
 * `src/kernels/pca.ts` (whitened by default), re-exported here for the model area and its users.
 *
 * @module
 */
export { applyPca, fitPca, type PcaOptions, type PcaParams } from "../kernels/pca.ts";
