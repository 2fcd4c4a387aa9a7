/**
 * Procedural wall materials (bricks, tiles, panels, plaster, concrete blocks) and landmarks (doors, posters,
 * signs, windows, shelves, extinguishers, notice boards), as texel functions of wall coordinates in metres.
 * Pure and seeded: the same spec gives the same texels.
 * @module
 */
import { fbm, hash2, Rng, valueNoise } from "./_rng.ts";

/** An RGB colour, components 0..255. */
export type Rgb = [number, number, number];

/** Wall material kinds. */
export type MaterialKind = "brick" | "tiles" | "panels" | "plaster" | "blocks";

/** A wall material: kind, colours and scales. */
export interface MaterialSpec {
  kind: MaterialKind;
  base: Rgb;
  second: Rgb;
  /** Characteristic size in metres (brick width, tile size, panel width). */
  scale: number;
  /** Height (m) of a two-tone split or dado rail. */
  split: number;
  seed: number;
}

/** Landmark kinds. Posters and notice boards change in the "texture" condition. */
export type LandmarkKind = "door" | "poster" | "sign" | "window" | "shelf" | "extinguisher" | "board";

/** A landmark on a wall segment: a rectangle in segment coordinates (metres). */
export interface LandmarkSpec {
  kind: LandmarkKind;
  u0: number;
  w: number;
  v0: number;
  h: number;
  color: Rgb;
  seed: number;
}

const MATERIALS: MaterialKind[] = ["brick", "tiles", "panels", "plaster", "blocks"];

function jitterColor(rng: Rng, c: Rgb, amount: number): Rgb {
  return [
    Math.max(10, Math.min(245, c[0] + rng.range(-amount, amount))),
    Math.max(10, Math.min(245, c[1] + rng.range(-amount, amount))),
    Math.max(10, Math.min(245, c[2] + rng.range(-amount, amount))),
  ];
}

const PALETTE: Record<MaterialKind, Rgb[]> = {
  brick: [[150, 70, 50], [170, 100, 70], [120, 60, 45], [185, 150, 110], [110, 100, 95]],
  tiles: [[220, 220, 215], [180, 205, 215], [200, 225, 200], [230, 215, 180], [160, 160, 170]],
  panels: [[150, 105, 65], [190, 150, 100], [110, 80, 55], [170, 175, 180], [120, 135, 150]],
  plaster: [[215, 205, 185], [180, 195, 205], [200, 180, 160], [160, 185, 160], [225, 225, 225]],
  blocks: [[160, 160, 155], [190, 185, 175], [135, 140, 145], [175, 165, 150]],
};

/** Draw a random material spec. */
export function randomMaterial(rng: Rng): MaterialSpec {
  const kind = rng.pick(MATERIALS);
  const base = jitterColor(rng, rng.pick(PALETTE[kind]), 18);
  const second = jitterColor(rng, rng.pick(PALETTE[rng.pick(MATERIALS)]), 25);
  const scale = kind === "brick"
    ? rng.range(0.2, 0.3)
    : kind === "tiles"
    ? rng.range(0.12, 0.3)
    : kind === "panels"
    ? rng.range(0.4, 1.2)
    : kind === "blocks"
    ? rng.range(0.35, 0.5)
    : 1;
  return { kind, base, second, scale, split: rng.range(0.9, 1.6), seed: rng.int(0, 0x7fffffff) };
}

const SIZES: Record<LandmarkKind, { w: [number, number]; h: [number, number]; v0: [number, number] }> = {
  door: { w: [0.85, 1.0], h: [2.0, 2.1], v0: [0, 0] },
  poster: { w: [0.45, 1.0], h: [0.6, 1.0], v0: [1.1, 1.45] },
  sign: { w: [0.3, 0.55], h: [0.15, 0.25], v0: [1.95, 2.15] },
  window: { w: [1.0, 2.0], h: [0.9, 1.2], v0: [0.9, 1.05] },
  shelf: { w: [0.8, 1.6], h: [1.2, 1.8], v0: [0.25, 0.35] },
  extinguisher: { w: [0.16, 0.2], h: [0.45, 0.55], v0: [0.3, 0.45] },
  board: { w: [0.8, 1.4], h: [0.6, 0.9], v0: [1.1, 1.3] },
};
const LANDMARK_WEIGHTS: [LandmarkKind, number][] = [
  ["door", 0.28],
  ["poster", 0.2],
  ["sign", 0.1],
  ["window", 0.12],
  ["shelf", 0.1],
  ["extinguisher", 0.08],
  ["board", 0.12],
];

/** Draw a random landmark of a given kind (or a weighted random kind) at `u0`. */
export function randomLandmark(rng: Rng, u0: number, kind?: LandmarkKind): LandmarkSpec {
  if (kind === undefined) {
    let t = rng.next();
    kind = "door";
    for (const [k, w] of LANDMARK_WEIGHTS) {
      if ((t -= w) < 0) {
        kind = k;
        break;
      }
    }
  }
  const s = SIZES[kind];
  const color: Rgb = [rng.int(20, 235), rng.int(20, 235), rng.int(20, 235)];
  return {
    kind,
    u0,
    w: rng.range(s.w[0], s.w[1]),
    h: rng.range(s.h[0], s.h[1]),
    v0: rng.range(s.v0[0], s.v0[1]),
    color,
    seed: rng.int(0, 0x7fffffff),
  };
}

interface PosterDesign {
  bg: Rgb;
  shapes: { kind: number; cx: number; cy: number; r: number; color: Rgb }[];
}
const posterDesigns = new Map<string, PosterDesign>();

/** The seeded design of a poster (background and 2-4 shapes), memoised: texels are evaluated one by one. */
function posterDesign(seed: number, variant: number, color: Rgb): PosterDesign {
  const key = `${seed}:${variant}:${color.join(",")}`;
  let d = posterDesigns.get(key);
  if (d === undefined) {
    const rng = new Rng(seed);
    const bg: Rgb = variant === 0 ? color : [rng.int(20, 235), rng.int(20, 235), rng.int(20, 235)];
    const shapes: PosterDesign["shapes"] = [];
    for (let i = 0; i < 2 + (seed % 3); i++) {
      const kind = rng.int(0, 3);
      const cx = rng.range(0.2, 0.8), cy = rng.range(0.25, 0.8), r = rng.range(0.1, 0.3);
      shapes.push({ kind, cx, cy, r, color: [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)] });
    }
    if (posterDesigns.size > 4096) posterDesigns.clear();
    d = { bg, shapes };
    posterDesigns.set(key, d);
  }
  return d;
}

function set(out: Float32Array, r: number, g: number, b: number): void {
  out[0] = r, out[1] = g, out[2] = b;
}
function setScaled(out: Float32Array, c: Rgb, k: number): void {
  out[0] = c[0] * k, out[1] = c[1] * k, out[2] = c[2] * k;
}

/** Material texel at wall coordinates (u along the wall, v up from the floor, metres) into `out` (RGB). */
export function materialTexel(m: MaterialSpec, u: number, v: number, out: Float32Array): void {
  const grain = 0.9 + 0.2 * valueNoise(u * 6, v * 6, m.seed);
  if (v < 0.1) { // skirting board
    setScaled(out, m.second, 0.45 * grain);
    return;
  }
  switch (m.kind) {
    case "brick": {
      const bh = m.scale * 0.33, bw = m.scale, mortar = 0.012;
      const row = Math.floor(v / bh);
      const uu = u + (row & 1) * bw * 0.5;
      const col = Math.floor(uu / bw);
      const fu = uu - col * bw, fv = v - row * bh;
      if (fu < mortar || fv < mortar) {
        set(out, 175 * grain, 170 * grain, 160 * grain);
        return;
      }
      const k = (0.75 + 0.45 * hash2(col, row, m.seed)) * grain;
      setScaled(out, m.base, k);
      return;
    }
    case "tiles": {
      if (v > m.split + 0.4) { // painted above the tiles
        setScaled(out, m.second, 0.95 + 0.1 * valueNoise(u * 2, v * 2, m.seed));
        return;
      }
      const s = m.scale, grout = 0.008;
      const iu = Math.floor(u / s), iv = Math.floor(v / s);
      if (u - iu * s < grout || v - iv * s < grout) {
        set(out, 120, 120, 115);
        return;
      }
      const alt = (hash2(iu, iv, m.seed) < 0.08) ? 0.7 : 1; // an odd darker tile now and then
      setScaled(out, m.base, (0.93 + 0.12 * hash2(iu, iv, m.seed + 1)) * alt);
      return;
    }
    case "panels": {
      const pw = m.scale;
      const ip = Math.floor(u / pw);
      const fu = u - ip * pw;
      if (fu < 0.015) {
        setScaled(out, m.base, 0.35);
        return;
      }
      const stripes = 0.85 + 0.3 * fbm(u * 4 + ip * 7.3, v * 0.4, m.seed, 3);
      const k = stripes * (0.9 + 0.2 * hash2(ip, 0, m.seed));
      setScaled(out, m.base, v > 2.2 ? k * 0.8 : k);
      return;
    }
    case "plaster": {
      const stain = 0.85 + 0.25 * fbm(u * 0.8, v * 0.8, m.seed, 3);
      if (v < m.split) setScaled(out, m.second, stain * grain);
      else if (v < m.split + 0.05) set(out, 90, 80, 70); // dado rail
      else setScaled(out, m.base, stain);
      return;
    }
    case "blocks": {
      const bw = m.scale, bh = m.scale * 0.5;
      const iu = Math.floor(u / bw), iv = Math.floor(v / bh);
      if (u - iu * bw < 0.012 || v - iv * bh < 0.012) {
        setScaled(out, m.base, 0.6);
        return;
      }
      const speck = hash2(Math.floor(u * 60), Math.floor(v * 60), m.seed) < 0.06 ? 0.7 : 1;
      setScaled(out, m.base, (0.85 + 0.2 * hash2(iu, iv, m.seed)) * speck * grain);
      return;
    }
  }
}

/**
 * Landmark texel at (u, v) in segment metres. Returns false (leaving `out` alone) when the point is outside the
 * landmark or on a transparent part. `variant` != 0 redraws swappable content (posters, boards) differently.
 */
export function landmarkTexel(
  l: LandmarkSpec,
  u: number,
  v: number,
  variant: number,
  out: Float32Array,
): boolean {
  const lu = u - l.u0, lv = v - l.v0;
  if (lu < 0 || lv < 0 || lu >= l.w || lv >= l.h) return false;
  const x = lu / l.w, y = lv / l.h; // 0..1, y up
  const c = l.color;
  switch (l.kind) {
    case "door": {
      const frame = 0.06;
      if (lu < frame || l.w - lu < frame || l.h - lv < frame) {
        set(out, 60, 55, 50);
        return true;
      }
      const handleU = l.w - 0.14;
      if (Math.abs(lu - handleU) < 0.05 && Math.abs(lv - 1.0) < 0.02) {
        set(out, 200, 200, 190);
        return true;
      }
      const hasWindow = (l.seed & 1) === 1;
      if (hasWindow && lv > 1.35 && lv < 1.85 && Math.abs(x - 0.5) < 0.18) {
        set(out, 70, 90, 110);
        return true;
      }
      const k = 0.85 + 0.25 * fbm(lu * 2, lv * 0.3, l.seed, 2);
      setScaled(out, c, lv < 0.15 ? k * 0.7 : k);
      return true;
    }
    case "poster":
    case "board": {
      const seed = l.seed + variant * 7919;
      const border = 0.025;
      if (lu < border || l.w - lu < border || lv < border || l.h - lv < border) {
        if (l.kind === "board") set(out, 110, 80, 50);
        else set(out, 240, 240, 235);
        return true;
      }
      if (l.kind === "board") {
        // Cork board with pinned sheets at seeded places.
        for (let i = 0; i < 5; i++) {
          const px = hash2(i, 1, seed) * 0.8, py = hash2(i, 2, seed) * 0.7;
          if (x > px && x < px + 0.16 && y > py && y < py + 0.24) {
            const t = hash2(i, 3, seed);
            if (t < 0.6) set(out, 245, 245, 240);
            else setScaled(out, [250, 230 * t, 120 + 100 * t], 1);
            if (Math.floor((y - py) * 60) % 3 === 0 && x > px + 0.02 && x < px + 0.14) {
              setScaled(out, [90, 90, 90], 1);
            }
            return true;
          }
        }
        set(out, 175 + 20 * hash2(Math.floor(lu * 60), Math.floor(lv * 60), seed), 130, 85);
        return true;
      }
      const design = posterDesign(seed, variant, c);
      setScaled(out, design.bg, 1);
      for (const sh of design.shapes) {
        const dx = x - sh.cx, dy = (y - sh.cy) * (l.h / l.w), r = sh.r;
        let inside = false;
        if (sh.kind === 0) inside = dx * dx + dy * dy < r * r;
        else if (sh.kind === 1) inside = Math.abs(dx) < r && Math.abs(dy) < r * 0.6;
        else if (sh.kind === 2) inside = dy > -r && dy < r && Math.abs(dx) < (r - dy) * 0.5;
        else inside = Math.abs(dy) < r && Math.floor((dx + 1) * 12) % 2 === 0;
        if (inside) setScaled(out, sh.color, 1);
      }
      if (y < 0.18 && y > 0.06 && x > 0.1 && x < 0.9 && Math.floor(x * 20) % 4 !== 3) set(out, 30, 30, 30); // caption
      return true;
    }
    case "sign": {
      const green = (l.seed & 3) === 0;
      const bg: Rgb = green ? [30, 140, 60] : (l.seed & 3) === 1 ? [30, 60, 150] : [235, 235, 230];
      const fg: Rgb = (l.seed & 3) === 2 || (l.seed & 3) === 3 ? [20, 20, 20] : [245, 245, 245];
      setScaled(out, bg, 1);
      const dir = (l.seed >> 2) & 1 ? 1 : -1;
      const ax = dir > 0 ? x : 1 - x;
      // An arrow on the left third, text bars on the rest.
      if (ax < 0.35) {
        const shaft = ax > 0.1 && ax < 0.25 && Math.abs(y - 0.5) < 0.12;
        const head = ax >= 0.2 && ax < 0.33 && Math.abs(y - 0.5) < (0.33 - ax) * 2.5;
        if (shaft || head) setScaled(out, fg, 1);
      } else if (Math.abs(y - 0.5) < 0.2 && Math.floor(ax * 25) % 3 !== 0) setScaled(out, fg, 1);
      return true;
    }
    case "window": {
      const frame = 0.05;
      const mull = Math.abs(lu - l.w / 2) < 0.025 || Math.abs(lv - l.h * 0.65) < 0.025;
      if (lu < frame || l.w - lu < frame || lv < frame || l.h - lv < frame || mull) {
        set(out, 225, 225, 220);
        return true;
      }
      // Bright sky over a darker band of outside "buildings".
      const skyline = 0.35 + 0.25 * valueNoise(lu * 3, 0, l.seed);
      if (y < skyline) set(out, 90 + 40 * y, 100 + 40 * y, 95 + 40 * y);
      else set(out, 200 + 40 * y, 220 + 25 * y, 245);
      return true;
    }
    case "shelf": {
      const plank = 0.35;
      const row = Math.floor(lv / plank);
      const fv = lv - row * plank;
      if (fv < 0.03 || lu < 0.03 || l.w - lu < 0.03) {
        setScaled(out, c, 0.6);
        return true;
      }
      // Books: columns of seeded width and height.
      const bookW = 0.035 + 0.03 * hash2(Math.floor(lu / 0.05), row, l.seed);
      const ib = Math.floor(lu / bookW);
      const present = hash2(ib, row, l.seed + 5) < 0.8;
      const bookH = 0.18 + 0.12 * hash2(ib, row, l.seed + 6);
      if (present && fv < bookH) {
        const t = hash2(ib, row, l.seed + 7);
        set(out, 40 + 200 * t, 40 + 180 * hash2(ib, row, l.seed + 8), 40 + 200 * (1 - t));
      } else set(out, 50, 40, 35);
      return true;
    }
    case "extinguisher": {
      const r = Math.abs(x - 0.5) * 2;
      if (y > 0.85) {
        if (r < 0.4) set(out, 25, 25, 25);
        else return false;
        return true;
      }
      if (r > 0.95) return false;
      const k = 1 - 0.4 * r * r;
      set(out, 200 * k, 25 * k, 20 * k);
      if (y > 0.45 && y < 0.6) set(out, 230 * k, 230 * k, 220 * k);
      return true;
    }
  }
}
