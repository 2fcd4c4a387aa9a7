/**
 * The simulated building's floor plan: a grid of 1 m cells (wall or free) holding a rectangular corridor loop
 * with side branches (alcoves, dead-end corridors, one room), and the loop's centre line as the camera route.
 * Pure and seeded.
 * @module
 */
import { invalid } from "../../errors.ts";
import { Rng } from "./_rng.ts";

/** Options of the floor plan. */
export interface FloorPlanOptions {
  /** Outer width of the corridor loop in metres (x). Default 40. */
  loopWidth?: number;
  /** Outer height of the corridor loop in metres (y). Default 26. */
  loopHeight?: number;
  /** Corridor width in metres. Default 3. */
  corridorWidth?: number;
  /** Number of side branches (alcoves, short corridors, a room). Default 8. */
  branches?: number;
  /** Wall height in metres. Default 2.5. */
  wallHeight?: number;
}

/** A straight or circular piece of the route centre line. */
interface RouteSegment {
  length: number;
  /** Straight: start point and heading. Arc: centre, radius, start angle (CCW turn). */
  kind: "line" | "arc";
  x: number;
  y: number;
  heading: number;
  radius: number;
}

/** The grid and route of the simulated building. */
export interface FloorPlan {
  /** Grid size in cells (1 cell = 1 m). */
  width: number;
  height: number;
  /** 1 = wall, 0 = free; row-major, index y * width + x. */
  cells: Uint8Array;
  wallHeight: number;
  /** Length of one lap of the route in metres. */
  routeLength: number;
  /** The route's rounded-rectangle corners (metres): x0,y0 bottom-left to x1,y1 top-right of its centre line. */
  route: { x0: number; y0: number; x1: number; y1: number; radius: number };
  /** Route point at arc length `s` (wraps around the lap): position and heading (radians, CCW from +x). */
  routePoint(s: number): { x: number; y: number; heading: number };
  /** True when the point (metres) lies in a free cell. */
  isFree(x: number, y: number): boolean;
}

const MARGIN = 6;

/** Build the seeded floor plan. */
export function buildFloorPlan(seed: number, options: FloorPlanOptions = {}): FloorPlan {
  const action = "build the simulator floor plan";
  const lw = options.loopWidth ?? 40;
  const lh = options.loopHeight ?? 26;
  const cw = options.corridorWidth ?? 3;
  const nBranches = options.branches ?? 8;
  const wallHeight = options.wallHeight ?? 2.5;
  if (!Number.isInteger(cw) || cw < 2 || cw > 6) {
    throw invalid(action, "corridorWidth", "an integer in [2, 6]", cw);
  }
  if (!Number.isInteger(lw) || lw < 2 * cw + 6 || lw > 400) {
    throw invalid(action, "loopWidth", `an integer in [${2 * cw + 6}, 400]`, lw);
  }
  if (!Number.isInteger(lh) || lh < 2 * cw + 6 || lh > 400) {
    throw invalid(action, "loopHeight", `an integer in [${2 * cw + 6}, 400]`, lh);
  }
  if (!Number.isInteger(nBranches) || nBranches < 0 || nBranches > 64) {
    throw invalid(action, "branches", "an integer in [0, 64]", nBranches);
  }
  if (typeof wallHeight !== "number" || !(wallHeight >= 2 && wallHeight <= 5)) {
    throw invalid(action, "wallHeight", "a number in [2, 5]", wallHeight);
  }
  const width = lw + 2 * MARGIN, height = lh + 2 * MARGIN;
  const cells = new Uint8Array(width * height).fill(1);
  const reserved = new Uint8Array(width * height);
  const carve = (x0: number, y0: number, x1: number, y1: number) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) cells[y * width + x] = 0;
  };
  const m = MARGIN;
  // The ring corridor.
  carve(m, m, m + lw, m + cw);
  carve(m, m + lh - cw, m + lw, m + lh);
  carve(m, m, m + cw, m + lh);
  carve(m + lw - cw, m, m + lw, m + lh);

  // Side branches: rectangles carved off a straight side, outwards or inwards, never touching each other.
  const rng = new Rng(seed ^ 0x5eed);
  const innerHalfX = Math.floor((lw - 2 * cw) / 2) - 1, innerHalfY = Math.floor((lh - 2 * cw) / 2) - 1;
  let placed = 0;
  for (let attempt = 0; attempt < nBranches * 40 && placed < nBranches; attempt++) {
    const side = rng.int(0, 3); // 0 bottom, 1 right, 2 top, 3 left
    const outward = rng.next() < 0.5;
    const isRoom = placed === 0;
    const bw = isRoom ? rng.int(5, 7) : rng.int(2, 3);
    const maxDepth = outward ? MARGIN - 1 : (side % 2 === 0 ? innerHalfY : innerHalfX);
    const depth = Math.min(maxDepth, isRoom ? rng.int(4, 5) : rng.int(2, 5));
    if (depth < 2) continue;
    const along = side % 2 === 0 ? lw : lh;
    const lo = cw + 2, hi = along - cw - 2 - bw;
    if (hi < lo) continue;
    const a = rng.int(lo, hi);
    let x0: number, y0: number, x1: number, y1: number;
    if (side === 0) {
      x0 = m + a, x1 = x0 + bw;
      [y0, y1] = outward ? [m - depth, m] : [m + cw, m + cw + depth];
    } else if (side === 2) {
      x0 = m + a, x1 = x0 + bw;
      [y0, y1] = outward ? [m + lh, m + lh + depth] : [m + lh - cw - depth, m + lh - cw];
    } else if (side === 1) {
      y0 = m + a, y1 = y0 + bw;
      [x0, x1] = outward ? [m + lw, m + lw + depth] : [m + lw - cw - depth, m + lw - cw];
    } else {
      y0 = m + a, y1 = y0 + bw;
      [x0, x1] = outward ? [m - depth, m] : [m + cw, m + cw + depth];
    }
    // Keep a wall of at least one cell between branches (and the grid border).
    let clash = false;
    for (let y = y0 - 1; y <= y1 && !clash; y++) {
      for (let x = x0 - 1; x <= x1 && !clash; x++) {
        if (x < 1 || y < 1 || x >= width - 1 || y >= height - 1 || reserved[y * width + x]) clash = true;
      }
    }
    if (clash) continue;
    for (let y = y0 - 1; y <= y1; y++) for (let x = x0 - 1; x <= x1; x++) reserved[y * width + x] = 1;
    carve(x0, y0, x1, y1);
    placed++;
  }

  // Route: centre line of the ring, a rounded rectangle travelled counter-clockwise.
  const half = cw / 2;
  const rx0 = m + half, ry0 = m + half, rx1 = m + lw - half, ry1 = m + lh - half;
  const r = Math.min(1.2, half - 0.2);
  const lx = rx1 - rx0 - 2 * r, ly = ry1 - ry0 - 2 * r, arc = (Math.PI / 2) * r;
  const segs: RouteSegment[] = [
    { kind: "line", length: lx, x: rx0 + r, y: ry0, heading: 0, radius: 0 },
    { kind: "arc", length: arc, x: rx1 - r, y: ry0 + r, heading: 0, radius: r },
    { kind: "line", length: ly, x: rx1, y: ry0 + r, heading: Math.PI / 2, radius: 0 },
    { kind: "arc", length: arc, x: rx1 - r, y: ry1 - r, heading: Math.PI / 2, radius: r },
    { kind: "line", length: lx, x: rx1 - r, y: ry1, heading: Math.PI, radius: 0 },
    { kind: "arc", length: arc, x: rx0 + r, y: ry1 - r, heading: Math.PI, radius: r },
    { kind: "line", length: ly, x: rx0, y: ry1 - r, heading: 1.5 * Math.PI, radius: 0 },
    { kind: "arc", length: arc, x: rx0 + r, y: ry0 + r, heading: 1.5 * Math.PI, radius: r },
  ];
  const routeLength = segs.reduce((a, s) => a + s.length, 0);
  const routePoint = (s: number) => {
    s = ((s % routeLength) + routeLength) % routeLength;
    for (const seg of segs) {
      if (s <= seg.length || seg === segs[segs.length - 1]) {
        const t = Math.min(s, seg.length);
        if (seg.kind === "line") {
          return {
            x: seg.x + Math.cos(seg.heading) * t,
            y: seg.y + Math.sin(seg.heading) * t,
            heading: seg.heading,
          };
        }
        const heading = seg.heading + t / seg.radius;
        // On a CCW arc the centre lies to the left: position = centre - r * left normal.
        return {
          x: seg.x + seg.radius * Math.sin(heading),
          y: seg.y - seg.radius * Math.cos(heading),
          heading: heading % (2 * Math.PI),
        };
      }
      s -= seg.length;
    }
    throw new Error("unreachable");
  };
  const isFree = (x: number, y: number) => {
    const cx = Math.floor(x), cy = Math.floor(y);
    return cx >= 0 && cy >= 0 && cx < width && cy < height && cells[cy * width + cx] === 0;
  };
  return {
    width,
    height,
    cells,
    wallHeight,
    routeLength,
    route: { x0: rx0, y0: ry0, x1: rx1, y1: ry1, radius: r },
    routePoint,
    isFree,
  };
}
