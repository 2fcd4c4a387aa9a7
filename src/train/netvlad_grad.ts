/**
 * Forward and analytic backward of the NetVLAD head (Arandjelovic et al., CVPR 2016) with optional PCA
 * whitening, over a FIXED feature map (the front end or a frozen backbone): the training kernel.
 *
 * Forward, for one image with M = h*w positions of C channels:
 *  1. x_m <- x_m / ||x_m||                         (input L2 over channels; done once by {@linkcode prepareFeatures})
 *  2. a_km = w_k . x_m + b_k; s_km = softmax_k(a_km) (soft assignment: 1x1 convolution + softmax over K)
 *  3. V_k = sum_m s_km (x_m - c_k)                  (residual aggregation)
 *  4. U_k = V_k / ||V_k||                           (intra-normalisation)
 *  5. v = flatten(U) / ||flatten(U)||               (cluster-major, K*C, then L2)
 *  5b. optional power normalisation (as the default model): r = sign(v) sqrt(|v|); v <- r / ||r||
 *  6. optional whitening: y = P (v - mu); z = y / ||y||   (P: D' x KC)
 *
 * Backward returns dL/dW, dL/db, dL/dc, dL/dP, dL/dmu given dL/dz. Features are constant, so no gradient
 * flows into them. All loops are over contiguous rows (features are stored position-major, C-contiguous).
 *
 * @module
 */
import { invalid } from "../errors.ts";

/** Learnable parameters of the NetVLAD head plus optional whitening. Row-major Float64Arrays. */
export interface HeadParams {
  /** Number of clusters K. */
  K: number;
  /** Feature channels C. */
  C: number;
  /** Soft-assignment weights W, K x C. */
  weight: Float64Array;
  /** Soft-assignment biases b, K (zeros for a vladv1 initialisation). */
  bias: Float64Array;
  /** Cluster centres c, K x C. */
  centres: Float64Array;
  /** Signed square root + L2 of the VLAD vector before whitening (the default model's `powerNorm`). Default false. */
  powerNorm?: boolean;
  /** Optional PCA whitening on top of the L2-normalised VLAD vector. */
  whitening?: WhiteningParams;
}

/** Whitening: y = P (v - mean), then L2. */
export interface WhiteningParams {
  /** Output dimension D'. */
  outDim: number;
  /** Projection P, D' x (K*C), row-major (eigenvalue scaling folded in). */
  matrix: Float64Array;
  /** Mean mu, K*C. */
  mean: Float64Array;
}

/** A fixed feature map, L2-normalised per position, stored position-major: data[m*C + c]. */
export interface PreparedFeatures {
  C: number;
  /** Number of positions M = h*w. */
  M: number;
  data: Float32Array;
  /**
   * Per-position weight in [0, 1] scaling the soft assignment (the weighted NetVLAD layer of the default model:
   * each descriptor's length before normalisation, capped at 1). Absent: all 1 (the paper's layer).
   */
  weights?: Float32Array;
}

/** Gradients with the same shapes as {@linkcode HeadParams}. */
export interface HeadGradients {
  weight: Float64Array;
  bias: Float64Array;
  centres: Float64Array;
  whitening?: { matrix: Float64Array; mean: Float64Array };
}

/** Intermediate values of one forward pass, needed by {@linkcode headBackward}. */
export interface HeadForward {
  /** Soft assignment, K x M (cluster-major). */
  assign: Float64Array;
  /** Residual sums V, K x C. */
  residual: Float64Array;
  /** ||V_k|| per cluster (after the epsilon guard). */
  residualNorm: Float64Array;
  /** Normalised VLAD vector v, K*C. */
  vlad: Float64Array;
  /** ||flatten(U)||. */
  vladNorm: number;
  /** After power normalisation (when enabled): the unit vector fed to whitening, and ||sign(v) sqrt|v|||. */
  powered?: Float64Array;
  poweredNorm?: number;
  /** Whitened (pre-L2) y, D', when whitening is present. */
  projected?: Float64Array;
  projectedNorm?: number;
  /** The output descriptor z (v without whitening). */
  output: Float64Array;
}

const EPS = 1e-12;
/** Floor on |v| in the power-normalisation derivative 1 / (2 sqrt|v|) (infinite at 0). */
const POWER_EPS = 1e-8;

/**
 * Convert an NCHW feature map of one image ([C, h, w], channel-major as an ONNX output) to the position-major,
 * per-position L2-normalised layout the kernels use. Do it once per image and cache the result.
 *
 * @example
 * ```ts
 * import { prepareFeatures } from "./netvlad_grad.ts";
 * const f = prepareFeatures(new Float32Array([3, 0, 4, 1]), 2, 2); // C=2, M=2: positions (3,4) and (0,1)
 * console.assert(Math.abs(f.data[0] - 0.6) < 1e-6 && f.data[3] === 1);
 * ```
 */
export function prepareFeatures(chw: Float32Array | Float64Array, C: number, M: number): PreparedFeatures {
  if (chw.length !== C * M) throw invalid("prepare features", "data.length", `C*M = ${C * M}`, chw.length);
  const data = new Float32Array(C * M);
  for (let m = 0; m < M; m++) {
    let n = 0;
    for (let c = 0; c < C; c++) {
      const v = chw[c * M + m];
      n += v * v;
    }
    const inv = 1 / Math.max(Math.sqrt(n), EPS);
    const o = m * C;
    for (let c = 0; c < C; c++) data[o + c] = chw[c * M + m] * inv;
  }
  return { C, M, data };
}

/** Same as {@linkcode prepareFeatures} for descriptors already position-major (HWC), e.g. DenseLocalFeatures. */
export function prepareFeaturesHwc(hwc: Float32Array | Float64Array, C: number, M: number): PreparedFeatures {
  if (hwc.length !== C * M) throw invalid("prepare features", "data.length", `C*M = ${C * M}`, hwc.length);
  const data = new Float32Array(C * M);
  for (let m = 0; m < M; m++) {
    const o = m * C;
    let n = 0;
    for (let c = 0; c < C; c++) n += hwc[o + c] * hwc[o + c];
    const inv = 1 / Math.max(Math.sqrt(n), EPS);
    for (let c = 0; c < C; c++) data[o + c] = hwc[o + c] * inv;
  }
  return { C, M, data };
}

/** Output descriptor length of the head (D' with whitening, K*C without). */
export function headOutputDim(p: HeadParams): number {
  return p.whitening ? p.whitening.outDim : p.K * p.C;
}

/** Check the shapes of head parameters; throws a ValidationError naming the field. */
export function validateHeadParams(p: HeadParams): void {
  const act = "use NetVLAD head parameters";
  if (!Number.isInteger(p.K) || p.K <= 0) throw invalid(act, "K", "a positive integer", p.K);
  if (!Number.isInteger(p.C) || p.C <= 0) throw invalid(act, "C", "a positive integer", p.C);
  if (p.weight.length !== p.K * p.C) {
    throw invalid(act, "weight.length", `K*C = ${p.K * p.C}`, p.weight.length);
  }
  if (p.bias.length !== p.K) throw invalid(act, "bias.length", `K = ${p.K}`, p.bias.length);
  if (p.centres.length !== p.K * p.C) {
    throw invalid(act, "centres.length", `K*C = ${p.K * p.C}`, p.centres.length);
  }
  if (p.whitening) {
    const w = p.whitening;
    const KC = p.K * p.C;
    if (!Number.isInteger(w.outDim) || w.outDim <= 0) {
      throw invalid(act, "whitening.outDim", "a positive integer", w.outDim);
    }
    if (w.matrix.length !== w.outDim * KC) {
      throw invalid(act, "whitening.matrix.length", `outDim*K*C = ${w.outDim * KC}`, w.matrix.length);
    }
    if (w.mean.length !== KC) throw invalid(act, "whitening.mean.length", `K*C = ${KC}`, w.mean.length);
  }
}

/** Zero-filled gradients shaped like `p`. */
export function zeroGradients(p: HeadParams): HeadGradients {
  return {
    weight: new Float64Array(p.weight.length),
    bias: new Float64Array(p.bias.length),
    centres: new Float64Array(p.centres.length),
    whitening: p.whitening
      ? {
        matrix: new Float64Array(p.whitening.matrix.length),
        mean: new Float64Array(p.whitening.mean.length),
      }
      : undefined,
  };
}

/** Deep copy of head parameters. */
export function cloneHeadParams(p: HeadParams): HeadParams {
  return {
    K: p.K,
    C: p.C,
    weight: p.weight.slice(),
    bias: p.bias.slice(),
    centres: p.centres.slice(),
    powerNorm: p.powerNorm,
    whitening: p.whitening
      ? { outDim: p.whitening.outDim, matrix: p.whitening.matrix.slice(), mean: p.whitening.mean.slice() }
      : undefined,
  };
}

/**
 * The parameter tensors in a fixed order (weight, bias, centres[, whitening matrix, whitening mean]): the order
 * optimizers and checkpoints use.
 */
export function paramTensors(p: HeadParams): Float64Array[] {
  const t = [p.weight, p.bias, p.centres];
  if (p.whitening) t.push(p.whitening.matrix, p.whitening.mean);
  return t;
}

/** Gradient tensors in the order of {@linkcode paramTensors}. */
export function gradTensors(g: HeadGradients): Float64Array[] {
  const t = [g.weight, g.bias, g.centres];
  if (g.whitening) t.push(g.whitening.matrix, g.whitening.mean);
  return t;
}

/**
 * Forward pass of the head on one prepared feature map, keeping what the backward pass needs.
 *
 * @example
 * ```ts
 * import { headForward, prepareFeatures } from "./netvlad_grad.ts";
 * const f = prepareFeatures(new Float32Array([1, 0, 0, 1]), 2, 2);
 * const p = { K: 1, C: 2, weight: new Float64Array(2), bias: new Float64Array(1), centres: new Float64Array(2) };
 * const out = headForward(p, f).output; // one cluster: normalised sum of residuals
 * console.assert(Math.abs(out[0] - Math.SQRT1_2) < 1e-9);
 * ```
 */
export function headForward(p: HeadParams, f: PreparedFeatures): HeadForward {
  const { K, C } = p;
  if (f.C !== C) throw invalid("run the NetVLAD head", "features.C", `the head's C = ${C}`, f.C);
  const M = f.M;
  const x = f.data;
  const W = p.weight;
  const b = p.bias;
  const cen = p.centres;
  const assign = new Float64Array(K * M);
  const residual = new Float64Array(K * C);
  const sumS = new Float64Array(K);
  const logits = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    const xo = m * C;
    let mx = -Infinity;
    let k = 0;
    // four clusters at a time: each feature value is loaded once for four dot products
    for (; k + 3 < K; k += 4) {
      const w0 = k * C, w1 = w0 + C, w2 = w1 + C, w3 = w2 + C;
      let a0 = b[k], a1 = b[k + 1], a2 = b[k + 2], a3 = b[k + 3];
      for (let c = 0; c < C; c++) {
        const xv = x[xo + c];
        a0 += W[w0 + c] * xv;
        a1 += W[w1 + c] * xv;
        a2 += W[w2 + c] * xv;
        a3 += W[w3 + c] * xv;
      }
      logits[k] = a0;
      logits[k + 1] = a1;
      logits[k + 2] = a2;
      logits[k + 3] = a3;
      mx = Math.max(mx, a0, a1, a2, a3);
    }
    for (; k < K; k++) {
      const wo = k * C;
      let a = b[k];
      for (let c = 0; c < C; c++) a += W[wo + c] * x[xo + c];
      logits[k] = a;
      if (a > mx) mx = a;
    }
    let z = 0;
    for (let k = 0; k < K; k++) {
      const e = Math.exp(logits[k] - mx);
      logits[k] = e;
      z += e;
    }
    const iz = (f.weights ? f.weights[m] : 1) / z;
    for (let k = 0; k < K; k++) {
      const s = logits[k] * iz;
      logits[k] = s;
      assign[k * M + m] = s;
      sumS[k] += s;
    }
    // residual[k] += s_k x_m
    addOuter(residual, logits, K, x, xo, C);
  }
  const residualNorm = new Float64Array(K);
  const vlad = new Float64Array(K * C);
  let total = 0;
  for (let k = 0; k < K; k++) {
    const ro = k * C;
    const sk = sumS[k];
    let n = 0;
    for (let c = 0; c < C; c++) {
      const v = residual[ro + c] - sk * cen[ro + c];
      residual[ro + c] = v;
      n += v * v;
    }
    const nk = Math.max(Math.sqrt(n), EPS);
    residualNorm[k] = nk;
    for (let c = 0; c < C; c++) {
      const u = residual[ro + c] / nk;
      vlad[ro + c] = u;
      total += u * u;
    }
  }
  const vladNorm = Math.max(Math.sqrt(total), EPS);
  for (let i = 0; i < vlad.length; i++) vlad[i] /= vladNorm;
  const KC = K * C;
  let powered: Float64Array | undefined;
  let poweredNorm: number | undefined;
  if (p.powerNorm) {
    powered = new Float64Array(KC);
    let pn = 0;
    for (let i = 0; i < KC; i++) {
      const r = Math.sign(vlad[i]) * Math.sqrt(Math.abs(vlad[i]));
      powered[i] = r;
      pn += r * r;
    }
    poweredNorm = Math.max(Math.sqrt(pn), EPS);
    for (let i = 0; i < KC; i++) powered[i] /= poweredNorm;
  }
  const head = powered ?? vlad;
  if (!p.whitening) {
    return { assign, residual, residualNorm, vlad, vladNorm, powered, poweredNorm, output: head };
  }
  const { outDim, matrix, mean } = p.whitening;
  const centred = new Float64Array(KC);
  for (let i = 0; i < KC; i++) centred[i] = head[i] - mean[i];
  const projected = new Float64Array(outDim);
  let yn = 0;
  for (let d = 0; d < outDim; d++) {
    const po = d * KC;
    let s = 0;
    for (let i = 0; i < KC; i++) s += matrix[po + i] * centred[i];
    projected[d] = s;
    yn += s * s;
  }
  const projectedNorm = Math.max(Math.sqrt(yn), EPS);
  const output = new Float64Array(outDim);
  for (let d = 0; d < outDim; d++) output[d] = projected[d] / projectedNorm;
  return {
    assign,
    residual,
    residualNorm,
    vlad,
    vladNorm,
    powered,
    poweredNorm,
    projected,
    projectedNorm,
    output,
  };
}

/** The head's output descriptor for one prepared feature map, as Float32 (what an ONNX export would give). */
export function headDescribe(p: HeadParams, f: PreparedFeatures): Float32Array {
  return Float32Array.from(headForward(p, f).output);
}

/** Back-propagate dL/dz through L2 normalisation: dx = (dz - z (z . dz)) / ||x||. */
/**
 * `out[k][c] += a[k] * x[xo + c]` for the K x C row-major `out` (a rank-1 update), four rows per pass over x;
 * rows whose coefficient is 0 are skipped.
 */
function addOuter(
  out: Float64Array,
  a: Float64Array,
  K: number,
  x: Float32Array | Float64Array,
  xo: number,
  C: number,
): void {
  let k = 0;
  for (; k + 3 < K; k += 4) {
    const a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
    if (a0 === 0 && a1 === 0 && a2 === 0 && a3 === 0) continue;
    const o0 = k * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
    for (let c = 0; c < C; c++) {
      const xv = x[xo + c];
      out[o0 + c] += a0 * xv;
      out[o1 + c] += a1 * xv;
      out[o2 + c] += a2 * xv;
      out[o3 + c] += a3 * xv;
    }
  }
  for (; k < K; k++) {
    const ak = a[k];
    if (ak === 0) continue;
    const o = k * C;
    for (let c = 0; c < C; c++) out[o + c] += ak * x[xo + c];
  }
}

function l2Backward(z: Float64Array, dz: Float64Array, norm: number, out: Float64Array): void {
  let dot = 0;
  for (let i = 0; i < z.length; i++) dot += z[i] * dz[i];
  for (let i = 0; i < z.length; i++) out[i] = (dz[i] - z[i] * dot) / norm;
}

/**
 * Backward pass: accumulate (+=) into `grads` the gradient of a scalar loss with respect to every head
 * parameter, given dL/d(output) for one image and its forward intermediates.
 */
export function headBackward(
  p: HeadParams,
  f: PreparedFeatures,
  fw: HeadForward,
  dOutput: ArrayLike<number>,
  grads: HeadGradients,
): void {
  const { K, C } = p;
  const M = f.M;
  const KC = K * C;
  const x = f.data;
  const dz = Float64Array.from(dOutput);
  // d v (normalised VLAD vector)
  let dv: Float64Array;
  if (p.whitening) {
    const { outDim, matrix, mean } = p.whitening;
    const gw = grads.whitening!;
    const dy = new Float64Array(outDim);
    l2Backward(fw.output, dz, fw.projectedNorm!, dy);
    dv = new Float64Array(KC);
    const centred = new Float64Array(KC);
    const head = fw.powered ?? fw.vlad;
    for (let i = 0; i < KC; i++) centred[i] = head[i] - mean[i];
    for (let d = 0; d < outDim; d++) {
      const g = dy[d];
      if (g === 0) continue;
      const po = d * KC;
      for (let i = 0; i < KC; i++) {
        gw.matrix[po + i] += g * centred[i];
        dv[i] += g * matrix[po + i];
      }
    }
    for (let i = 0; i < KC; i++) gw.mean[i] -= dv[i];
  } else {
    dv = dz;
  }
  if (fw.powered) {
    // w = r / ||r||, r_i = sign(v_i) sqrt|v_i|: dr = (dw - w (w . dw)) / ||r||; dv_i = dr_i / (2 sqrt|v_i|)
    const dr = new Float64Array(KC);
    l2Backward(fw.powered, dv, fw.poweredNorm!, dr);
    const out = new Float64Array(KC);
    for (let i = 0; i < KC; i++) out[i] = dr[i] / (2 * Math.sqrt(Math.max(Math.abs(fw.vlad[i]), POWER_EPS)));
    dv = out;
  }
  // through the global L2: u = flatten(U), v = u / ||u||
  const du = new Float64Array(KC);
  l2Backward(fw.vlad, dv, fw.vladNorm, du);
  // through intra-normalisation: U_k = V_k / ||V_k||; U_k = v_k * vladNorm
  const dV = new Float64Array(KC);
  for (let k = 0; k < K; k++) {
    const o = k * C;
    const nk = fw.residualNorm[k];
    let dot = 0;
    for (let c = 0; c < C; c++) dot += fw.vlad[o + c] * fw.vladNorm * du[o + c];
    for (let c = 0; c < C; c++) dV[o + c] = (du[o + c] - fw.vlad[o + c] * fw.vladNorm * dot) / nk;
  }
  // V_k = sum_m s_km x_m - (sum_m s_km) c_k
  // dc_k = -(sum_m s_km) dV_k ; ds_km = dV_k . x_m - dV_k . c_k
  const dVc = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const o = k * C;
    let d = 0;
    for (let c = 0; c < C; c++) d += dV[o + c] * p.centres[o + c];
    dVc[k] = d;
  }
  const s = fw.assign;
  const ds = new Float64Array(K);
  const gW = grads.weight;
  const gb = grads.bias;
  const gc = grads.centres;
  const sumS = new Float64Array(K);
  const sm = new Float64Array(K);
  const da = new Float64Array(K);
  for (let m = 0; m < M; m++) {
    const xo = m * C;
    let mean = 0;
    for (let k = 0; k < K; k++) {
      const skm = s[k * M + m];
      sm[k] = skm;
      sumS[k] += skm;
    }
    // ds_k = dV_k . x_m - dV_k . c_k, four clusters per pass over x_m
    let k = 0;
    for (; k + 3 < K; k += 4) {
      const o0 = k * C, o1 = o0 + C, o2 = o1 + C, o3 = o2 + C;
      let d0 = 0, d1 = 0, d2 = 0, d3 = 0;
      for (let c = 0; c < C; c++) {
        const xv = x[xo + c];
        d0 += dV[o0 + c] * xv;
        d1 += dV[o1 + c] * xv;
        d2 += dV[o2 + c] * xv;
        d3 += dV[o3 + c] * xv;
      }
      ds[k] = d0 - dVc[k];
      ds[k + 1] = d1 - dVc[k + 1];
      ds[k + 2] = d2 - dVc[k + 2];
      ds[k + 3] = d3 - dVc[k + 3];
    }
    for (; k < K; k++) {
      const o = k * C;
      let d = 0;
      for (let c = 0; c < C; c++) d += dV[o + c] * x[xo + c];
      ds[k] = d - dVc[k];
    }
    for (let j = 0; j < K; j++) mean += sm[j] * ds[j];
    // With a position weight w the stored assignment is w s: da = w s (ds - sum s ds) = sm (ds - mean / w).
    const wm = f.weights ? f.weights[m] : 1;
    mean = wm > 0 ? mean / wm : 0;
    // softmax backward: da_km = s_km (ds_km - sum_k' s_k'm ds_k'm)
    for (let j = 0; j < K; j++) {
      const v = sm[j] * (ds[j] - mean);
      da[j] = v;
      gb[j] += v;
    }
    addOuter(gW, da, K, x, xo, C);
  }
  for (let k = 0; k < K; k++) {
    const o = k * C;
    const sk = sumS[k];
    for (let c = 0; c < C; c++) gc[o + c] -= sk * dV[o + c];
  }
}
