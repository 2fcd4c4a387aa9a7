/**
 * Shipped calibration parameters of the place filter's confidence (raw posterior mass within +-1 place of the
 * MAP place -> probability that the estimate is correct), fitted by isotonic regression with
 * `_fit_calibration.ts` on 9000 frames of synthetic hard sequences and 900 frames of simulated
 * datasets (c_fs_e, c_fs_m, c_fs_h, weighted x10). Held-out synthetic ECE (10 bins): 0.219 raw, 0.083 calibrated.
 * Regenerate with `deno run -A src/localize/_fit_calibration.ts [caches] > src/localize/calibration_params.ts`.
 *
 * @module
 */
import type { CalibrationMap } from "./calibration.ts";

/** Default calibration of `PlaceFilter` confidences. */
export const DEFAULT_FILTER_CALIBRATION: CalibrationMap = {
  "x": [
    0,
    0.011214,
    0.023271,
    0.026526,
    0.118948,
    0.219346,
    0.268875,
    0.300946,
    0.309536,
    0.316945,
    0.339999,
    0.365363,
    0.406176,
    0.439303,
    0.466139,
    0.481693,
    0.521744,
    0.590665,
    0.607246,
    0.64674,
    0.672659,
    0.693663,
    0.835808,
    0.871409,
    0.999999,
    1,
  ],
  "y": [
    0.005,
    0.005,
    0.076923,
    0.153846,
    0.218631,
    0.233748,
    0.318713,
    0.341837,
    0.368421,
    0.402299,
    0.415608,
    0.487455,
    0.555056,
    0.601781,
    0.664516,
    0.755556,
    0.785974,
    0.811024,
    0.87191,
    0.899809,
    0.928571,
    0.945946,
    0.969032,
    0.985915,
    0.995,
    0.995,
  ],
};
