/**
 * `@waymark/waymark/verify`: DELF-style verification: local features, matching, RANSAC, the verifier,
 * drawings and the features codec (`src/verify`).
 *
 * @module
 */
export {
  DEFAULT_LOCAL_FEATURE_OPTIONS,
  type DenseExtractor,
  extractLocalFeatures,
  type LocalFeatureOptions,
  modelExtractor,
  siftExtractor,
  type SiftTuning,
} from "./local_features.ts";
export {
  checkDelfContract,
  DELF_FORMAT,
  type DelfContract,
  type DelfModel,
  loadDelfModel,
} from "./delf_contract.ts";
export { matchDescriptors, type MatchOptions, mutualMatches } from "./match.ts";
export { plausibleTransform, ransac, type RansacOptions, type RansacResult } from "./ransac.ts";
export {
  chanceInliersNfa,
  inliersNeeded,
  type PairVerification,
  rerankByVerification,
  verificationScore,
  verificationThreshold,
  Verifier as LocalFeatureVerifier,
  type VerifierOptions,
  type VerifyOptions,
  verifyPair,
} from "./verifier.ts";
export { decodeLocalFeatures, encodeLocalFeatures } from "./features_codec.ts";
