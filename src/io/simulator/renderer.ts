/**
 * The simulator's renderer: Wolfenstein-style ray casting per image column through the floor-plan grid (DDA),
 * perspective-correct wall texture lookup, per-pixel floor and ceiling casting, distance shading, then the
 * camera model: global gain, a linear light gradient, vignetting, exposure with a soft highlight shoulder, and
 * seeded Gaussian sensor noise. Pure: typed arrays in, typed arrays out, no allocation per pixel.
 * @module
 */
import { invalid } from "../../errors.ts";
import type { PixelImage } from "../../types.ts";
import { hash32, Rng } from "./_rng.ts";
import { LIGHT_CELLS_PER_M, lightField } from "./lighting.ts";
import { CEIL_TEXELS_PER_M, FLOOR_TEXELS_PER_M, type World } from "./world.ts";

/** A camera pose on the floor plan: position in metres, heading in radians (CCW from +x). */
export interface Pose {
  x: number;
  y: number;
  heading: number;
}

/** Camera intrinsics and placement. */
export interface CameraModel {
  /** Image width in pixels. Default 640. */
  width: number;
  /** Image height in pixels. Default 480. */
  height: number;
  /** Horizontal field of view in degrees. Default 70. */
  fovDeg: number;
  /** Camera height above the floor in metres. Default 1.4. */
  cameraHeight: number;
}

/** Imaging conditions of one render (all optional; defaults give the nominal appearance). */
export interface RenderConditions {
  /** Global illumination gain, in [0, 4]. Default 1. */
  gain?: number;
  /** Strength of a linear illumination gradient across the image, in [-0.7, 0.7]. Default 0. */
  gradient?: number;
  /** Direction of the gradient in the image, radians (0: darker left, brighter right). Default 0. */
  gradientAngle?: number;
  /** Exposure multiplier before the sensor's response curve, in [0.05, 8]. Default 1. */
  exposure?: number;
  /** Sensor noise standard deviation in 8-bit grey levels, in [0, 100]. Default 0. */
  noise?: number;
  /** Seed of the sensor noise (combine with a frame number for independent frames). Default 0. */
  noiseSeed?: number;
  /** Fraction of the ceiling lamps switched off, in [0, 1] (uneven, local lighting change). Default 0. */
  lampsOff?: number;
  /** Which lamps are off (seed). Default 0. */
  lightSeed?: number;
  /** Use the changed wall appearance (posters and notice boards swapped). Default false. */
  textureChange?: boolean;
}

// Covers texel (255) x the largest shading factor that validated conditions allow: distance shading 1.1 x
// gain 4 x gradient 2 x light field 2.5.
const LUT_SIZE = 8192;
// Texture texel to light cell: shifts (the texel densities are power-of-two multiples of the light grid's).
const FLOOR_TO_LIGHT = Math.log2(FLOOR_TEXELS_PER_M / LIGHT_CELLS_PER_M);
const CEIL_TO_LIGHT = Math.log2(CEIL_TEXELS_PER_M / LIGHT_CELLS_PER_M);

const NOISE_TABLE = (() => {
  const rng = new Rng(0x5157);
  const t = new Float32Array(1024);
  for (let i = 0; i < t.length; i++) t[i] = rng.gauss();
  return t;
})();

/** Sensor response: linear up to 0.85 of full scale, then a soft shoulder to white. */
function response(y: number): number {
  return y < 0.85 ? y : 0.85 + 0.15 * (1 - Math.exp(-(y - 0.85) / 0.15));
}

/** Reusable per-size buffers. */
interface Scratch {
  vx: Float32Array;
  vy: Float32Array;
  gx: Float32Array;
  gy: Float32Array;
  rowDist: Float32Array;
  rowShade: Float32Array;
  lut: Uint8Array;
}

/**
 * Render one RGB frame of `world` from `pose`. `out` (width * height * 3 bytes) is reused when given.
 */
export function renderFrame(
  world: World,
  pose: Pose,
  camera: CameraModel,
  conditions: RenderConditions = {},
  out?: Uint8Array,
): PixelImage {
  const W = camera.width, H = camera.height;
  const data = out ?? new Uint8Array(W * H * 3);
  const plan = world.plan;
  const gw = plan.width, cells = plan.cells, faceOf = world.faceOf;
  const slots = conditions.textureChange ? world.slotChanged : world.slotNormal;
  const atlas = world.atlas, texW = world.texW, texH = world.texH;
  const wallH = plan.wallHeight, camH = camera.cameraHeight;
  const tanHalf = Math.tan((camera.fovDeg * Math.PI) / 360);
  const f = W / 2 / tanHalf;
  const cy = H / 2;
  const { gain, grad, gAng, exposure, sigma, lampsOff } = checkConditions(conditions);
  const light = lightField(world, lampsOff, conditions.lightSeed ?? 0);
  const lightData = light.data, lightW = light.w, lightH = light.h;

  const s = scratch(W, H, exposure, grad, gAng, gain);
  const { vx, vy, gx, gy, lut, rowDist, rowShade } = s;
  // Floor and ceiling depth depend on the row only: distance and distance shading once per row.
  for (let y = 0; y < H; y++) {
    const dy = y + 0.5 - cy;
    const d = dy > 0 ? (camH * f) / dy : dy < 0 ? ((wallH - camH) * f) / -dy : 1e6;
    rowDist[y] = d;
    rowShade[y] = (Math.exp(-d / 14) * 1.05 + 0.05) * vy[y];
  }
  const floor = world.floor, floorW = world.floorW, floorH = world.floorH;
  const ceil = world.ceil, ceilW = world.ceilW, ceilH = world.ceilH;

  const posX = pose.x, posY = pose.y;
  const dirX = Math.cos(pose.heading), dirY = Math.sin(pose.heading);
  const planeX = Math.sin(pose.heading) * tanHalf, planeY = -Math.cos(pose.heading) * tanHalf;
  const mapX0 = Math.floor(posX), mapY0 = Math.floor(posY);
  const rowStride = W * 3;

  for (let x = 0; x < W; x++) {
    const camX = (2 * (x + 0.5)) / W - 1;
    const rdx = dirX + planeX * camX, rdy = dirY + planeY * camX;
    let mapX = mapX0, mapY = mapY0;
    const ddx = rdx === 0 ? 1e30 : Math.abs(1 / rdx), ddy = rdy === 0 ? 1e30 : Math.abs(1 / rdy);
    let stepX: number, stepY: number, sdx: number, sdy: number;
    if (rdx < 0) stepX = -1, sdx = (posX - mapX) * ddx;
    else stepX = 1, sdx = (mapX + 1 - posX) * ddx;
    if (rdy < 0) stepY = -1, sdy = (posY - mapY) * ddy;
    else stepY = 1, sdy = (mapY + 1 - posY) * ddy;
    let side = 0;
    let guard = 0;
    while (guard++ < 4096) {
      if (sdx < sdy) sdx += ddx, mapX += stepX, side = 0;
      else sdy += ddy, mapY += stepY, side = 1;
      if (mapX < 0 || mapY < 0 || mapX >= gw || mapY >= plan.height) break;
      if (cells[mapY * gw + mapX] !== 0) break;
    }
    const perp = Math.max(1e-3, side === 0 ? sdx - ddx : sdy - ddy);
    let u: number, faceSide: number;
    if (side === 0) {
      const wy = posY + perp * rdy;
      const fr = wy - Math.floor(wy);
      if (stepX > 0) faceSide = 0, u = 1 - fr;
      else faceSide = 1, u = fr;
    } else {
      const wx = posX + perp * rdx;
      const fr = wx - Math.floor(wx);
      if (stepY > 0) faceSide = 2, u = fr;
      else faceSide = 3, u = 1 - fr;
    }
    const inGrid = mapX >= 0 && mapY >= 0 && mapX < gw && mapY < plan.height;
    const face = inGrid ? faceOf[(mapY * gw + mapX) * 4 + faceSide] : -1;
    let tu = Math.floor(u * texW);
    if (tu >= texW) tu = texW - 1;
    const texBase = face >= 0 ? (slots[face] * texW + tu) * texH * 3 : -1;

    const top = cy - ((wallH - camH) * f) / perp;
    const bottom = cy + (camH * f) / perp;
    const yTop = Math.max(0, Math.min(H, Math.ceil(top - 0.5)));
    const yBot = Math.max(0, Math.min(H, Math.ceil(bottom - 0.5)));
    const wallShade = (Math.exp(-perp / 14) * 1.05 + 0.05) * (side === 1 ? 0.82 : 1);
    let lx = Math.floor((posX + rdx * perp * 0.97) * LIGHT_CELLS_PER_M);
    let ly = Math.floor((posY + rdy * perp * 0.97) * LIGHT_CELLS_PER_M);
    lx = lx < 0 ? 0 : lx >= lightW ? lightW - 1 : lx;
    ly = ly < 0 ? 0 : ly >= lightH ? lightH - 1 : ly;
    const wallLight = lightData[ly * lightW + lx];
    const A = vx[x], B = gain + gx[x];
    let o = x * 3;

    // Ceiling.
    for (let y = 0; y < yTop; y++, o += rowStride) {
      const d = rowDist[y];
      let tx = Math.floor((posX + rdx * d) * CEIL_TEXELS_PER_M),
        ty = Math.floor((posY + rdy * d) * CEIL_TEXELS_PER_M);
      if (tx < 0) tx = 0;
      else if (tx >= ceilW) tx = ceilW - 1;
      if (ty < 0) ty = 0;
      else if (ty >= ceilH) ty = ceilH - 1;
      const t = (ty * ceilW + tx) * 3;
      const li = (ty >> CEIL_TO_LIGHT) * lightW + (tx >> CEIL_TO_LIGHT);
      const k = rowShade[y] * A * (B + gy[y]) * (0.5 + 0.5 * lightData[li]);
      data[o] = lut[(ceil[t] * k) | 0];
      data[o + 1] = lut[(ceil[t + 1] * k) | 0];
      data[o + 2] = lut[(ceil[t + 2] * k) | 0];
    }
    // Wall: texture row is linear in screen y for a vertical wall (perspective-correct per column).
    const vScale = texH / (bottom - top);
    for (let y = yTop; y < yBot; y++, o += rowStride) {
      const k = wallShade * wallLight * A * (B + gy[y]) * vy[y];
      if (texBase < 0) {
        data[o] = data[o + 1] = data[o + 2] = lut[(60 * k) | 0];
        continue;
      }
      let tv = ((y + 0.5 - top) * vScale) | 0;
      if (tv >= texH) tv = texH - 1;
      const t = texBase + tv * 3;
      data[o] = lut[(atlas[t] * k) | 0];
      data[o + 1] = lut[(atlas[t + 1] * k) | 0];
      data[o + 2] = lut[(atlas[t + 2] * k) | 0];
    }
    // Floor.
    for (let y = yBot; y < H; y++, o += rowStride) {
      const d = rowDist[y];
      let tx = Math.floor((posX + rdx * d) * FLOOR_TEXELS_PER_M),
        ty = Math.floor((posY + rdy * d) * FLOOR_TEXELS_PER_M);
      if (tx < 0) tx = 0;
      else if (tx >= floorW) tx = floorW - 1;
      if (ty < 0) ty = 0;
      else if (ty >= floorH) ty = floorH - 1;
      const t = (ty * floorW + tx) * 3;
      const li = (ty >> FLOOR_TO_LIGHT) * lightW + (tx >> FLOOR_TO_LIGHT);
      const k = rowShade[y] * A * (B + gy[y]) * lightData[li];
      data[o] = lut[(floor[t] * k) | 0];
      data[o + 1] = lut[(floor[t + 1] * k) | 0];
      data[o + 2] = lut[(floor[t + 2] * k) | 0];
    }
  }

  if (sigma > 0) addNoise(data, sigma, conditions.noiseSeed ?? 0);
  return { width: W, height: H, channels: 3, data };
}

function checkConditions(c: RenderConditions) {
  const action = "render a simulated frame";
  const check = (field: string, value: number, min: number, max: number) => {
    if (typeof value !== "number" || !(value >= min && value <= max)) {
      throw invalid(action, field, `a number in [${min}, ${max}]`, value);
    }
    return value;
  };
  return {
    gain: check("gain", c.gain ?? 1, 0, 4),
    grad: check("gradient", c.gradient ?? 0, -0.7, 0.7),
    gAng: check("gradientAngle", c.gradientAngle ?? 0, -1e6, 1e6),
    exposure: check("exposure", c.exposure ?? 1, 0.05, 8),
    sigma: check("noise", c.noise ?? 0, 0, 100),
    lampsOff: check("lampsOff", c.lampsOff ?? 0, 0, 1),
  };
}

/** Add seeded Gaussian noise (standard deviation `sigma` grey levels) in place. */
export function addNoise(data: Uint8Array, sigma: number, seed: number): void {
  let state = hash32(seed ^ 0x2545f491) | 1;
  const table = new Float32Array(NOISE_TABLE.length);
  for (let i = 0; i < table.length; i++) table[i] = NOISE_TABLE[i] * sigma;
  // Writes through a clamped view round and saturate without branches.
  const px = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  const n = data.length - (data.length % 3);
  for (let i = 0; i < n; i += 3) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    px[i] = px[i] + table[state & 1023];
    px[i + 1] = px[i + 1] + table[(state >>> 10) & 1023];
    px[i + 2] = px[i + 2] + table[(state >>> 20) & 1023];
  }
}

let cached: { key: string; s: Scratch } | null = null;

function scratch(W: number, H: number, exposure: number, grad: number, gAng: number, gain: number): Scratch {
  const key = `${W}x${H}:${exposure}:${grad}:${gAng}:${gain}`;
  if (cached !== null && cached.key === key) return cached.s;
  const vx = new Float32Array(W),
    vy = new Float32Array(H),
    gx = new Float32Array(W),
    gy = new Float32Array(H);
  const c = Math.cos(gAng), sn = Math.sin(gAng);
  // Mild vignetting (separable) and a linear gradient (additive, scaled by gain).
  for (let x = 0; x < W; x++) {
    const nx = (2 * (x + 0.5)) / W - 1;
    vx[x] = 1 - 0.18 * nx * nx;
    gx[x] = gain * grad * c * nx;
  }
  for (let y = 0; y < H; y++) {
    const ny = (2 * (y + 0.5)) / H - 1;
    vy[y] = 1 - 0.18 * ny * ny;
    gy[y] = gain * grad * sn * ny;
  }
  const lut = new Uint8Array(LUT_SIZE);
  for (let i = 0; i < LUT_SIZE; i++) lut[i] = Math.round(255 * Math.min(1, response((i / 255) * exposure)));
  const s: Scratch = { vx, vy, gx, gy, rowDist: new Float32Array(H), rowShade: new Float32Array(H), lut };
  cached = { key, s };
  return s;
}
