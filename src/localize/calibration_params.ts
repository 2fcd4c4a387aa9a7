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
    0.060199,
    0.087467,
    0.092105,
    0.120782,
    0.156672,
    0.179636,
    0.201451,
    0.221401,
    0.24513,
    0.279858,
    0.296769,
    0.307717,
    0.312476,
    0.355125,
    0.401092,
    0.45702,
    0.622879,
    0.817574,
    0.997241,
    0.999838,
    1,
  ],
  "y": [
    0.14,
    0.14,
    0.151515,
    0.166667,
    0.245455,
    0.311377,
    0.395349,
    0.445596,
    0.530806,
    0.614887,
    0.686508,
    0.714286,
    0.74026,
    0.765957,
    0.807621,
    0.880952,
    0.92,
    0.930733,
    0.982239,
    0.995,
    0.995,
    0.995,
  ],
};

/** Calibration of `PlaceFilter` confidences after a weak frame (fitted on those of the simulated routes). */
export const WEAK_FRAME_CALIBRATION: CalibrationMap = {
  "x": [0, 0.130954, 0.240921, 0.285587, 0.349841, 0.501746, 0.628885, 0.831098, 0.84259, 0.948987, 1],
  "y": [0.005, 0.005, 0.333333, 0.5, 0.642857, 0.777778, 0.846154, 0.875, 0.995, 0.995, 0.995],
};
