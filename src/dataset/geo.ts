/**
 * Geodesy kernels for datasets: WGS84 degrees to a local east/north frame (equirectangular projection about
 * an origin, accurate to well under 1 % over a few kilometres), and a grid for radius queries.
 * @module
 */

/** Mean Earth radius in metres (IUGG). */
export const EARTH_RADIUS_M = 6371008.8;

/** A WGS84 origin for {@link latLonToLocal}. */
export interface GeoOrigin {
  lat: number;
  lon: number;
}

/**
 * Project WGS84 degrees to local metres about `origin`: x east, y north.
 *
 * @example
 * ```ts
 * import { latLonToLocal } from "./geo.ts";
 * const p = latLonToLocal(45.0001, 7, { lat: 45, lon: 7 });
 * console.assert(Math.abs(p.y - 11.12) < 0.01 && Math.abs(p.x) < 1e-9);
 * ```
 */
export function latLonToLocal(lat: number, lon: number, origin: GeoOrigin): { x: number; y: number } {
  const rad = Math.PI / 180;
  let dLon = lon - origin.lon;
  if (dLon > 180) dLon -= 360;
  else if (dLon < -180) dLon += 360;
  return {
    x: EARTH_RADIUS_M * dLon * rad * Math.cos(origin.lat * rad),
    y: EARTH_RADIUS_M * (lat - origin.lat) * rad,
  };
}

/**
 * For each query point, the ascending indices of the reference points within `radius` (inclusive), using a
 * uniform grid of cell size `radius`: O(Q + R + pairs) instead of O(Q * R).
 *
 * @example
 * ```ts
 * import { pointsWithinRadius } from "./geo.ts";
 * const r = pointsWithinRadius([{ x: 0, y: 0 }], [{ x: 3, y: 4 }, { x: 10, y: 0 }], 5);
 * console.assert(r[0].length === 1 && r[0][0] === 0);
 * ```
 */
export function pointsWithinRadius(
  queries: readonly { x: number; y: number }[],
  reference: readonly { x: number; y: number }[],
  radius: number,
): number[][] {
  const cell = radius > 0 ? radius : 1;
  const grid = new Map<string, number[]>();
  const key = (cx: number, cy: number) => `${cx},${cy}`;
  reference.forEach((p, i) => {
    const k = key(Math.floor(p.x / cell), Math.floor(p.y / cell));
    const list = grid.get(k);
    if (list) list.push(i);
    else grid.set(k, [i]);
  });
  const r2 = radius * radius;
  return queries.map((q) => {
    const cx = Math.floor(q.x / cell), cy = Math.floor(q.y / cell);
    const out: number[] = [];
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const list = grid.get(key(cx + dx, cy + dy));
        if (!list) continue;
        for (const i of list) {
          const ex = reference[i].x - q.x, ey = reference[i].y - q.y;
          if (ex * ex + ey * ey <= r2) out.push(i);
        }
      }
    }
    return out.sort((a, b) => a - b);
  });
}
