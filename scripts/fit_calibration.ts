/**
 * Fits the shipped calibration of the place filter's confidence (`calibration_params.ts`) by isotonic
 * regression on (raw mass around the MAP place, estimate correct) pairs collected by running the filter over
 * a MIX of easy and hard data: synthetic similarity sequences of varied difficulty (`_synthetic.ts`: signal,
 * speed profile, hub places; correct = within +-1 place) and, when given, similarity caches of simulated
 * datasets written by `scripts/filter_tune.ts dump` (correct = a true match, as `eval stream` scores it).
 * Never fit on the shared evaluation data.
 *
 * Run (caches optional, e.g. easy / medium / hard `waymark sim export` runs at 64x48):
 * `deno run -A scripts/fit_calibration.ts [cache...] > src/localize/calibration_params.ts`
 *
 * @module
 */
import {
  applyCalibration,
  expectedCalibrationError,
  fitIsotonicCalibration,
} from "../src/localize/calibration.ts";
import { generateHardSequence } from "../src/localize/_synthetic.ts";
import {
  type PlaceBelief,
  PlaceFilter,
  type PlaceFilterOptions,
  WEAK_RELIABILITY,
} from "../src/localize/place_filter.ts";

/** (raw score, correct) pairs. */
export interface CalibrationPairs {
  raw: number[];
  correct: boolean[];
  /** Whether the estimate followed a weak frame (`PlaceBelief.reliability < WEAK_RELIABILITY`). */
  weak?: boolean[];
}

/** Collect (raw mass, correct) pairs of the filter on synthetic sequences. */
export function collectCalibrationPairs(seeds: number[]): CalibrationPairs {
  const raw: number[] = [], correct: boolean[] = [];
  for (const seed of seeds) {
    for (const signal of [1.0, 1.3, 1.7, 2.2, 3.0]) {
      const speed: [number, number] = seed % 2 === 0 ? [1, 1] : [0.6, 1.5];
      const seq = generateHardSequence({
        seed: seed * 31 + Math.round(signal * 10),
        signal,
        speed,
        offMap: seed % 3 === 0 ? 2 : 0,
      });
      const n = seq.placeCount;
      const filter = new PlaceFilter({ placeCount: n, calibration: null });
      const indices = Int32Array.from({ length: n }, (_, i) => i);
      for (let t = 0; t < seq.rows.length; t++) {
        const b = filter.step({ indices, similarities: seq.rows[t] });
        // A place reported off the map (truth -1) is a wrong estimate.
        if (b.placeIndex === null) continue;
        raw.push(b.rawConfidence);
        correct.push(seq.truth[t] >= 0 && Math.abs(b.placeIndex - seq.truth[t]) <= 1);
      }
    }
  }
  return { raw, correct };
}

/**
 * Collect pairs from a similarity cache (`<path>.bin` rows, `<path>.json` {places, keyframe, truth, failed?}),
 * replayed as `eval stream` runs it: a frame that failed is only a prediction step and is not scored, a frame
 * that is not a keyframe repeats the last estimate.
 */
export async function collectCachePairs(
  path: string,
  options: Omit<PlaceFilterOptions, "placeCount"> = {},
): Promise<CalibrationPairs> {
  const meta = JSON.parse(await Deno.readTextFile(`${path}.json`));
  const buf = await Deno.readFile(`${path}.bin`);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n: number = meta.places;
  const filter = new PlaceFilter({ ...options, placeCount: n, calibration: null });
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  const raw: number[] = [], correct: boolean[] = [], weak: boolean[] = [];
  let last: PlaceBelief | null = null;
  (meta.truth as number[][]).forEach((truth, q) => {
    if (meta.failed?.[q]) {
      if (filter.steps > 0) filter.predict();
      return;
    }
    if (meta.keyframe[q] || !last) {
      const similarities = all.subarray(q * n, (q + 1) * n);
      last = filter.step({ indices, similarities, support: meta.support?.[q] ?? undefined });
    }
    // Place estimates only (the calibration maps their mass); one for a query without a true match is wrong.
    if (last.placeIndex === null) return;
    raw.push(last.rawConfidence);
    correct.push(truth.includes(last.placeIndex));
    weak.push(last.reliability < WEAK_RELIABILITY);
  });
  return { raw, correct, weak };
}

/** The pairs of weak frames (`weak` true) or of the others. */
function pick(p: CalibrationPairs, weak: boolean): CalibrationPairs {
  const keep = p.raw.map((_, i) => (p.weak?.[i] ?? false) === weak);
  return { raw: p.raw.filter((_, i) => keep[i]), correct: p.correct.filter((_, i) => keep[i]) };
}

function concat(parts: CalibrationPairs[]): CalibrationPairs {
  return { raw: parts.flatMap((p) => p.raw), correct: parts.flatMap((p) => p.correct) };
}

if (import.meta.main) {
  const caches = await Promise.all(Deno.args.map((a) => collectCachePairs(a)));
  // Caches weigh as much as the synthetic part (which has many more frames): repeat them.
  const synth = collectCalibrationPairs([1, 2, 3, 4, 5, 6]);
  const cacheFrames = caches.reduce((s, c) => s + c.raw.length, 0);
  const reps = cacheFrames ? Math.max(1, Math.round(synth.raw.length / cacheFrames)) : 0;
  const strong = caches.map((c) => pick(c, false));
  const fit = concat([synth, ...Array.from({ length: reps }, () => concat(strong))]);
  const map = fitIsotonicCalibration(fit.raw, fit.correct, { prior: 0 });
  // After a weak frame (only the simulated routes have them: synthetic frames have full support).
  const weakPairs = concat(caches.map((c) => pick(c, true)));
  const weakMap = weakPairs.raw.length > 0 ? fitIsotonicCalibration(weakPairs.raw, weakPairs.correct) : map;
  const held = collectCalibrationPairs([101, 102]);
  const before = expectedCalibrationError(held.raw, held.correct);
  const after = expectedCalibrationError(held.raw.map((r) => applyCalibration(map, r)), held.correct);
  // A cache's name: its file name, or its folder's when the file is just "cache" (calibration_sims.ts).
  const names = Deno.args.map((a) => a.split("/").filter((p) => p !== "cache").pop() ?? a).join(", ");
  // The counts and the held-out error are measurements: they go to stderr (and the README), not into the
  // generated module's doc.
  console.error(
    `fit_calibration: ${synth.raw.length} synthetic frames` +
      (caches.length
        ? `, ${cacheFrames} simulated frames (${names}, weighted x${reps}; ${weakPairs.raw.length} after weak frames)`
        : "") +
      `; held-out synthetic ECE (10 bins) ${before.toFixed(3)} raw, ${after.toFixed(3)} calibrated`,
  );
  console.log(`/**
 * Shipped calibration parameters of the place filter's confidence (raw posterior mass within +-1 place of the
 * MAP place -> probability that the estimate is correct), fitted by isotonic regression with
 * \`scripts/fit_calibration.ts\` on synthetic hard sequences${
    caches.length ? ` and simulated datasets\n * (${names})` : ""
  }, never on the evaluation data.
 * Regenerate with \`deno run -A scripts/fit_calibration.ts [caches] > src/localize/calibration_params.ts\`.
 *
 * @module
 */
import type { CalibrationMap } from "./calibration.ts";

/** Default calibration of \`PlaceFilter\` confidences. */
export const DEFAULT_FILTER_CALIBRATION: CalibrationMap = ${JSON.stringify(map)};

/** Calibration of \`PlaceFilter\` confidences after a weak frame (fitted on those of the simulated routes). */
export const WEAK_FRAME_CALIBRATION: CalibrationMap = ${JSON.stringify(weakMap)};`);
}
