/**
 * The textured world: wall faces of the floor plan grouped into runs and segments, each segment with a material
 * and landmarks (some segments are deliberate look-alike copies of others: perceptual aliasing), baked into a
 * texture atlas; plus floor and ceiling textures over the whole plan. Pure and seeded.
 * @module
 */
import { fbm, hash2, Rng } from "./_rng.ts";
import type { FloorPlan } from "./floor_plan.ts";
import {
  type LandmarkSpec,
  landmarkTexel,
  type MaterialSpec,
  materialTexel,
  randomLandmark,
  randomMaterial,
} from "./textures.ts";

/** Texels per metre along and up a wall. */
export const WALL_TEXELS_PER_M = 64;
/** Texels per metre of the floor texture. */
export const FLOOR_TEXELS_PER_M = 32;
/** Texels per metre of the ceiling texture. */
export const CEIL_TEXELS_PER_M = 16;

/** Options of the world's appearance. */
export interface WorldOptions {
  /** Probability that a wall segment is a copy of an earlier one (perceptual aliasing). Default 0.3. */
  aliasing?: number;
  /** Mean landmarks per metre of wall. Default 0.28. */
  landmarkDensity?: number;
}

/** One wall segment: a stretch of a run with one material and its landmarks. */
export interface WallSegment {
  run: number;
  /** Start and length along the run, metres. */
  start: number;
  length: number;
  material: MaterialSpec;
  landmarks: LandmarkSpec[];
  /** Index of the segment this one copies, or -1. */
  copyOf: number;
}

/** The textured world. */
export interface World {
  plan: FloorPlan;
  /** Face id per (cell * 4 + side), -1 where no face. Sides: 0 faces -x, 1 faces +x, 2 faces -y, 3 faces +y. */
  faceOf: Int32Array;
  faceCount: number;
  /** Atlas slot of each face in the normal and in the changed ("texture" condition) appearance. */
  slotNormal: Int32Array;
  slotChanged: Int32Array;
  /** Wall atlas: slot-major, then column-major texels (u then v from the top), RGB. */
  atlas: Uint8Array;
  texW: number;
  texH: number;
  segments: WallSegment[];
  /** Floor texture (plan.width * FLOOR_TEXELS_PER_M wide), RGB row-major, row 0 at y = 0. */
  floor: Uint8Array;
  floorW: number;
  floorH: number;
  ceil: Uint8Array;
  ceilW: number;
  ceilH: number;
  /** Centres of the ceiling's light panels (x, y pairs, metres), over free cells. */
  lamps: Float32Array;
}

interface FaceInfo {
  cell: number;
  side: number;
  run: number;
  offset: number;
}

/** Build the textured world for a floor plan. */
export function buildWorld(plan: FloorPlan, seed: number, options: WorldOptions = {}): World {
  const aliasing = options.aliasing ?? 0.3;
  const density = options.landmarkDensity ?? 0.28;
  const { width, height, cells } = plan;
  const free = (x: number, y: number) =>
    x >= 0 && y >= 0 && x < width && y < height && cells[y * width + x] === 0;
  const wall = (x: number, y: number) => !free(x, y) && x >= 0 && y >= 0 && x < width && y < height;

  // Faces grouped into runs, each run ordered left to right as seen by a viewer facing the wall.
  const faceOf = new Int32Array(width * height * 4).fill(-1);
  const faces: FaceInfo[] = [];
  let runs = 0;
  const addRun = (list: [number, number][], side: number) => {
    let prev: [number, number] | null = null;
    let offset = 0;
    for (const [x, y] of list) {
      const contiguous = prev !== null && Math.abs(prev[0] - x) + Math.abs(prev[1] - y) === 1;
      if (!contiguous) {
        runs++;
        offset = 0;
      }
      const id = faces.length;
      faces.push({ cell: y * width + x, side, run: runs - 1, offset });
      faceOf[(y * width + x) * 4 + side] = id;
      offset += 1;
      prev = [x, y];
    }
  };
  for (let y = 0; y < height; y++) { // faces looking -y (viewer below, right = +x) and +y (right = -x)
    const south: [number, number][] = [], north: [number, number][] = [];
    for (let x = 0; x < width; x++) {
      if (wall(x, y) && free(x, y - 1)) south.push([x, y]);
      else if (south.length) addRun(south.splice(0), 2);
    }
    addRun(south, 2);
    for (let x = width - 1; x >= 0; x--) {
      if (wall(x, y) && free(x, y + 1)) north.push([x, y]);
      else if (north.length) addRun(north.splice(0), 3);
    }
    addRun(north, 3);
  }
  for (let x = 0; x < width; x++) { // faces looking -x (right = -y) and +x (right = +y)
    const west: [number, number][] = [], east: [number, number][] = [];
    for (let y = height - 1; y >= 0; y--) {
      if (wall(x, y) && free(x - 1, y)) west.push([x, y]);
      else if (west.length) addRun(west.splice(0), 0);
    }
    addRun(west, 0);
    for (let y = 0; y < height; y++) {
      if (wall(x, y) && free(x + 1, y)) east.push([x, y]);
      else if (east.length) addRun(east.splice(0), 1);
    }
    addRun(east, 1);
  }
  const runLength = new Float64Array(runs);
  for (const f of faces) runLength[f.run] = Math.max(runLength[f.run], f.offset + 1);

  // Segments with materials and landmarks; some copy an earlier segment (look-alike places).
  const rng = new Rng(seed ^ 0x3a11);
  const segments: WallSegment[] = [];
  const segmentsOfRun: number[][] = Array.from({ length: runs }, () => []);
  for (let r = 0; r < runs; r++) {
    let start = 0;
    const len = runLength[r];
    while (start < len - 1e-9) {
      let length = Math.min(len - start, rng.range(2.5, 7));
      if (len - start - length < 1.5) length = len - start;
      const template = segments.length > 4 && rng.next() < aliasing
        ? segments[rng.int(0, segments.length - 1)]
        : null;
      let material: MaterialSpec, landmarks: LandmarkSpec[];
      if (template !== null && template.copyOf < 0) {
        material = template.material;
        landmarks = template.landmarks.filter((l) => l.u0 + l.w <= length - 0.1);
      } else {
        material = randomMaterial(rng);
        landmarks = [];
        // Irregular landmark spacing: exponential-ish gaps; sometimes a regular row of identical doors.
        const doorRow = rng.next() < 0.15;
        const door = randomLandmark(rng, 0, "door");
        let u = rng.range(0.2, 1.5);
        while (u < length - 0.3) {
          const l = doorRow ? { ...door, u0: u } : randomLandmark(rng, u);
          if (u + l.w > length - 0.15) break;
          landmarks.push(l);
          u += l.w + (doorRow ? 1.6 : -Math.log(1 - rng.next()) / density * 0.6 + 0.3);
        }
      }
      const seg: WallSegment = {
        run: r,
        start,
        length,
        material,
        landmarks,
        copyOf: template !== null && template.copyOf < 0 ? segments.indexOf(template) : -1,
      };
      segmentsOfRun[r].push(segments.length);
      segments.push(seg);
      start += length;
    }
  }

  // Bake the atlas: one slot per face, plus extra slots for faces whose posters/boards change.
  const texW = WALL_TEXELS_PER_M, texH = Math.round(plan.wallHeight * WALL_TEXELS_PER_M);
  const slotBytes = texW * texH * 3;
  const changedFaces: number[] = [];
  const slotNormal = new Int32Array(faces.length);
  const slotChanged = new Int32Array(faces.length);
  const swappable = (l: LandmarkSpec) => l.kind === "poster" || l.kind === "board";
  for (let i = 0; i < faces.length; i++) {
    slotNormal[i] = i;
    slotChanged[i] = i;
    const f = faces[i];
    for (const si of segmentsOfRun[f.run]) {
      const s = segments[si];
      for (const l of s.landmarks) {
        const a = s.start + l.u0, b = a + l.w;
        if (swappable(l) && b > f.offset && a < f.offset + 1) {
          slotChanged[i] = faces.length + changedFaces.length;
          changedFaces.push(i);
          break;
        }
      }
      if (slotChanged[i] !== i) break;
    }
  }
  const atlas = new Uint8Array((faces.length + changedFaces.length) * slotBytes);
  const px = new Float32Array(3);
  const bakeFace = (faceIndex: number, slot: number, variant: number) => {
    const f = faces[faceIndex];
    const segs = segmentsOfRun[f.run].map((i) => segments[i]);
    let base = slot * slotBytes;
    for (let tu = 0; tu < texW; tu++) {
      const u = f.offset + (tu + 0.5) / texW;
      let seg = segs[0];
      for (const s of segs) if (u >= s.start) seg = s;
      const su = u - seg.start;
      for (let tv = 0; tv < texH; tv++) {
        const v = plan.wallHeight - (tv + 0.5) / WALL_TEXELS_PER_M;
        materialTexel(seg.material, su, v, px);
        for (const l of seg.landmarks) if (landmarkTexel(l, su, v, swappable(l) ? variant : 0, px)) break;
        atlas[base++] = px[0] < 0 ? 0 : px[0] > 255 ? 255 : px[0];
        atlas[base++] = px[1] < 0 ? 0 : px[1] > 255 ? 255 : px[1];
        atlas[base++] = px[2] < 0 ? 0 : px[2] > 255 ? 255 : px[2];
      }
    }
  };
  for (let i = 0; i < faces.length; i++) bakeFace(i, i, 0);
  for (let k = 0; k < changedFaces.length; k++) bakeFace(changedFaces[k], faces.length + k, 1);

  // Floor: tiles whose colour changes by zone, with stains; ceiling: acoustic tiles and light panels.
  const floorW = width * FLOOR_TEXELS_PER_M, floorH = height * FLOOR_TEXELS_PER_M;
  const floor = new Uint8Array(floorW * floorH * 3);
  const zoneSeed = seed ^ 0xf100;
  const tile = 0.5;
  // Low-frequency stains vary slowly: evaluate them once per 4x4 texel block.
  const stainW = Math.ceil(floorW / 4), stainH = Math.ceil(floorH / 4);
  const stains = new Float32Array(stainW * stainH);
  for (let by = 0; by < stainH; by++) {
    for (let bx = 0; bx < stainW; bx++) {
      const sx = ((bx + 0.5) * 4) / FLOOR_TEXELS_PER_M, sy = ((by + 0.5) * 4) / FLOOR_TEXELS_PER_M;
      stains[by * stainW + bx] = 0.8 + 0.35 * fbm(sx * 0.7, sy * 0.7, zoneSeed, 3);
    }
  }
  for (let ty = 0; ty < floorH; ty++) {
    const wy = (ty + 0.5) / FLOOR_TEXELS_PER_M;
    for (let tx = 0; tx < floorW; tx++) {
      const wx = (tx + 0.5) / FLOOR_TEXELS_PER_M;
      const zx = Math.floor(wx / 7), zy = Math.floor(wy / 7);
      const h = hash2(zx, zy, zoneSeed);
      // Muted zone colours: a grey level with a slight warm or cool tint.
      const grey = 85 + 90 * h, tint = 30 * (hash2(zx, zy, zoneSeed + 1) - 0.5);
      const r0 = grey + tint, g0 = grey + 0.3 * tint * hash2(zx, zy, zoneSeed + 2), b0 = grey - tint;
      const ix = Math.floor(wx / tile), iy = Math.floor(wy / tile);
      const grout = wx - ix * tile < 0.015 || wy - iy * tile < 0.015;
      const stain = stains[(ty >> 2) * stainW + (tx >> 2)];
      const k = grout ? 0.55 : (0.88 + 0.18 * hash2(ix, iy, zoneSeed + 3)) * stain;
      const o = (ty * floorW + tx) * 3;
      floor[o] = Math.min(255, r0 * k),
        floor[o + 1] = Math.min(255, g0 * k),
        floor[o + 2] = Math.min(255, b0 * k);
    }
  }
  const ceilW = width * CEIL_TEXELS_PER_M, ceilH = height * CEIL_TEXELS_PER_M;
  const ceil = new Uint8Array(ceilW * ceilH * 3);
  const ct = 0.6;
  for (let ty = 0; ty < ceilH; ty++) {
    const wy = (ty + 0.5) / CEIL_TEXELS_PER_M;
    for (let tx = 0; tx < ceilW; tx++) {
      const wx = (tx + 0.5) / CEIL_TEXELS_PER_M;
      const ix = Math.floor(wx / ct), iy = Math.floor(wy / ct);
      const edge = wx - ix * ct < 0.04 || wy - iy * ct < 0.04;
      const light = hash2(ix >> 1, iy, seed ^ 0xce11) < 0.12;
      let v: number;
      if (edge) v = 150;
      else if (light) v = 250;
      else v = 200 + 25 * hash2(Math.floor(wx * 12), Math.floor(wy * 12), seed ^ 0xce12);
      const o = (ty * ceilW + tx) * 3;
      ceil[o] = v, ceil[o + 1] = v, ceil[o + 2] = light ? v : v - 8;
    }
  }
  // Lamps: the light panels (two 0.6 m tiles wide) over free cells.
  const lampList: number[] = [];
  for (let iy = 0; iy * ct < height; iy++) {
    for (let px = 0; px * 2 * ct < width; px++) {
      if (hash2(px, iy, seed ^ 0xce11) >= 0.12) continue;
      const lx = (px * 2 + 1) * ct, ly = (iy + 0.5) * ct;
      if (plan.isFree(lx, ly)) lampList.push(lx, ly);
    }
  }
  return {
    plan,
    lamps: Float32Array.from(lampList),
    faceOf,
    faceCount: faces.length,
    slotNormal,
    slotChanged,
    atlas,
    texW,
    texH,
    segments,
    floor,
    floorW,
    floorH,
    ceil,
    ceilW,
    ceilH,
  };
}
