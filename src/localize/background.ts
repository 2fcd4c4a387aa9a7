/**
 * The background of one observation, shared by the place filter and the loop detector: the similarity
 * distribution a candidate's similarity is standardised against. The search stage's estimate over the whole map
 * (`background`) when it gave one, else the mean and population std of the observed similarities themselves.
 *
 * @module
 */
import { moments } from "../kernels/stats.ts";

/**
 * `obs.background` when present, else the mean and population std of `obs.similarities` (not floored: callers
 * floor the std where they divide by it).
 *
 * @example
 * ```ts
 * import { observationBackground } from "./background.ts";
 * console.assert(observationBackground({ similarities: [0.2, 0.4] }).mean === 0.30000000000000004);
 * console.assert(observationBackground({ similarities: [1], background: { mean: 0, std: 1 } }).std === 1);
 * ```
 */
export function observationBackground(
  obs: { similarities: ArrayLike<number>; background?: { mean: number; std: number } },
): { mean: number; std: number } {
  return obs.background ? { mean: obs.background.mean, std: obs.background.std } : moments(obs.similarities);
}
