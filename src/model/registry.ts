/**
 * Static registry of named default-model presets (as hloc's `confs`): each is a complete, named
 * configuration of {@link fitDefaultModel}. An unknown name is an {@link UnknownNameError} listing the known ones.
 *
 * @module
 */
import { UnknownNameError } from "../errors.ts";
import type { FitDefaultOptions } from "./default_model.ts";
import { DENSE_SIFT_DEFAULTS, type DenseSiftOptions } from "./dense_sift.ts";

/** A named, complete configuration of the default model. */
export interface ModelPreset {
  name: string;
  description: string;
  /** Options passed to `fitDefaultModel` (everything but images and progress). */
  fit: Readonly<Omit<FitDefaultOptions, "onProgress">>;
}

/** The presets' front end: the front end's own defaults (one definition), copied so that no preset shares it. */
const FRONT_END: Readonly<DenseSiftOptions> = Object.freeze({ ...DENSE_SIFT_DEFAULTS });

/** The presets, by name. */
export const MODEL_PRESETS: Readonly<Record<string, ModelPreset>> = Object.freeze({
  "dsift-netvlad-64": {
    name: "dsift-netvlad-64",
    description: "Dense RootSIFT (4 px cells, 320 px wide) + NetVLAD K=64 (vladv1), power-normalised, 8192-d",
    fit: {
      clusters: 64,
      pcaDim: 0,
      variant: "vladv1",
      powerNorm: true,
      inputWidth: 320,
      frontEnd: FRONT_END,
    },
  },
  "dsift-netvlad-64-pca256": {
    name: "dsift-netvlad-64-pca256",
    description:
      "As dsift-netvlad-64, then PCA whitening learnt on the map to 256-d (at most map images - 1 dims; " +
      "a map of fewer than 32 images keeps the raw VLAD)",
    fit: {
      clusters: 64,
      pcaDim: 256,
      variant: "vladv1",
      powerNorm: true,
      inputWidth: 320,
      frontEnd: FRONT_END,
    },
  },
  "dsift-netvlad-32-fast": {
    name: "dsift-netvlad-32-fast",
    description: "Faster: dense RootSIFT on an 8 px grid + NetVLAD K=32, 4096-d",
    fit: {
      clusters: 32,
      pcaDim: 0,
      variant: "vladv1",
      powerNorm: true,
      inputWidth: 320,
      frontEnd: { ...FRONT_END, gridStep: 2 },
    },
  },
});

/** The preset used when none is named. */
export const DEFAULT_PRESET = "dsift-netvlad-64";

/** Names of all presets. */
export function listPresets(): string[] {
  return Object.keys(MODEL_PRESETS);
}

/**
 * Look a preset up by name.
 *
 * @example
 * ```ts
 * import { getPreset } from "./registry.ts";
 * console.assert(getPreset("dsift-netvlad-64").fit.clusters === 64);
 * try { getPreset("nope"); } catch (e) { console.assert((e as Error).name === "UnknownNameError"); }
 * ```
 */
export function getPreset(name: string): ModelPreset {
  const p = Object.hasOwn(MODEL_PRESETS, name) ? MODEL_PRESETS[name] : undefined;
  if (!p) {
    throw new UnknownNameError(
      `Unknown model preset '${name}': known presets are ${listPresets().join(", ")}`,
      {
        context: { name },
      },
    );
  }
  return p;
}
