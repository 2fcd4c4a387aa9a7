/**
 * A training-free dense front end: dense SIFT (RootSIFT) expressed as ONNX convolutions, so that the
 * whole descriptor runs on any execution provider.
 *
 * Steps, on a grey [N, 1, H, W] image in [0, 1]:
 * 1. border replication, then optional Gaussian smoothing (separable convolution);
 * 2. image gradients (central differences, fixed 3x3 kernels);
 * 3. orientation binning into 8 channels: mag * relu(cos(theta - theta_k) - cos(45deg)), a soft bin of
 *    half-width 45 degrees, written as relu(projection_k - cos(45deg) * mag);
 * 4. cell pooling with a triangular (bilinear) kernel of width 2 * cellSize, stride cellSize (depthwise conv);
 * 5. 4x4 neighbouring cells x 8 bins = 128-d at each grid point (16 slices concatenated over channels), each
 *    cell weighted by SIFT's Gaussian window;
 * 6. SIFT normalisation (L2, clip at 0.2; optional) then RootSIFT (L1 normalise, sqrt). Patches whose gradient
 *    energy is below `contrastThreshold` are scaled down towards zero instead of amplified.
 * 7. Noise floor (optional, `noiseFloor`): each image's noise level is estimated as a low quantile of its own
 *    patch energies (the flattest patches of an image hold only sensor noise and compression artefacts), and a
 *    descriptor's length becomes its weight: 0 for patches within `noiseFloor` times that level, rising to 1
 *    at twice that. Unit-normalised, such patches would look like texture (a dark, noisy frame is otherwise
 *    described as "granite everywhere"); the weighted NetVLAD layer then lets them count for nothing.
 *
 * @module
 */
import { invalid } from "../errors.ts";
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

/**
 * Append the dense SIFT front end to `g`. `image` is [N, 1, H, W]; returns the name of the
 * [N, gridHeight, gridWidth, 128] (NHWC) RootSIFT descriptor map (unit L2 norm, or damped below the contrast threshold).
 */
export function addDenseSift(
  g: GraphBuilder,
  image: string,
  options: DenseSiftOptions = DENSE_SIFT_DEFAULTS,
): string {
  const s = options.cellSize;
  // Replicate the border (ONNX Pad, mode "edge") so that the image frame itself is not an edge, then
  // convolve without padding: the gradient map keeps the input size.
  const r = options.smoothSigma > 0 ? gaussianRadius(options.smoothSigma) : 0;
  let x = g.op("Pad", [image, g.constantInt64([0, 0, r + 1, r + 1, 0, 0, r + 1, r + 1], "pads")], {
    mode: "edge",
  });
  if (options.smoothSigma > 0) {
    const k = gaussianKernel(options.smoothSigma);
    x = g.conv(x, g.constant(k, [1, 1, 1, k.length], "gauss_x"));
    x = g.conv(x, g.constant(k, [1, 1, k.length, 1], "gauss_y"));
  }
  // Gradients: channel 0 = d/dx, channel 1 = d/dy (central differences).
  const grad = g.conv(
    x,
    g.constant([0, 0, 0, -0.5, 0, 0.5, 0, 0, 0, 0, -0.5, 0, 0, 0, 0, 0, 0.5, 0], [2, 1, 3, 3], "grad_kernel"),
  );
  const bins = 8;
  const proj: number[] = [];
  for (let k = 0; k < bins; k++) {
    const t = (2 * Math.PI * k) / bins;
    proj.push(Math.cos(t), Math.sin(t));
  }
  const projections = g.conv(grad, g.constant(proj, [bins, 2, 1, 1], "orient_proj"));
  const mag = g.reduceL2(grad, [1]);
  const c45 = Math.cos(Math.PI / bins);
  const binned = g.relu(g.sub(projections, g.scale(mag, c45)));
  // Cell pooling: triangular kernel of width 2s, stride s, per orientation channel.
  const tri: number[] = [];
  for (let i = 0; i < 2 * s; i++) tri.push(1 - Math.abs(i + 0.5 - s) / s);
  const tri2: number[] = [];
  for (let c = 0; c < bins; c++) for (const a of tri) for (const b of tri) tri2.push(a * b);
  const cells = g.conv(binned, g.constant(tri2, [bins, 1, 2 * s, 2 * s], "cell_kernel"), null, {
    strides: [s, s],
    group: bins,
  });
  // Cells to NHWC [N, Hc, Wc, 8], then gather 4x4 cells: 16 shifted slices concatenated over the last axis
  // (cell-major, then bin, as SIFT orders them) -> [N, h, w, 128].
  const cellsHwc = g.transpose(cells, [0, 2, 3, 1]);
  const slices: string[] = [];
  const step = options.gridStep;
  for (let cy = 0; cy < 4; cy++) {
    for (let cx = 0; cx < 4; cx++) {
      // Ends are negative offsets from the end so that the graph accepts any input size.
      const endY = cy - 3 === 0 ? Number.MAX_SAFE_INTEGER : cy - 3;
      const endX = cx - 3 === 0 ? Number.MAX_SAFE_INTEGER : cx - 3;
      slices.push(
        g.op("Slice", [
          cellsHwc,
          g.constantInt64([cy, cx], "starts"),
          g.constantInt64([endY, endX], "ends"),
          g.constantInt64([1, 2], "axes"),
          g.constantInt64([step, step], "steps"),
        ]),
      );
    }
  }
  const raw = g.concat(slices, 3);
  const window: number[] = [];
  for (let cy = 0; cy < 4; cy++) {
    for (let cx = 0; cx < 4; cx++) {
      const w = Math.exp(-((cy - 1.5) ** 2 + (cx - 1.5) ** 2) / (2 * 2 * 2));
      for (let b = 0; b < bins; b++) window.push(w);
    }
  }
  const weighted = g.mul(raw, g.constant(window, [16 * bins], "sift_window"));
  let sift = weighted;
  if (options.clip) {
    // SIFT normalisation: L2, clip 0.2 (then RootSIFT's L1 normalisation below).
    sift = g.op("Min", [g.l2Normalize(weighted, 3), g.constant([0.2], [], "clip")]);
  }
  // RootSIFT: L1 normalise then sqrt (unit L2 norm).
  const l1 = g.reduceSum(sift, [3]);
  const root = g.sqrt(g.div(sift, g.max(l1, g.constant([1e-12], [], "eps"))));
  const floor = options.noiseFloor ?? 0;
  if (options.contrastThreshold <= 0 && floor <= 0) return root;
  const energy = options.clip ? g.reduceSum(weighted, [3]) : l1;
  let out = root;
  if (options.contrastThreshold > 0) {
    out = g.mul(
      out,
      g.op("Min", [g.scale(energy, 1 / options.contrastThreshold), g.constant([1], [], "one")]),
    );
  }
  if (floor > 0) out = g.mul(out, noiseWeight(g, energy, floor, options.noiseQuantile ?? 0.1));
  return out;
}

/**
 * Per-descriptor weight in [0, 1] from `energy` [N, h, w, 1]: the image's noise level is the `quantile` of its
 * patch energies (TopK of the smallest); weight = clip((energy / level - floor) / floor, 0, 1).
 */
function noiseWeight(g: GraphBuilder, energy: string, floor: number, quantile: number): string {
  if (!(quantile > 0 && quantile <= 0.5)) {
    throw invalid("build the dense SIFT front end", "noiseQuantile", "a number in (0, 0.5]", quantile);
  }
  const flat = g.reshape(energy, [0, -1]); // [N, h*w]
  const count = g.op("Gather", [g.op("Shape", [flat]), g.constantInt64([1], "axis1")], { axis: 0 }); // [1]
  // k = max(1, floor(count * quantile)) in integers: count * round(1000 q) / 1000.
  const per = Math.max(1, Math.round(quantile * 1000));
  const k = g.op("Max", [
    g.op("Div", [g.op("Mul", [count, g.constantInt64([per], "q_num")]), g.constantInt64([1000], "q_den")]),
    g.constantInt64([1], "k_min"),
  ]);
  const [smallest] = g.opOutputs("TopK", [flat, k], 2, { axis: 1, largest: 0, sorted: 1 });
  const level = g.op("ReduceMax", [smallest], { axes: [1], keepdims: 1 }); // [N, 1] (opset 17: axes attribute)
  const level4 = g.reshape(level, [0, 1, 1, 1]);
  const snr = g.div(energy, g.max(level4, g.constant([1e-9], [], "eps")));
  const w = g.scale(g.sub(snr, g.constant([floor], [], "noise_floor")), 1 / floor);
  return g.op("Min", [g.relu(w), g.constant([1], [], "one")]);
}
