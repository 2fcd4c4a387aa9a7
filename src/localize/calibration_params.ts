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
    0.029121,
    0.037016,
    0.084633,
    0.097598,
    0.125602,
    0.147014,
    0.159207,
    0.184828,
    0.204981,
    0.220956,
    0.248154,
    0.292168,
    0.318285,
    0.347852,
    0.386754,
    0.393741,
    0.502843,
    0.639637,
    0.739192,
    0.901469,
    0.999975,
    1,
  ],
  "y": [
    0.005,
    0.005,
    0.125,
    0.142857,
    0.173913,
    0.19403,
    0.244755,
    0.292683,
    0.342105,
    0.424051,
    0.434109,
    0.518248,
    0.561538,
    0.701571,
    0.714286,
    0.788991,
    0.810127,
    0.888889,
    0.909461,
    0.94028,
    0.973936,
    0.987589,
    0.995,
    0.995,
  ],
};

/** Calibration of `PlaceFilter` confidences after a weak frame (fitted on those of the simulated routes). */
export const WEAK_FRAME_CALIBRATION: CalibrationMap = {
  "x": [0, 0.138012, 0.265464, 0.359483, 0.418936, 0.527102, 0.752942, 0.8899, 0.976945, 1],
  "y": [0.005, 0.005, 0.25, 0.5, 0.636364, 0.823529, 0.84, 0.995, 0.995, 0.995],
};
