/**
 * Confidence calibration: a monotone map from a raw score in [0, 1] (posterior mass around the MAP place) to a
 * calibrated probability of being correct, fitted by isotonic regression (pool-adjacent-violators) and stored as
 * a piecewise-linear curve, plus the expected calibration error used by `waymark eval stream`.
 *
 * Pure kernels: no RxJS, no IO.
 *
 * @module
 */
import { invalid } from "../errors.ts";

/** A monotone piecewise-linear calibration curve: `x` strictly increasing in [0, 1], `y` non-decreasing. */
export interface CalibrationMap {
  x: number[];
  y: number[];
}

/** The identity calibration (raw score reported as is). */
export const IDENTITY_CALIBRATION: CalibrationMap = { x: [0, 1], y: [0, 1] };

/** Check a calibration map; throws a `ValidationError` naming the problem. */
export function validateCalibration(map: CalibrationMap): void {
  if (!Array.isArray(map.x) || !Array.isArray(map.y) || map.x.length !== map.y.length || map.x.length < 2) {
    throw invalid("calibrate", "calibration", "two arrays x and y of equal length >= 2", map);
  }
  for (let i = 0; i < map.x.length; i++) {
    if (!Number.isFinite(map.x[i]) || !Number.isFinite(map.y[i]) || map.y[i] < 0 || map.y[i] > 1) {
      throw invalid("calibrate", "calibration", "finite points with y in [0, 1]", map);
    }
    if (i > 0 && (map.x[i] <= map.x[i - 1] || map.y[i] < map.y[i - 1])) {
      throw invalid("calibrate", "calibration", "x strictly increasing and y non-decreasing", map);
    }
  }
}

/**
 * Apply a calibration map (linear interpolation, clamped at both ends).
 *
 * @example
 * ```ts
 * import { applyCalibration } from "./calibration.ts";
 * applyCalibration({ x: [0, 1], y: [0.1, 0.9] }, 0.5); // 0.5
 * ```
 */
export function applyCalibration(map: CalibrationMap, raw: number): number {
  const { x, y } = map;
  if (!(raw > x[0])) return y[0];
  const n = x.length;
  if (raw >= x[n - 1]) return y[n - 1];
  let lo = 0, hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= raw) lo = mid;
    else hi = mid;
  }
  const t = (raw - x[lo]) / (x[hi] - x[lo]);
  return y[lo] + t * (y[hi] - y[lo]);
}

/**
 * Fit an isotonic calibration map on (raw score, correct) pairs by pool-adjacent-violators. Blocks of equal
 * fitted value become one knot at their mean score; values are clamped to [0.005, 0.995]
 * (optionally smoothed by `prior` pseudo-observations at the overall accuracy, default 0); knots closer than `step`
 * (default 0.01) in value are merged.
 *
 * @example
 * ```ts
 * import { fitIsotonicCalibration } from "./calibration.ts";
 * const map = fitIsotonicCalibration([0.1, 0.2, 0.8, 0.9], [false, false, true, true]);
 * ```
 */
export function fitIsotonicCalibration(
  scores: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  options: { prior?: number; step?: number } = {},
): CalibrationMap {
  const n = scores.length;
  if (n === 0 || correct.length !== n) {
    throw invalid("fit calibration", "scores", "a non-empty array as long as 'correct'", n);
  }
  const prior = options.prior ?? 0;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let hits = 0;
  for (let i = 0; i < n; i++) if (correct[i]) hits++;
  const base = hits / n;
  // Blocks: sum of targets, weight, sum of scores.
  const sum: number[] = [], w: number[] = [], sx: number[] = [];
  for (const i of order) {
    sum.push(correct[i] ? 1 : 0);
    w.push(1);
    sx.push(scores[i]);
    while (sum.length > 1) {
      const k = sum.length - 1;
      if (sum[k - 1] / w[k - 1] <= sum[k] / w[k]) break;
      sum[k - 1] += sum[k];
      w[k - 1] += w[k];
      sx[k - 1] += sx[k];
      sum.pop();
      w.pop();
      sx.pop();
    }
  }
  // One knot per block at its mean score; thinned to knots whose value moved by >= `step`, rounded to 1e-6.
  const step = options.step ?? 0.01;
  const x: number[] = [], y: number[] = [];
  for (let k = 0; k < sum.length; k++) {
    const xm = round6(sx[k] / w[k]);
    const ym = round6(Math.min(0.995, Math.max(0.005, (sum[k] + prior * base) / (w[k] + prior))));
    const last = x.length - 1;
    if (last >= 0 && (xm <= x[last] || (ym - y[last] < step && k < sum.length - 1))) {
      if (xm <= x[last]) y[last] = Math.max(y[last], ym);
      continue;
    }
    x.push(xm);
    y.push(last >= 0 ? Math.max(ym, y[last]) : ym);
  }
  if (x.length === 1) return { x: [0, 1], y: [y[0], y[0]] };
  if (x[0] > 0) {
    x.unshift(0);
    y.unshift(y[0]);
  }
  if (x[x.length - 1] < 1) {
    x.push(1);
    y.push(y[y.length - 1]);
  }
  return { x, y };
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/**
 * Expected calibration error with `bins` equal-width confidence bins: sum over bins of
 * (bin size / n) * |mean confidence - accuracy|. 0 for an empty input.
 *
 * @example
 * ```ts
 * import { expectedCalibrationError } from "./calibration.ts";
 * expectedCalibrationError([0.9, 0.9], [true, false]); // 0.4
 * ```
 */
export function expectedCalibrationError(
  confidences: ArrayLike<number>,
  correct: ArrayLike<boolean>,
  bins = 10,
): number {
  const n = confidences.length;
  if (n === 0) return 0;
  const cnt = new Float64Array(bins), conf = new Float64Array(bins), acc = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const c = Math.min(1, Math.max(0, confidences[i]));
    const b = Math.min(bins - 1, Math.floor(c * bins));
    cnt[b]++;
    conf[b] += c;
    if (correct[i]) acc[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (cnt[b] === 0) continue;
    ece += (cnt[b] / n) * Math.abs(conf[b] / cnt[b] - acc[b] / cnt[b]);
  }
  return ece;
}
