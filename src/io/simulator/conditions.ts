/**
 * Named condition changes between traversals (lighting, exposure, noise, viewpoint, texture, all) and the
 * per-traversal settings they produce. Traversal 0 is always the nominal one (the map); later traversals get
 * the chosen change, alternating in sign (darker / brighter, left / right) from one traversal to the next.
 * @module
 */
import { invalid } from "../../errors.ts";
import type { RenderConditions } from "./renderer.ts";
import type { Traversal } from "./simulator.ts";

/** Names of condition changes. `none` changes nothing but the sensor noise seed. */
export const CONDITION_NAMES = [
  "none",
  "lighting",
  "exposure",
  "noise",
  "viewpoint",
  "texture",
  "all",
] as const;
/** A condition change name. */
export type ConditionName = typeof CONDITION_NAMES[number];

/** Sensor noise (grey levels) of every traversal, changed or not. */
export const BASE_NOISE = 2;

/** What one traversal looks like: its path settings and its render conditions. */
export interface TraversalSetup {
  traversal: Traversal;
  conditions: RenderConditions;
}

/**
 * Settings of traversal `index` under condition change `name` at `strength` (1 = nominal strength, 0 = none).
 *
 * @example
 * ```ts
 * import { traversalSetup } from "./conditions.ts";
 * const t = traversalSetup(1, "lighting");
 * console.assert(t.conditions.gain !== 1);
 * ```
 */
export function traversalSetup(index: number, name: ConditionName = "all", strength = 1): TraversalSetup {
  if (!CONDITION_NAMES.includes(name)) {
    throw invalid("set up a simulated traversal", "condition", `one of ${CONDITION_NAMES.join(", ")}`, name);
  }
  if (typeof strength !== "number" || !(strength >= 0 && strength <= 3)) {
    throw invalid("set up a simulated traversal", "strength", "a number in [0, 3]", strength);
  }
  const conditions: RenderConditions = { noise: BASE_NOISE, noiseSeed: index * 1_000_003 };
  const traversal: Traversal = { index };
  if (index === 0 || name === "none") return { traversal, conditions };
  const sign = index % 2 === 1 ? 1 : -1;
  const has = (n: ConditionName) => name === n || name === "all";
  // Nominal strengths, tuned so that the default model's single-frame Recall@1 on `all` lands near 0.8.
  if (has("lighting")) {
    conditions.gain = sign > 0 ? 1 - 0.28 * Math.min(1.5, strength) : 1 + 0.2 * strength;
    conditions.gradient = Math.min(0.7, 0.3 * strength) * sign;
    conditions.gradientAngle = 0.4 + index;
    conditions.lampsOff = Math.min(0.8, 0.28 * strength);
    conditions.lightSeed = index;
  }
  if (has("exposure")) conditions.exposure = sign > 0 ? 1 + 0.6 * strength : 1 / (1 + 0.4 * strength);
  if (has("noise")) conditions.noise = BASE_NOISE + 5.5 * strength;
  if (has("viewpoint")) {
    traversal.lateralOffset = Math.min(0.9, 0.25 * strength) * sign;
    traversal.headingJitterDeg = 2 * strength;
  }
  if (has("texture")) conditions.textureChange = strength > 0;
  return { traversal, conditions };
}
