/**
 * Shipped calibration parameters of the place filter's confidence (raw posterior mass within +-1 place of the
 * MAP place -> probability that the estimate is correct), fitted by isotonic regression with
 * `scripts/fit_calibration.ts` on synthetic hard sequences and simulated datasets
 * (sim-s11-x1-a0.3, sim-s12-x1-a0.3-night, sim-s13-x2-a0.6, sim-s14-x1.5-a0.45-darker03, sim-s15-x2-a0.6-night, sim-s16-x1-a0.6-jpeg30, sim-s17-x2-a0.3, sim-s18-x1-a0.6-night1, sim-s19-x1.5-a0.3-night, sim-s20-x2-a0.45-jpeg30, sim-s21-x1-a0.45, sim-s22-x2.5-a0.6), never on the evaluation data.
 * Regenerate with `deno run -A scripts/fit_calibration.ts [caches] > src/localize/calibration_params.ts`.
 *
 * @module
 */
import type { CalibrationMap } from "./calibration.ts";

/** Default calibration of `PlaceFilter` confidences. */
export const DEFAULT_FILTER_CALIBRATION: CalibrationMap = {
  "x": [
    0,
    0.024428,
    0.064933,
    0.13899,
    0.156412,
    0.178834,
    0.200692,
    0.272545,
    0.331507,
    0.342727,
    0.366257,
    0.384672,
    0.41944,
    0.448062,
    0.452865,
    0.474381,
    0.498864,
    0.531697,
    0.599026,
    0.650382,
    0.704839,
    0.741447,
    0.840112,
    0.874942,
    0.927771,
    0.99992,
    1,
  ],
  "y": [
    0.005,
    0.005,
    0.129032,
    0.166667,
    0.219048,
    0.25,
    0.277778,
    0.389474,
    0.441176,
    0.485714,
    0.586207,
    0.62069,
    0.6787,
    0.7,
    0.779661,
    0.803665,
    0.842593,
    0.872093,
    0.885366,
    0.899604,
    0.914614,
    0.932384,
    0.945525,
    0.958824,
    0.976727,
    0.995,
    0.995,
  ],
};

/** Calibration of `PlaceFilter` confidences after a weak frame (fitted on those of the simulated routes). */
export const WEAK_FRAME_CALIBRATION: CalibrationMap = {
  "x": [
    0,
    0.140231,
    0.322043,
    0.370745,
    0.489534,
    0.615687,
    0.70439,
    0.847061,
    0.971601,
    0.991482,
    0.999031,
    1,
  ],
  "y": [0.005, 0.005, 0.375, 0.5, 0.625, 0.8, 0.846154, 0.866667, 0.88, 0.995, 0.995, 0.995],
};
