/**
 * Fits the shipped calibration of the place filter's confidence (`calibration_params.ts`) by isotonic
 * regression on (raw mass around the MAP place, correct within +-1 place) pairs collected by running the
 * filter over simulated hard sequences of varied difficulty (signal, speed profile, off-map segments).
 *
 * Run: `deno run -A src/localize/_fit_calibration.ts > src/localize/calibration_params.ts`
 *
 * @module
 */
import { expectedCalibrationError, fitIsotonicCalibration } from "./calibration.ts";
import { generateHardSequence } from "./_synthetic.ts";
import { PlaceFilter } from "./place_filter.ts";

/** Collect (raw mass, correct) pairs of the filter on simulated sequences. */
export function collectCalibrationPairs(seeds: number[]): { raw: number[]; correct: boolean[] } {
  const raw: number[] = [], correct: boolean[] = [];
  for (const seed of seeds) {
    for (const signal of [1.0, 1.3, 1.7, 2.2, 3.0]) {
      const speed: [number, number] = seed % 2 === 0 ? [1, 1] : [0.6, 1.5];
      const seq = generateHardSequence({
        seed: seed * 31 + Math.round(signal * 10),
        signal,
        speed,
        offMap: 0,
      });
      const n = seq.placeCount;
      const filter = new PlaceFilter({ placeCount: n, calibration: null });
      const indices = Int32Array.from({ length: n }, (_, i) => i);
      for (let t = 0; t < seq.rows.length; t++) {
        const b = filter.step({ indices, similarities: seq.rows[t] });
        if (b.bestPlaceIndex === null || seq.truth[t] < 0) continue;
        raw.push(b.rawConfidence);
        correct.push(Math.abs(b.bestPlaceIndex - seq.truth[t]) <= 1);
      }
    }
  }
  return { raw, correct };
}

if (import.meta.main) {
  const fit = collectCalibrationPairs([1, 2, 3, 4, 5, 6]);
  const map = fitIsotonicCalibration(fit.raw, fit.correct, { prior: 0 });
  const held = collectCalibrationPairs([101, 102]);
  const { applyCalibration } = await import("./calibration.ts");
  const before = expectedCalibrationError(held.raw, held.correct);
  const after = expectedCalibrationError(held.raw.map((r) => applyCalibration(map, r)), held.correct);
  console.log(`/**
 * Shipped calibration parameters of the place filter's confidence (raw posterior mass within +-1 place of the
 * MAP place -> probability that the MAP place is correct within +-1 place), fitted by isotonic regression with
 * \`_fit_calibration.ts\` on ${fit.raw.length} frames of simulated hard sequences. Held-out simulated ECE (10 bins):
 * ${before.toFixed(3)} raw, ${after.toFixed(3)} calibrated. Regenerate with
 * \`deno run -A src/localize/_fit_calibration.ts > src/localize/calibration_params.ts\`.
 *
 * @module
 */
import type { CalibrationMap } from "./calibration.ts";

/** Default calibration of \`PlaceFilter\` confidences. */
export const DEFAULT_FILTER_CALIBRATION: CalibrationMap = ${JSON.stringify(map)};`);
}
