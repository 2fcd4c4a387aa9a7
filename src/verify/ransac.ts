/**
 * Geometric verification kernel: RANSAC over tentative correspondences with an affine model (3-point minimal
 * sample, DELF's choice) or a homography (4 points, normalised DLT), refit on the inliers. Deterministic
 * given a seed (mulberry32 from `src/_rng.ts`); degenerate samples (collinear or repeated points) are
 * rejected; early exit on the standard confidence bound N = log(1 - p) / log(1 - w^s). Pure: typed arrays
 * in, plain objects out.
 *
 * @module
 */
import type { ImageTransform } from "../types.ts";
import { invalid } from "../errors.ts";
import { mulberry32 } from "../_rng.ts";
import { solveLinear, symmetricEigen } from "../kernels/linalg.ts";

/** Options of {@link ransac}. */
export interface RansacOptions {
  /** Transform model. Default `"affine"`. */
  model?: "affine" | "homography";
  /** Inlier residual in pixels of the destination (keyframe) image. Default 20 (DELF). */
  threshold?: number;
  /** Maximum number of hypotheses drawn. Default 1000. */
  maxIterations?: number;
  /** Confidence p of the early-exit bound. Default 0.999. */
  confidence?: number;
  /** PRNG seed; the same seed and input give the same result. Default 0. */
  seed?: number;
  /** Refit the model on the inliers (least squares) and recount. Default true. */
  refit?: boolean;
  /**
   * Local optimisation (LO-RANSAC): each time a hypothesis beats the best so far, refit it on its inliers by
   * least squares and recount, up to this many times while the count grows. Default 0 (off).
   */
  localOptimization?: number;
  /**
   * Reject hypotheses no camera motion between two views of a scene produces: a mirror (negative
   * determinant of the linear part), an area scale change beyond `maxScale` (either way), or an anisotropy
   * (ratio of singular values) beyond `maxAnisotropy`. Checked on the linear part (the homography's at the
   * origin). Default: no limit.
   */
  plausible?: { maxScale: number; maxAnisotropy: number };
}

/** Outcome of {@link ransac}. */
export interface RansacResult {
  /** True when a model with at least `minimal sample` inliers was found. */
  ok: boolean;
  /** Number of inliers of the returned transform. */
  inliers: number;
  /** 1 for each correspondence that is an inlier. */
  inlierMask: Uint8Array;
  /** Query -> candidate transform (row-major 3x3), when ok. */
  transform?: ImageTransform;
  /** Score of the model: the inlier count. */
  score: number;
  /** Hypotheses drawn (stops early on the confidence bound). */
  iterations: number;
  /** Samples rejected as degenerate. */
  degenerateSamples: number;
  /** Why no model was found, when not ok. */
  reason?: string;
}

const DEFAULTS: Required<RansacOptions> = {
  model: "affine",
  threshold: 20,
  maxIterations: 1000,
  confidence: 0.999,
  seed: 0,
  refit: true,
  localOptimization: 0,
  plausible: { maxScale: Infinity, maxAnisotropy: Infinity },
};

/** Whether the linear part of `h` is a plausible view change (see {@link RansacOptions.plausible}). */
export function plausibleTransform(h: ArrayLike<number>, maxScale: number, maxAnisotropy: number): boolean {
  const a = h[0], b = h[1], d = h[3], e = h[4];
  const det = a * e - b * d;
  if (!(det > 0)) return false;
  if (maxScale === Infinity && maxAnisotropy === Infinity) return true;
  if (det > maxScale * maxScale || det * maxScale * maxScale < 1) return false;
  // Singular values s1 >= s2: s1^2 + s2^2 = |A|_F^2, s1 s2 = det.
  const f = a * a + b * b + d * d + e * e;
  const disc = Math.sqrt(Math.max(0, f * f - 4 * det * det));
  const s1 = Math.sqrt((f + disc) / 2), s2 = det / s1;
  return s1 <= maxAnisotropy * s2;
}

/**
 * Number of RANSAC iterations needed so that, with probability `p`, at least one all-inlier sample of size
 * `s` was drawn when the inlier ratio is `w`: N = log(1 - p) / log(1 - w^s).
 */
export function requiredIterations(p: number, w: number, s: number): number {
  if (w <= 0) return Infinity;
  if (w >= 1) return 0;
  const ws = Math.pow(w, s);
  const denom = Math.log(1 - ws);
  if (denom === 0) return Infinity;
  return Math.ceil(Math.log(1 - p) / denom);
}

function validate(
  n: number,
  src: Float32Array | Float64Array,
  dst: Float32Array | Float64Array,
  o: Required<RansacOptions>,
) {
  const action = "run RANSAC";
  if (src.length !== dst.length || src.length % 2 !== 0) {
    throw invalid(action, "dst", `an x,y array as long as src (${src.length})`, dst.length);
  }
  if (o.model !== "affine" && o.model !== "homography") {
    throw invalid(action, "model", `"affine" or "homography"`, o.model);
  }
  if (!(o.threshold > 0) || !Number.isFinite(o.threshold)) {
    throw invalid(action, "threshold", "a positive number", o.threshold);
  }
  if (!Number.isInteger(o.maxIterations) || o.maxIterations <= 0) {
    throw invalid(action, "maxIterations", "a positive integer", o.maxIterations);
  }
  if (!(o.confidence > 0 && o.confidence < 1)) {
    throw invalid(action, "confidence", "a number in (0, 1)", o.confidence);
  }
  if (!Number.isInteger(o.localOptimization) || o.localOptimization < 0) {
    throw invalid(action, "localOptimization", "an integer >= 0", o.localOptimization);
  }
  if (!(o.plausible?.maxScale >= 1) || !(o.plausible?.maxAnisotropy >= 1)) {
    throw invalid(action, "plausible", "{ maxScale >= 1, maxAnisotropy >= 1 }", JSON.stringify(o.plausible));
  }
  void n;
}

/** Twice the signed area of triangle (a, b, c) of points in `p` (x,y pairs). */
function area2(p: ArrayLike<number>, a: number, b: number, c: number): number {
  const ax = p[2 * a], ay = p[2 * a + 1];
  return (p[2 * b] - ax) * (p[2 * c + 1] - ay) - (p[2 * b + 1] - ay) * (p[2 * c] - ax);
}

/** Collinearity test scaled by the triangle's extent: |area| small relative to its longest side squared. */
function nearlyCollinear(p: ArrayLike<number>, a: number, b: number, c: number): boolean {
  const d2 = (i: number, j: number) => (p[2 * i] - p[2 * j]) ** 2 + (p[2 * i + 1] - p[2 * j + 1]) ** 2;
  const longest = Math.max(d2(a, b), d2(b, c), d2(a, c));
  if (longest < 1) return true; // points (almost) coincide
  return Math.abs(area2(p, a, b, c)) < 0.01 * longest;
}

/** Affine (6 dof) from exactly the given correspondences by least squares; null when degenerate. */
function fitAffine(
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  idx: ArrayLike<number>,
  count: number,
): Float64Array | null {
  // Normal equations of [x y 1] rows (3x3), shared by both output coordinates.
  const ata = new Float64Array(9);
  const atbx = new Float64Array(3);
  const atby = new Float64Array(3);
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    const x = src[2 * i], y = src[2 * i + 1];
    const u = dst[2 * i], v = dst[2 * i + 1];
    ata[0] += x * x, ata[1] += x * y, ata[2] += x;
    ata[4] += y * y, ata[5] += y, ata[8] += 1;
    atbx[0] += x * u, atbx[1] += y * u, atbx[2] += u;
    atby[0] += x * v, atby[1] += y * v, atby[2] += v;
  }
  ata[3] = ata[1], ata[6] = ata[2], ata[7] = ata[5];
  const px = solveLinear(ata, atbx, 3, 1e-10);
  const py = solveLinear(ata, atby, 3, 1e-10);
  if (!px || !py) return null;
  return new Float64Array([px[0], px[1], px[2], py[0], py[1], py[2], 0, 0, 1]);
}

/** Hartley normalisation of a subset: centroid to origin, mean distance sqrt(2). Returns [s, tx, ty]. */
function normaliser(p: ArrayLike<number>, idx: ArrayLike<number>, count: number): [number, number, number] {
  let cx = 0, cy = 0;
  for (let k = 0; k < count; k++) cx += p[2 * idx[k]], cy += p[2 * idx[k] + 1];
  cx /= count, cy /= count;
  let d = 0;
  for (let k = 0; k < count; k++) d += Math.hypot(p[2 * idx[k]] - cx, p[2 * idx[k] + 1] - cy);
  d /= count;
  const s = d > 1e-12 ? Math.SQRT2 / d : 1;
  return [s, -s * cx, -s * cy];
}

/** Compose H = T_dst^-1 * Hn * T_src and scale so h33 = 1; null when not finite. */
function denormalise(
  hn: ArrayLike<number>,
  ns: [number, number, number],
  nd: [number, number, number],
): Float64Array | null {
  const [ss, stx, sty] = ns;
  const [ds, dtx, dty] = nd;
  // Hn * Ts
  const ts = [ss, 0, stx, 0, ss, sty, 0, 0, 1];
  const m = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      m[r * 3 + c] = hn[r * 3] * ts[c] + hn[r * 3 + 1] * ts[3 + c] + hn[r * 3 + 2] * ts[6 + c];
    }
  }
  // Td^-1 = [1/ds 0 -dtx/ds; 0 1/ds -dty/ds; 0 0 1]
  const inv = [1 / ds, 0, -dtx / ds, 0, 1 / ds, -dty / ds, 0, 0, 1];
  const h = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      h[r * 3 + c] = inv[r * 3] * m[c] + inv[r * 3 + 1] * m[3 + c] + inv[r * 3 + 2] * m[6 + c];
    }
  }
  const w = h[8];
  if (Math.abs(w) < 1e-12) return null;
  for (let i = 0; i < 9; i++) {
    h[i] /= w;
    if (!Number.isFinite(h[i])) return null;
  }
  return h;
}

/** Homography from 4 correspondences: normalised DLT with h33 = 1, an 8x8 linear solve. */
function homographyMinimal(
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  idx: ArrayLike<number>,
): Float64Array | null {
  const ns = normaliser(src, idx, 4);
  const nd = normaliser(dst, idx, 4);
  const a = new Float64Array(64);
  const b = new Float64Array(8);
  for (let k = 0; k < 4; k++) {
    const i = idx[k];
    const x = ns[0] * src[2 * i] + ns[1], y = ns[0] * src[2 * i + 1] + ns[2];
    const u = nd[0] * dst[2 * i] + nd[1], v = nd[0] * dst[2 * i + 1] + nd[2];
    a.set([x, y, 1, 0, 0, 0, -u * x, -u * y], 16 * k);
    a.set([0, 0, 0, x, y, 1, -v * x, -v * y], 16 * k + 8);
    b[2 * k] = u;
    b[2 * k + 1] = v;
  }
  const h = solveLinear(a, b, 8, 1e-10);
  if (!h) return null;
  return denormalise([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1], ns, nd);
}

/** Homography from n >= 4 correspondences: normalised DLT, smallest eigenvector of the 9x9 AᵀA. */
function homographyLeastSquares(
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  idx: ArrayLike<number>,
  count: number,
): Float64Array | null {
  const ns = normaliser(src, idx, count);
  const nd = normaliser(dst, idx, count);
  const ata = new Float64Array(81);
  const r1 = new Float64Array(9), r2 = new Float64Array(9);
  for (let k = 0; k < count; k++) {
    const i = idx[k];
    const x = ns[0] * src[2 * i] + ns[1], y = ns[0] * src[2 * i + 1] + ns[2];
    const u = nd[0] * dst[2 * i] + nd[1], v = nd[0] * dst[2 * i + 1] + nd[2];
    r1.set([-x, -y, -1, 0, 0, 0, u * x, u * y, u]);
    r2.set([0, 0, 0, -x, -y, -1, v * x, v * y, v]);
    for (let p = 0; p < 9; p++) {
      const a1 = r1[p], a2 = r2[p];
      for (let q = p; q < 9; q++) ata[p * 9 + q] += a1 * r1[q] + a2 * r2[q];
    }
  }
  for (let p = 0; p < 9; p++) for (let q = 0; q < p; q++) ata[p * 9 + q] = ata[q * 9 + p];
  const { vectors } = symmetricEigen(ata, 9);
  return denormalise(vectors.subarray(72, 81), ns, nd);
}

/** Residuals under `h` (query -> candidate); marks inliers in `mask` and returns their count. */
function countInliers(
  h: Float64Array,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  n: number,
  thr2: number,
  mask: Uint8Array | null,
): number {
  const [a, b, c, d, e, f, g, k, l] = h;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const x = src[2 * i], y = src[2 * i + 1];
    let w = g * x + k * y + l;
    let ok = 0;
    if (w > 1e-9) {
      w = 1 / w;
      const du = (a * x + b * y + c) * w - dst[2 * i];
      const dv = (d * x + e * y + f) * w - dst[2 * i + 1];
      if (du * du + dv * dv <= thr2) ok = 1;
    }
    if (mask) mask[i] = ok;
    count += ok;
  }
  return count;
}

/** LO step: refit on the inliers and recount while the count grows (at most `o.localOptimization` times). */
function localOptimise(
  h: Float64Array,
  count: number,
  src: ArrayLike<number>,
  dst: ArrayLike<number>,
  n: number,
  thr2: number,
  o: Required<RansacOptions>,
): { h: Float64Array; count: number } {
  const mask = new Uint8Array(n);
  const idx = new Int32Array(n);
  countInliers(h, src, dst, n, thr2, mask);
  for (let step = 0; step < o.localOptimization; step++) {
    let k = 0;
    for (let i = 0; i < n; i++) if (mask[i]) idx[k++] = i;
    const refit = o.model === "affine"
      ? fitAffine(src, dst, idx, k)
      : homographyLeastSquares(src, dst, idx, k);
    if (!refit || !plausibleTransform(refit, o.plausible.maxScale, o.plausible.maxAnisotropy)) break;
    const mask2 = new Uint8Array(n);
    const c2 = countInliers(refit, src, dst, n, thr2, mask2);
    if (c2 <= count) break;
    h = refit, count = c2;
    mask.set(mask2);
  }
  return { h, count };
}

/**
 * Robustly fit a query -> candidate transform to correspondences `src[i] <-> dst[i]` (x,y pairs).
 *
 * @example
 * ```ts
 * import { ransac } from "./ransac.ts";
 * const src = new Float32Array([0, 0, 100, 0, 0, 100, 100, 100, 50, 50]);
 * const dst = src.map((v, i) => v + (i % 2 === 0 ? 10 : -5));
 * const r = ransac(src, dst, { model: "affine", threshold: 1, seed: 1 });
 * console.assert(r.ok && r.inliers === 5);
 * ```
 */
export function ransac(
  src: Float32Array | Float64Array,
  dst: Float32Array | Float64Array,
  options: RansacOptions = {},
): RansacResult {
  const o = { ...DEFAULTS, ...options };
  o.plausible = options.plausible ?? DEFAULTS.plausible;
  o.localOptimization = options.localOptimization ?? 0;
  const n = src.length / 2;
  validate(n, src, dst, o);
  const s = o.model === "affine" ? 3 : 4;
  const mask = new Uint8Array(n);
  const fail = (reason: string, iterations = 0, degenerateSamples = 0): RansacResult => ({
    ok: false,
    inliers: 0,
    inlierMask: mask,
    score: 0,
    iterations,
    degenerateSamples,
    reason,
  });
  if (n < s) return fail(`too few correspondences: ${n} < ${s}`);
  const rand = mulberry32(o.seed);
  const thr2 = o.threshold * o.threshold;
  const sample = new Int32Array(s);
  let best: Float64Array | null = null;
  let bestCount = 0;
  let needed = o.maxIterations;
  let it = 0;
  let degenerate = 0;
  // Cap the attempts so that all-degenerate inputs terminate.
  const maxAttempts = o.maxIterations * 3;
  for (let attempt = 0; attempt < maxAttempts && it < needed; attempt++) {
    for (let k = 0; k < s; k++) {
      let v: number;
      do v = Math.floor(rand() * n); while (sample.subarray(0, k).includes(v));
      sample[k] = v;
    }
    let bad = false;
    for (let p = 0; p < s && !bad; p++) {
      for (let q = p + 1; q < s && !bad; q++) {
        for (let r = q + 1; r < s && !bad; r++) {
          if (
            nearlyCollinear(src, sample[p], sample[q], sample[r]) ||
            nearlyCollinear(dst, sample[p], sample[q], sample[r])
          ) {
            bad = true;
          }
        }
      }
    }
    let h = bad ? null : s === 3 ? fitAffine(src, dst, sample, 3) : homographyMinimal(src, dst, sample);
    if (h && !plausibleTransform(h, o.plausible.maxScale, o.plausible.maxAnisotropy)) h = null;
    if (!h) {
      degenerate++;
      continue;
    }
    it++;
    let count = countInliers(h, src, dst, n, thr2, null);
    if (count > bestCount) {
      if (o.localOptimization > 0 && count > s) {
        const lo = localOptimise(h, count, src, dst, n, thr2, o);
        h = lo.h, count = lo.count;
      }
      bestCount = count;
      best = h;
      needed = Math.min(o.maxIterations, requiredIterations(o.confidence, count / n, s));
    }
  }
  if (!best || bestCount < s) {
    return fail(`no consistent ${o.model} found among ${n} correspondences`, it, degenerate);
  }
  let count = countInliers(best, src, dst, n, thr2, mask);
  if (o.refit && count > s) {
    const idx = new Int32Array(count);
    for (let i = 0, k = 0; i < n; i++) if (mask[i]) idx[k++] = i;
    const refit = o.model === "affine"
      ? fitAffine(src, dst, idx, count)
      : homographyLeastSquares(src, dst, idx, count);
    if (refit && plausibleTransform(refit, o.plausible.maxScale, o.plausible.maxAnisotropy)) {
      const mask2 = new Uint8Array(n);
      const c2 = countInliers(refit, src, dst, n, thr2, mask2);
      if (c2 >= count) {
        best = refit;
        count = c2;
        mask.set(mask2);
      }
    }
  }
  return {
    ok: true,
    inliers: count,
    inlierMask: mask,
    transform: { model: o.model, matrix: Array.from(best) },
    score: count,
    iterations: it,
    degenerateSamples: degenerate,
  };
}
