/**
 * Scene lighting: the ceiling's light panels are lamps, and the light reaching a point of the floor or a wall
 * is an ambient term plus a Gaussian pool under each lamp that is on. Switching a seeded subset of lamps off
 * changes the lighting locally and unevenly, as a real building does between day and night shifts.
 * @module
 */
import { hash2 } from "./_rng.ts";
import type { World } from "./world.ts";

/** Light field samples per metre. */
export const LIGHT_CELLS_PER_M = 4;

/** Illumination over the floor plan (1 = the mean with every lamp on, at most MAX_LIGHT), row-major, row 0 at y = 0. */
export interface LightField {
  w: number;
  h: number;
  data: Float32Array;
}

const AMBIENT = 0.4;
const LAMP = 0.9;
const SIGMA = 1.8;
/** Cap of the normalised field (the renderer's lookup tables are sized for it). */
export const MAX_LIGHT = 2.5;

const cache = new WeakMap<World, Map<string, LightField>>();

/**
 * The light field of `world` with a fraction `lampsOff` (0..1) of its lamps off, chosen by `lightSeed`.
 * Memoised per world.
 */
export function lightField(world: World, lampsOff = 0, lightSeed = 0): LightField {
  let perWorld = cache.get(world);
  if (perWorld === undefined) cache.set(world, perWorld = new Map());
  const key = `${lampsOff}:${lightSeed}`;
  const hit = perWorld.get(key);
  if (hit !== undefined) return hit;
  const { plan, lamps } = world;
  const w = plan.width * LIGHT_CELLS_PER_M, h = plan.height * LIGHT_CELLS_PER_M;
  const raw = new Float32Array(w * h);
  const rawAll = perWorld.size === 0 && lampsOff === 0 ? raw : new Float32Array(w * h);
  const reach = Math.ceil(3 * SIGMA * LIGHT_CELLS_PER_M);
  const add = (target: Float32Array, lx: number, ly: number) => {
    const cx = Math.floor(lx * LIGHT_CELLS_PER_M), cy = Math.floor(ly * LIGHT_CELLS_PER_M);
    for (let y = Math.max(0, cy - reach); y < Math.min(h, cy + reach + 1); y++) {
      for (let x = Math.max(0, cx - reach); x < Math.min(w, cx + reach + 1); x++) {
        const dx = (x + 0.5) / LIGHT_CELLS_PER_M - lx, dy = (y + 0.5) / LIGHT_CELLS_PER_M - ly;
        target[y * w + x] += LAMP * Math.exp(-(dx * dx + dy * dy) / (2 * SIGMA * SIGMA));
      }
    }
  };
  for (let i = 0; i < lamps.length; i += 2) {
    const on = lampsOff <= 0 || hash2(i, lightSeed, 0x1a3b) >= lampsOff;
    if (on) add(raw, lamps[i], lamps[i + 1]);
    if (rawAll !== raw) add(rawAll, lamps[i], lamps[i + 1]);
  }
  // Normalise by the mean over free cells with every lamp on, so that the nominal scene keeps its brightness.
  let sum = 0, n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (
        plan.cells[Math.floor(y / LIGHT_CELLS_PER_M) * plan.width + Math.floor(x / LIGHT_CELLS_PER_M)] === 0
      ) {
        sum += AMBIENT + rawAll[y * w + x];
        n++;
      }
    }
  }
  const norm = n > 0 ? n / sum : 1;
  const data = new Float32Array(w * h);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(MAX_LIGHT, (AMBIENT + raw[i]) * norm);
  const field = { w, h, data };
  if (perWorld.size > 8) perWorld.clear();
  perWorld.set(key, field);
  return field;
}
