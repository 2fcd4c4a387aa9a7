import assert from "node:assert/strict";
import {
  applyCalibration,
  expectedCalibrationError,
  fitIsotonicCalibration,
  validateCalibration,
} from "../../src/localize/calibration.ts";
import { DEFAULT_FILTER_CALIBRATION } from "../../src/localize/calibration_params.ts";
import { Rng } from "../../src/localize/_synthetic.ts";

Deno.test("fitIsotonicCalibration turns overconfident scores into calibrated ones (ECE drops)", () => {
  const rng = new Rng(7);
  const raw: number[] = [], correct: boolean[] = [];
  for (let i = 0; i < 4000; i++) {
    const s = rng.next();
    raw.push(s);
    correct.push(rng.next() < s * s); // true accuracy s^2: raw is overconfident
  }
  const map = fitIsotonicCalibration(raw, correct);
  validateCalibration(map);
  const before = expectedCalibrationError(raw, correct);
  const after = expectedCalibrationError(raw.map((s) => applyCalibration(map, s)), correct);
  assert.ok(before > 0.1, `raw ECE ${before}`);
  assert.ok(after < 0.03, `calibrated ECE ${after}`);
  assert.ok(Math.abs(applyCalibration(map, 0.5) - 0.25) < 0.08);
});

Deno.test("expectedCalibrationError is 0 for perfectly calibrated bins and |conf - acc| otherwise", () => {
  assert.ok(Math.abs(expectedCalibrationError([0.95, 0.95], [true, false]) - 0.45) < 1e-12);
  assert.equal(expectedCalibrationError([], []), 0);
  assert.ok(expectedCalibrationError([0.25, 0.25, 0.25, 0.25], [true, false, false, false]) < 1e-12);
});

Deno.test("applyCalibration interpolates and clamps; the shipped map is valid and monotone", () => {
  assert.ok(Math.abs(applyCalibration({ x: [0.2, 0.6], y: [0.1, 0.5] }, 0.4) - 0.3) < 1e-12);
  assert.equal(applyCalibration({ x: [0.2, 0.6], y: [0.1, 0.5] }, 0), 0.1);
  assert.equal(applyCalibration({ x: [0.2, 0.6], y: [0.1, 0.5] }, 1), 0.5);
  validateCalibration(DEFAULT_FILTER_CALIBRATION);
  assert.throws(() => validateCalibration({ x: [0, 0], y: [0, 1] }), /strictly increasing/);
});
