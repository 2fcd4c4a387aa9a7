/**
 * A training-free dense front end: dense SIFT (RootSIFT) expressed as ONNX convolutions, so that the
 * whole descriptor runs on any execution provider. The descriptor's layout, window, pooling weights and
 * normalisation are the shared definition in `src/kernels/sift.ts` (the verifier's SIFT computes the same).
 *
 * Steps, on a grey [N, 1, H, W] image in [0, 1]:
 * 1. border replication, then optional Gaussian smoothing (separable convolution);
 *    1b. noise-adaptive smoothing (optional, `denoise`): each image's noise sigma is estimated in the graph by
 *    Immerkaer's method made robust (median absolute response of the 3x3 Laplacian-difference kernel, on the
 *    image averaged 2 x 2 so that noise of an upsampled small frame is seen at its own scale), divided by the
 *    image's standard deviation (a ratio, so independent of gain and exposure), and the image becomes
 *    `x + a (blur(x) - x)` (blur: two box passes of about `denoiseSigma`) with
 *    `a = clip(ratio / denoise - 1, 0, 1)`: clean images are untouched, noisy ones are smoothed in
 *    proportion to their own noise. `denoise: "wiener"` sets `a` without a threshold: from the noise share
 *    of the finest band left after the base blur (robust noise power over total power of the
 *    Laplacian-difference response), 0 while that band holds more signal than noise, 1 when it is all noise
 *    ({@link wienerAmount});
 * 2. image gradients (central differences, fixed 3x3 kernels);
 * 3. orientation binning into 8 channels: mag * relu(cos(theta - theta_k) - cos(22.5deg)), a soft bin that
 *    vanishes half-way to the next bin, as one 1x1 convolution (with ReLU) over (gx, gy, mag);
 * 4. cell pooling with a triangular (bilinear) kernel of width 2 * cellSize, stride cellSize (depthwise conv);
 * 5. 4x4 neighbouring cells x 8 bins = 128-d at each grid point, each cell weighted by SIFT's Gaussian window:
 *    one dilated convolution over the cells laid out as rows of (cell, bin) pairs, then one transpose;
 * 6. SIFT normalisation (L2, clip at 0.2; optional) then RootSIFT (L1 normalise, sqrt), folded into one scale
 *    per descriptor. Patches whose gradient energy is below `contrastThreshold` are scaled down towards zero
 *    instead of amplified.
 * 7. Noise floor (optional, `noiseFloor`): each image's noise level is estimated as a low quantile of its own
 *    patch energies (the flattest patches of an image hold only sensor noise and compression artefacts), and a
 *    descriptor's length becomes its weight: 0 for patches within `noiseFloor` times that level, rising to 1
 *    at twice that. Unit-normalised, such patches would look like texture (a dark, noisy frame is otherwise
 *    described as "granite everywhere"); the weighted NetVLAD layer then lets them count for nothing. The
 *    unit descriptors and the weights are also returned apart ({@link addDenseSiftParts}) so that the layer
 *    does not normalise the weighted descriptors again.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { binAngle, cellWeight, SIFT_BINS, SIFT_CELLS, SIFT_CLIP, SIFT_WINDOW } from "../kernels/sift.ts";
import type { GraphBuilder } from "./graph_builder.ts";

/** Options of the dense SIFT front end. */
export interface DenseSiftOptions {
  /** Cell side in input pixels (a descriptor spans 4 cells). Default 4. */
  cellSize: number;
  /** Descriptor grid step, in cells. Default 1. */
  gridStep: number;
  /** Gaussian smoothing sigma in pixels before gradients (SIFT's base blur); 0 disables. Default 1.6. */
  smoothSigma: number;
  /**
   * Gradient energy (sum of binned magnitudes over the patch, image in [0,1]) below which a descriptor is
   * damped (multiplied by energy / threshold) rather than normalised to unit length. Default 0.
   */
  contrastThreshold: number;
  /** SIFT's clipping of normalised bins at 0.2 before RootSIFT. Default true. */
  clip: boolean;
  /**
   * Signal-to-noise ratio (patch energy over the image's noise level) at which a descriptor starts to count;
   * it counts fully at twice this. 0 disables (every descriptor has unit length). Default 3.
   */
  noiseFloor?: number;
  /** Quantile of an image's patch energies taken as its noise level, in (0, 0.5]. Default 0.1. */
  noiseQuantile?: number;
  /**
   * Noise-adaptive smoothing (see step 1b of the module doc): the image's noise-to-contrast ratio (robust noise
   * sigma over the image's standard deviation) at which extra smoothing starts; it is complete at twice this.
   * `"wiener"`: the threshold-free rule, by the noise share of the finest band after the base blur.
   * 0 disables (the graph is then the same as without the option). Default 0.
   */
  denoise?: number | "wiener";
  /**
   * Sigma in pixels of the extra smoothing that `denoise` blends in, on top of `smoothSigma` (two passes of a
   * box, {@link boxBlur2}: exact for 2). Default 2.
   */
  denoiseSigma?: number;
}

/** Defaults of {@link DenseSiftOptions}. */
export const DENSE_SIFT_DEFAULTS: DenseSiftOptions = {
  cellSize: 4,
  gridStep: 1,
  smoothSigma: 1.6,
  contrastThreshold: 0,
  clip: true,
  noiseFloor: 3,
};

/** Geometry of the dense grid for an input of `width` x `height`. */
export interface DenseGrid {
  gridWidth: number;
  gridHeight: number;
  /** Pixels between neighbouring grid points. */
  stride: number;
  /** Pixel coordinate of grid point 0 (centre of its descriptor window). */
  offset: number;
}

/** Grid geometry of the front end for an input size. */
export function denseGrid(width: number, height: number, options: DenseSiftOptions): DenseGrid {
  const s = options.cellSize;
  const cellsX = Math.floor((width - 2 * s) / s) + 1;
  const cellsY = Math.floor((height - 2 * s) / s) + 1;
  const step = options.gridStep;
  return {
    gridWidth: Math.max(0, Math.floor((cellsX - 4) / step) + 1),
    gridHeight: Math.max(0, Math.floor((cellsY - 4) / step) + 1),
    stride: s * step,
    // Cell j is centred at j*s + s - 0.5; a descriptor spans cells u..u+3 (centre u + 1.5).
    offset: 2.5 * s - 0.5,
  };
}

function gaussianRadius(sigma: number): number {
  return Math.max(1, Math.ceil(2.5 * sigma));
}

function gaussianKernel(sigma: number): number[] {
  const r = gaussianRadius(sigma);
  const k: number[] = [];
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k.push(v);
    sum += v;
  }
  return k.map((v) => v / sum);
}

/** Names of the front end's outputs in a graph (see {@link addDenseSiftParts}). */
export interface DenseSiftGraph {
  /** [N, h, w, 128] descriptors: unit RootSIFT times `weight`. */
  local: string;
  /** [N, h, w, 128] unit-length RootSIFT descriptors (zero for a flat patch). */
  unit: string;
  /** [N, h, w, 1] weight in [0, 1] of each descriptor (noise floor, contrast), or null when none applies. */
  weight: string | null;
}

/**
 * Append the dense SIFT front end to `g`. `image` is [N, 1, H, W]; returns the name of the
 * [N, gridHeight, gridWidth, 128] (NHWC) RootSIFT descriptor map (unit L2 norm, or shorter where the noise floor
 * or the contrast threshold damps it).
 */
export function addDenseSift(
  g: GraphBuilder,
  image: string,
  options: DenseSiftOptions = DENSE_SIFT_DEFAULTS,
): string {
  return addDenseSiftParts(g, image, options).local;
}

/**
 * {@link addDenseSift}, returning also the unit descriptors and their weights (`local` = `unit` x `weight`), so
 * that a weighted NetVLAD layer can use them without normalising `local` again.
 */
export function addDenseSiftParts(
  g: GraphBuilder,
  image: string,
  options: DenseSiftOptions = DENSE_SIFT_DEFAULTS,
): DenseSiftGraph {
  const s = options.cellSize;
  const floor = options.noiseFloor ?? 0;
  const quantile = options.noiseQuantile ?? 0.1;
  if (floor > 0 && !(quantile > 0 && quantile <= 0.5)) {
    throw invalid("build the dense SIFT front end", "noiseQuantile", "a number in (0, 0.5]", quantile);
  }
  const denoise = options.denoise ?? 0;
  const denoising = denoise === "wiener" || (typeof denoise === "number" && denoise > 0);
  if (!denoising && !(denoise === 0)) {
    throw invalid("build the dense SIFT front end", "denoise", 'a number >= 0 or "wiener"', denoise);
  }
  // Replicate the border (ONNX Pad, mode "edge") so that the image frame itself is not an edge, then
  // convolve without padding: the gradient map keeps the input size.
  const r = options.smoothSigma > 0 ? gaussianRadius(options.smoothSigma) : 0;
  let x = g.op("Pad", [image, g.constantInt64([0, 0, r + 1, r + 1, 0, 0, r + 1, r + 1], "pads")], {
    mode: "edge",
  });
  if (options.smoothSigma > 0) x = separableBlur(g, x, options.smoothSigma);
  if (denoising) {
    const sigma = options.denoiseSigma ?? 2;
    if (!(sigma > 0)) {
      throw invalid("build the dense SIFT front end", "denoiseSigma", "a positive number", sigma);
    }
    const amount = denoise === "wiener" ? wienerAmount(g, x) : denoiseAmount(g, image, denoise as number);
    x = g.add(x, g.mul(g.reshape(amount, [0, 1, 1, 1]), g.sub(boxBlur2(g, x, sigma), x)));
  }
  // Gradients: channel 0 = d/dx, channel 1 = d/dy (central differences).
  const grad = g.conv(
    x,
    g.constant([0, 0, 0, -0.5, 0, 0.5, 0, 0, 0, 0, -0.5, 0, 0, 0, 0, 0, 0.5, 0], [2, 1, 3, 3], "grad_kernel"),
  );
  // Orientation binning as one 1x1 convolution (ReLU fused) over (gx, gy, |g|): bin k is
  // relu(gx cos(theta_k) + gy sin(theta_k) - cos(22.5deg) |g|).
  const kernel: number[] = [];
  for (let k = 0; k < SIFT_BINS; k++) {
    kernel.push(Math.cos(binAngle(k)), Math.sin(binAngle(k)), -Math.cos(Math.PI / SIFT_BINS));
  }
  const withMag = g.concat([grad, g.reduceL2(grad, [1])], 1); // [N, 3, H, W]
  const binned = g.relu(g.conv(withMag, g.constant(kernel, [SIFT_BINS, 3, 1, 1], "orient_proj")));
  // Cell pooling: the triangle weight over two cells' width, stride one cell, per orientation channel.
  const tri: number[] = [];
  for (let i = 0; i < 2 * s; i++) tri.push(cellWeight((i + 0.5 - s) / s));
  const tri2: number[] = [];
  for (let c = 0; c < SIFT_BINS; c++) for (const a of tri) for (const b of tri) tri2.push(a * b);
  const cells = g.conv(binned, g.constant(tri2, [SIFT_BINS, 1, 2 * s, 2 * s], "cell_kernel"), null, {
    strides: [s, s],
    group: SIFT_BINS,
  });
  const weighted = gatherCells(g, cells, options.gridStep);
  // SIFT normalisation (L2, clip) and RootSIFT (L1, sqrt) in one scale per descriptor: with n2 the L2 norm,
  // min(v / n2, clip) / sum(min(v / n2, clip)) = min(v, clip n2) / sum(min(v, clip n2)).
  const clipped = options.clip
    ? g.op("Min", [weighted, g.scale(g.reduceL2(weighted, [3]), SIFT_CLIP)])
    : weighted;
  const l1 = g.reduceSum(clipped, [3]);
  const unit = g.sqrt(g.mul(clipped, g.op("Reciprocal", [g.max(l1, g.constant([1e-30], [], "eps"))])));
  // Gradient energy of the patch (sum of its window-weighted bins).
  const energy = options.clip ? g.reduceSum(weighted, [3]) : l1;
  let weight: string | null = null;
  if (options.contrastThreshold > 0) {
    weight = g.op("Min", [g.scale(energy, 1 / options.contrastThreshold), g.constant([1], [], "one")]);
  }
  if (floor > 0) {
    const w = noiseWeight(g, energy, floor, quantile);
    weight = weight ? g.mul(weight, w) : w;
  }
  return { local: weight ? g.mul(unit, weight) : unit, unit, weight };
}

/**
 * The 4 x 4 neighbouring cells of every grid point, each times its window weight, as [N, h, w, 128] (cell-major,
 * then bin). `cells` is [N, 8, Hc, Wc]. One convolution over the cells laid out as a one-channel image of rows
 * of (cell, bin) pairs: output channel (cy, cx) reads the pixel cy rows down and 8 cx columns right (dilation 8),
 * so column u * 8 + b of its output is bin b of cell (u + cx) of the row.
 */
function gatherCells(g: GraphBuilder, cells: string, step: number): string {
  const n = SIFT_CELLS;
  const rows = g.reshape(
    g.op("Unsqueeze", [g.transpose(cells, [0, 2, 3, 1]), g.constantInt64([1], "axes")]),
    [
      0,
      0,
      0,
      -1,
    ],
  ); // [N, 1, Hc, Wc * 8]
  const kernel = new Float32Array(n * n * n * n);
  for (let c = 0; c < n * n; c++) kernel[c * n * n + c] = SIFT_WINDOW[c];
  const picked = g.conv(rows, g.constant(kernel, [n * n, 1, n, n], "sift_window"), null, {
    dilations: [1, SIFT_BINS],
    strides: [step, 1],
  }); // [N, 16, h, (Wc - 3) * 8]
  let grid = g.reshape(picked, [0, 0, 0, -1, SIFT_BINS]); // [N, 16, h, Wc - 3, 8]
  if (step > 1) {
    grid = g.op("Slice", [
      grid,
      g.constantInt64([0], "starts"),
      g.constantInt64([Number.MAX_SAFE_INTEGER], "ends"),
      g.constantInt64([3], "axes"),
      g.constantInt64([step], "steps"),
    ]);
  }
  return g.reshape(g.transpose(grid, [0, 2, 3, 1, 4]), [0, 0, 0, -1]); // [N, h, w, 128]
}

/**
 * A blur of standard deviation about `sigma` at the input's size: two passes of a w x w box (AveragePool, far
 * cheaper than a Gaussian convolution on one channel), w the odd width whose two passes have variance
 * 2 (w^2 - 1) / 12 closest to sigma^2 (w = 5 for sigma 2, exact); near the border a box averages only the
 * pixels inside.
 */
function boxBlur2(g: GraphBuilder, x: string, sigma: number): string {
  const half = Math.max(1, Math.round((Math.sqrt(6 * sigma * sigma + 1) - 1) / 2));
  const w = 2 * half + 1;
  const pass = (y: string) =>
    g.op("AveragePool", [y], {
      kernel_shape: [w, w],
      strides: [1, 1],
      pads: [half, half, half, half],
      count_include_pad: 0,
    });
  return pass(pass(x));
}

/** Separable Gaussian convolution without padding (the output is 2 * radius smaller on each axis). */
function separableBlur(g: GraphBuilder, x: string, sigma: number): string {
  const k = gaussianKernel(sigma);
  const y = g.conv(x, g.constant(k, [1, 1, 1, k.length], "gauss_x"));
  return g.conv(y, g.constant(k, [1, 1, k.length, 1], "gauss_y"));
}

/**
 * The `quantile` of each row of `flat` [N, M] (the largest of its k = max(1, floor(M * quantile)) smallest values,
 * one TopK), as [N, 1].
 */
function rowQuantile(g: GraphBuilder, flat: string, quantile: number): string {
  const count = g.op("Shape", [flat], { start: 1, end: 2 }); // [1]
  // k = max(1, floor(count * quantile)) in integers: count * round(1000 q) / 1000.
  const per = Math.max(1, Math.round(quantile * 1000));
  const k = g.op("Max", [
    g.op("Div", [g.op("Mul", [count, g.constantInt64([per], "q_num")]), g.constantInt64([1000], "q_den")]),
    g.constantInt64([1], "k_min"),
  ]);
  const [smallest] = g.opOutputs("TopK", [flat, k], 2, { axis: 1, largest: 0, sorted: 0 });
  return g.op("ReduceMax", [smallest], { axes: [1], keepdims: 1 }); // [N, 1] (opset 17: axes attribute)
}

/** `x` clipped to [0, 1]. */
function clip01(g: GraphBuilder, x: string): string {
  return g.op("Clip", [x, g.constant([0], [], "zero"), g.constant([1], [], "one")]);
}

/**
 * Immerkaer's 3x3 difference of Laplacians (the second differences along x times those along y: blind to
 * constant, linear and separable structure; L2 norm 6) of `x` [N, 1, H, W], without padding, every `stride`-th
 * row and column.
 */
function laplacianDifference(g: GraphBuilder, x: string, stride: number): string {
  const kernel = g.constant([1, -2, 1, -2, 4, -2, 1, -2, 1], [1, 1, 3, 3], "immerkaer_kernel");
  return g.conv(x, kernel, null, stride > 1 ? { strides: [stride, stride] } : {});
}

/**
 * How much extra smoothing each image of `image` [N, 1, H, W] gets, [N, 1] in [0, 1]: its noise-to-contrast
 * ratio over `start`, minus 1, clipped. Noise sigma: median |Laplacian difference| / (0.6745 * 6) on the image
 * averaged 2 x 2 (Immerkaer's kernel has L2 norm 6; the median of |N(0, s)| is 0.6745 s), robust to edges and
 * texture where the mean would not be; contrast: the image's standard deviation.
 */
export function denoiseAmount(g: GraphBuilder, image: string, start: number): string {
  const half = g.averagePool(image, [2, 2], [2, 2]);
  const lap = g.abs(laplacianDifference(g, half, 1));
  const noise = g.scale(rowQuantile(g, g.reshape(lap, [0, -1]), 0.5), 1 / (0.6745 * 6));
  const flat = g.reshape(image, [0, -1]);
  const mean = g.op("ReduceMean", [flat], { axes: [1], keepdims: 1 });
  const meanSq = g.op("ReduceMean", [g.mul(flat, flat)], { axes: [1], keepdims: 1 });
  const variance = g.max(g.sub(meanSq, g.mul(mean, mean)), g.constant([1e-12], [], "eps"));
  const ratio = g.div(noise, g.sqrt(variance));
  const amount = g.sub(g.scale(ratio, 1 / start), g.constant([1], [], "one"));
  return clip01(g, amount);
}

/**
 * Smoothing amount of the threshold-free rule (`denoise: "wiener"`) for each base-smoothed image `x`
 * [N, 1, H, W], as [N, 1] in [0, 1]. The finest band left after the base blur is the response of the 3x3
 * Laplacian-difference kernel; its noise power is (median |response| / 0.6745)^2 (edges and texture are
 * sparse in it and do not move the median), its total power the mean square, so `share` = noise / total is 1
 * on pure white noise and falls towards 0 as the band carries signal. The amount is 2 share - 1, clipped: 0
 * while the band holds more signal than noise (a clean frame, whatever its texture, is left exactly as it
 * was), rising to 1 when it is all noise. The responses are taken on every other row and column (a quarter
 * of the TopK).
 */
export function wienerAmount(g: GraphBuilder, x: string): string {
  const lap = laplacianDifference(g, x, 2);
  const flat = g.reshape(lap, [0, -1]);
  const noise = g.scale(rowQuantile(g, g.abs(flat), 0.5), 1 / 0.6745);
  const power = g.op("ReduceMean", [g.mul(flat, flat)], { axes: [1], keepdims: 1 });
  const share = g.div(g.mul(noise, noise), g.max(power, g.constant([1e-20], [], "eps")));
  const amount = g.sub(g.scale(share, 2), g.constant([1], [], "one"));
  return clip01(g, amount);
}

/**
 * Per-descriptor weight in [0, 1] from `energy` [N, h, w, 1]: the image's noise level is the `quantile` of its
 * patch energies (the largest of the k smallest, one TopK); weight = clip(energy / (floor * level) - 1, 0, 1).
 */
function noiseWeight(g: GraphBuilder, energy: string, floor: number, quantile: number): string {
  const level = rowQuantile(g, g.reshape(energy, [0, -1]), quantile); // [N, 1]
  const scale = g.reshape(g.scale(g.max(level, g.constant([1e-9], [], "eps")), floor), [0, 1, 1, 1]);
  const snr = g.sub(g.div(energy, scale), g.constant([1], [], "one"));
  return clip01(g, snr);
}
