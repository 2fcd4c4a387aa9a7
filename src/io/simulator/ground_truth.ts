/**
 * Ground truth of simulated datasets from poses: retrieval matches (same place and a similar heading, since
 * place recognition needs the same view) and loop closures (the same, excluding a recent time window).
 * Pure functions over pose arrays; a uniform grid keeps them near-linear.
 * @module
 */
import type { SimPose } from "./simulator.ts";

/** Thresholds that make two poses "the same place". */
export interface SamePlaceOptions {
  /** Maximum distance between positions, metres. Default 2.5. */
  radius?: number;
  /** Maximum heading difference, degrees. Default 30. */
  headingDeg?: number;
}

/** Absolute difference of two angles in radians, in [0, pi]. */
export function angleDiff(a: number, b: number): number {
  const d = Math.abs(a - b) % (2 * Math.PI);
  return d > Math.PI ? 2 * Math.PI - d : d;
}

function grid(poses: readonly SimPose[], cell: number): Map<string, number[]> {
  const g = new Map<string, number[]>();
  poses.forEach((p, i) => {
    const k = `${Math.floor(p.x / cell)},${Math.floor(p.y / cell)}`;
    const list = g.get(k);
    if (list) list.push(i);
    else g.set(k, [i]);
  });
  return g;
}

function near(g: Map<string, number[]>, cell: number, x: number, y: number): number[] {
  const cx = Math.floor(x / cell), cy = Math.floor(y / cell);
  const out: number[] = [];
  for (let dy = -1; dy <= 1; dy++) {
    for (let dx = -1; dx <= 1; dx++) {
      const list = g.get(`${cx + dx},${cy + dy}`);
      if (list) out.push(...list);
    }
  }
  return out.sort((a, b) => a - b);
}

/** True when two poses show the same place under `options`. */
export function samePlace(a: SimPose, b: SimPose, options: SamePlaceOptions = {}): boolean {
  const radius = options.radius ?? 2.5, tol = ((options.headingDeg ?? 30) * Math.PI) / 180;
  return Math.hypot(a.x - b.x, a.y - b.y) <= radius && angleDiff(a.heading, b.heading) <= tol;
}

/**
 * Every (query index, database index) pair showing the same place, in query then database order.
 *
 * @example
 * ```ts
 * import { retrievalMatches } from "./ground_truth.ts";
 * const p = (x: number) => ({ x, y: 0, heading: 0, seq: 0, stamp: 0, traversal: 0, distance: x });
 * console.assert(retrievalMatches([p(0)], [p(1), p(9)]).length === 1);
 * ```
 */
export function retrievalMatches(
  queries: readonly SimPose[],
  database: readonly SimPose[],
  options: SamePlaceOptions = {},
): [number, number][] {
  const radius = options.radius ?? 2.5;
  const g = grid(database, radius);
  const pairs: [number, number][] = [];
  queries.forEach((q, qi) => {
    for (const di of near(g, radius, q.x, q.y)) if (samePlace(q, database[di], options)) pairs.push([qi, di]);
  });
  return pairs;
}

/**
 * Every (later index, earlier index) pair of a sequence showing the same place, where the earlier frame is at
 * least `excludeSeconds` (default 20) older: recent frames are not loop closures.
 */
export function loopPairs(
  sequence: readonly SimPose[],
  options: SamePlaceOptions & { excludeSeconds?: number } = {},
): [number, number][] {
  const radius = options.radius ?? 2.5, exclude = options.excludeSeconds ?? 20;
  const g = grid(sequence, radius);
  const pairs: [number, number][] = [];
  sequence.forEach((q, qi) => {
    for (const mi of near(g, radius, q.x, q.y)) {
      if (mi >= qi) break;
      const m = sequence[mi];
      if (q.stamp - m.stamp >= exclude && samePlace(q, m, options)) pairs.push([qi, mi]);
    }
  });
  return pairs;
}
