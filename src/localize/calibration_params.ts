/**
 * Shipped calibration parameters of the place filter's confidence (raw posterior mass within +-1 place of the
 * MAP place -> probability that the estimate is correct), fitted by isotonic regression with
 * `scripts/fit_calibration.ts` on synthetic hard sequences and simulated datasets
 * (c_fs_e, c_fs_m, c_fs_h, c_off_e, c_off_m), never on the evaluation data.
 * Regenerate with `deno run -A scripts/fit_calibration.ts [caches] > src/localize/calibration_params.ts`.
 *
 * @module
 */
import type { CalibrationMap } from "./calibration.ts";

/** Default calibration of `PlaceFilter` confidences. */
export const DEFAULT_FILTER_CALIBRATION: CalibrationMap = {
  "x": [
    0,
    0.052906,
    0.197197,
    0.240729,
    0.269223,
    0.296752,
    0.309748,
    0.340793,
    0.357497,
    0.38314,
    0.401212,
    0.423693,
    0.465579,
    0.469049,
    0.481663,
    0.51354,
    0.566877,
    0.598439,
    0.628385,
    0.685001,
    0.766109,
    0.811163,
    0.839735,
    0.878316,
    0.953141,
    1,
  ],
  "y": [
    0.191489,
    0.191489,
    0.205323,
    0.216867,
    0.282675,
    0.315985,
    0.384615,
    0.405242,
    0.444444,
    0.52648,
    0.544554,
    0.561694,
    0.62037,
    0.659091,
    0.682171,
    0.747688,
    0.761658,
    0.795775,
    0.854442,
    0.882044,
    0.930686,
    0.942363,
    0.953769,
    0.968,
    0.989167,
    0.995,
  ],
};
