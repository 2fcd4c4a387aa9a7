/**
 * k-means for training: the kernel lives in `src/kernels/kmeans.ts` (the model area fits with it too, and
 * may not import the training area); this module re-exports it for the training code and its users.
 *
 * @module
 */
export { kmeans, type KMeansOptions, type KMeansResult, seededRandom } from "../kernels/kmeans.ts";
