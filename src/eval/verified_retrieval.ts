/**
 * The `--verify` re-ranking of `waymark eval retrieval`: a {@link RetrievalVerifier} over the DELF-style
 * verification of `src/verify/` — local features of every map image (PCA fitted on the map), then each
 * query's top candidates verified geometrically and re-ranked.
 * @module
 */
import {
  createVerificationHook,
  MapFeatureBuilder,
  memoryStore,
  type VerificationHook,
  type VerificationHookOptions,
} from "../verify/eval_hooks.ts";
import type { RetrievalVerifier } from "./retrieval.ts";

/**
 * A verifier for {@link evaluateRetrieval}: collects local features while the map is built, fits their PCA
 * when the map is complete, and re-ranks each query's first `topK` candidates (default 5) by verification.
 *
 * @example
 * ```ts ignore
 * const report = await evaluateRetrieval(dir, { verifier: createRetrievalVerifier({ topK: 5 }) });
 * ```
 */
export function createRetrievalVerifier(options: VerificationHookOptions = {}): RetrievalVerifier {
  const builder = new MapFeatureBuilder(options);
  let hook: VerificationHook | null = null;
  return {
    async addPlace(databaseIndex, image) {
      await builder.add(databaseIndex, image);
    },
    ready() {
      const { pca, features } = builder.finish();
      hook = createVerificationHook(memoryStore(features), pca, options);
    },
    async rerank(_queryIndex, candidates, image) {
      if (!hook) throw new Error("createRetrievalVerifier: rerank before ready()");
      return (await hook(image, candidates)).hypotheses;
    },
  };
}
