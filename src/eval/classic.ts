/**
 * The classic recipe of issue 9, as a baseline that runs on any dataset: OpenCV 4.6 SIFT descriptors at fixed
 * keypoints (size 16, a regular grid of stride 8 px starting 8 px from the border) of the image resized with
 * area interpolation to 320 px wide, RootSIFT (L1-normalise, square root), VLAD with K = 64 centres from
 * k-means on the map's descriptors, hard assignment to the nearest centre, residual sums, intra-normalisation,
 * L2; compared by cosine similarity (a dot product of the L2-normalised vectors).
 *
 * `@techstark/opencv-js` has no SIFT, so the descriptor is OpenCV's `calcSIFTDescriptor` ported to TypeScript
 * for the way OpenCV treats a provided keypoint: `KeyPoint(x, y, 16)` has octave 0 and angle -1, so the
 * descriptor is computed on the full-resolution base image (grey, blurred to sigma 1.6 from an assumed 0.5),
 * at scale size / 2, with orientation 360 - (-1) = 361 degrees; cells of 3 * scale px, a Gaussian window,
 * trilinear interpolation into 4 x 4 x 8 bins, clip at 0.2 of the norm, renormalise to 512 and round to
 * bytes. Checked against python3-opencv 4.6 on the shared images (test/eval/classic_test.ts states the bar).
 *
 * The model implements `DescriptorModel`, so the project's retrieval, stream and loop evaluations run it
 * unchanged (`fitClassicModel` then `evaluateRetrieval(ds, { model })`).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { invalid } from "../errors.ts";
import { kmeans } from "../kernels/kmeans.ts";
import type { DescriptorModel, DescriptorOutput, ModelInfo, PixelImage } from "../types.ts";

/** Parameters of the recipe (issue 9 §1). */
export const CLASSIC = {
  width: 320,
  keypointSize: 16,
  stride: 8,
  border: 8,
  clusters: 64,
  /** OpenCV SIFT constants. */
  sigma: 1.6,
  initSigma: 0.5,
  descrWidth: 4,
  descrHistBins: 8,
  descrSclFctr: 3,
  descrMagThr: 0.2,
  intDescrFctr: 512,
} as const;

/** SIFT descriptor length (4 x 4 x 8). */
export const SIFT_DIM = 128;

// ---------------------------------------------------------------------------------------------------------
// Image preparation: OpenCV's INTER_AREA resize and BGR2GRAY, as the recipe's Python runs them.

/** Separable weights of OpenCV's area interpolation for one axis (downscale: overlap of source pixels). */
function areaTaps(inSize: number, outSize: number): { start: Int32Array; weights: Float64Array[] } {
  const scale = inSize / outSize;
  const start = new Int32Array(outSize);
  const weights: Float64Array[] = [];
  if (scale < 1) {
    // Enlarging: OpenCV's INTER_AREA is linear between source pixels sx and sx + 1 with the weight of the
    // part of the output pixel past sx + 1 (0 inside a source pixel), clamped at the last pixel.
    const inv = outSize / inSize;
    for (let o = 0; o < outSize; o++) {
      let sx = Math.floor(o * scale);
      let fx = o + 1 - (sx + 1) * inv;
      fx = fx <= 0 ? 0 : fx - Math.floor(fx);
      if (sx >= inSize - 1) {
        sx = inSize - 1;
        fx = 0;
      }
      start[o] = sx;
      weights.push(fx > 0 ? Float64Array.of(1 - fx, fx) : Float64Array.of(1));
    }
    return { start, weights };
  }
  for (let o = 0; o < outSize; o++) {
    const fsx1 = o * scale, fsx2 = fsx1 + scale;
    const sx1 = Math.ceil(fsx1 - 1e-9), sx2 = Math.min(inSize, Math.floor(fsx2 + 1e-9));
    const ws: number[] = [];
    let s0 = sx1;
    if (sx1 - fsx1 > 1e-3) {
      s0 = sx1 - 1;
      ws.push(sx1 - fsx1);
    }
    for (let i = sx1; i < sx2; i++) ws.push(1);
    if (fsx2 - sx2 > 1e-3 && sx2 < inSize) ws.push(Math.min(Math.min(fsx2 - sx2, 1), inSize - sx2));
    const total = ws.reduce((a, b) => a + b, 0);
    start[o] = s0;
    weights.push(Float64Array.from(ws, (w) => w / total));
  }
  return { start, weights };
}

/**
 * Resize with OpenCV's area interpolation (`INTER_AREA`, for shrinking: each output pixel is the
 * overlap-weighted mean of the source pixels it covers; enlarging: OpenCV's INTER_AREA rule, linear
 * between neighbours only where an output pixel straddles two source pixels). Each axis on its own.
 */
export function resizeArea(img: PixelImage, width: number, height: number): PixelImage {
  if (img.width === width && img.height === height) return img;
  const c = img.channels;
  const tx = areaTaps(img.width, width), ty = areaTaps(img.height, height);
  const mid = new Float64Array(img.height * width * c);
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < width; x++) {
      const w = tx.weights[x], s = tx.start[x];
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        for (let t = 0; t < w.length; t++) acc += w[t] * img.data[(y * img.width + s + t) * c + ch];
        mid[(y * width + x) * c + ch] = acc;
      }
    }
  }
  const out = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const w = ty.weights[y], s = ty.start[y];
    for (let i = 0; i < width * c; i++) {
      let acc = 0;
      for (let t = 0; t < w.length; t++) acc += w[t] * mid[(s + t) * width * c + i];
      out[y * width * c + i] = Math.min(255, Math.max(0, Math.round(acc)));
    }
  }
  return { width, height, channels: c, data: out };
}

/** OpenCV's 8-bit RGB to grey (fixed point, BT.601 weights): the grey SIFT computes from a colour image. */
export function opencvGray(img: PixelImage): Float32Array {
  const n = img.width * img.height;
  const out = new Float32Array(n);
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = img.data[i];
    return out;
  }
  const d = img.data;
  for (let i = 0, p = 0; i < n; i++, p += 3) {
    out[i] = (d[p] * 4899 + d[p + 1] * 9617 + d[p + 2] * 1868 + 8192) >> 14;
  }
  return out;
}

/** OpenCV's `GaussianBlur` of a float image with `ksize = Size()`: 13 taps here, border REFLECT_101. */
function gaussianBlurF32(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  const n = Math.round(sigma * 4 * 2 + 1) | 1;
  const k = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = i - (n - 1) / 2;
    sum += k[i] = Math.exp(-(x * x) / (2 * sigma * sigma));
  }
  for (let i = 0; i < n; i++) k[i] = Math.fround(k[i] / sum);
  const r = (n - 1) / 2;
  const reflect = (i: number, len: number) => {
    if (len === 1) return 0;
    while (i < 0 || i >= len) i = i < 0 ? -i : 2 * len - 2 - i;
    return i;
  };
  const mid = new Float32Array(w * h), out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = 0; t < n; t++) acc += k[t] * src[y * w + reflect(x + t - r, w)];
      mid[y * w + x] = acc;
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let acc = 0;
      for (let t = 0; t < n; t++) acc += k[t] * mid[reflect(y + t - r, h) * w + x];
      out[y * w + x] = acc;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// OpenCV's SIFT descriptor at given keypoints.

/** Keypoint centres of the recipe's grid on a `w` x `h` image: x, y from 8 to size - 8 in steps of 8. */
export function gridKeypoints(w: number, h: number): { xs: Int32Array; ys: Int32Array } {
  const xs: number[] = [], ys: number[] = [];
  for (let y = CLASSIC.border; y <= h - CLASSIC.border; y += CLASSIC.stride) {
    for (let x = CLASSIC.border; x <= w - CLASSIC.border; x += CLASSIC.stride) {
      xs.push(x);
      ys.push(y);
    }
  }
  return { xs: Int32Array.from(xs), ys: Int32Array.from(ys) };
}

/**
 * SIFT descriptors (128 bytes each, as floats 0..255) of a grey image at integer keypoints of one `size`,
 * computed as OpenCV 4.6 `SIFT::compute` does for `KeyPoint(x, y, size)` (octave 0, angle -1).
 * `gray` holds 8-bit values as floats; the base blur is applied here.
 */
export function siftDescriptors(
  gray: Float32Array,
  w: number,
  h: number,
  xs: Int32Array,
  ys: Int32Array,
  size: number = CLASSIC.keypointSize,
): Float32Array {
  const d = CLASSIC.descrWidth, n = CLASSIC.descrHistBins;
  const sigDiff = Math.sqrt(Math.max(CLASSIC.sigma ** 2 - CLASSIC.initSigma ** 2, 0.01));
  const img = gaussianBlurF32(gray, w, h, Math.fround(sigDiff));
  // KeyPoint angle -1: OpenCV describes at 360 - (-1) = 361 degrees.
  const angle = 361;
  const binsPerRad = n / 360;
  // Per interior pixel: gradient magnitude, and its orientation bin relative to the keypoint's angle
  // (integer part wrapped once as OpenCV wraps it, fractional part apart).
  const mag = new Float32Array(w * h), oFrac = new Float32Array(w * h), o0s = new Int8Array(w * h);
  for (let r = 1; r < h - 1; r++) {
    for (let c = 1; c < w - 1; c++) {
      const dx = Math.fround(img[r * w + c + 1] - img[r * w + c - 1]);
      const dy = Math.fround(img[(r - 1) * w + c] - img[(r + 1) * w + c]);
      let a = Math.atan2(dy, dx) * (180 / Math.PI);
      if (a < 0) a += 360;
      if (a >= 360) a = 0;
      mag[r * w + c] = Math.sqrt(dx * dx + dy * dy);
      const obin = (a - angle) * binsPerRad;
      let o0 = Math.floor(obin);
      oFrac[r * w + c] = obin - o0;
      if (o0 < 0) o0 += n;
      if (o0 >= n) o0 -= n;
      o0s[r * w + c] = o0;
    }
  }
  const scl = size * 0.5;
  let cosT = Math.fround(Math.cos(angle * (Math.PI / 180)));
  let sinT = Math.fround(Math.sin(angle * (Math.PI / 180)));
  const expScale = -1 / (d * d * 0.5);
  const histWidth = CLASSIC.descrSclFctr * scl;
  let radius = Math.round(histWidth * Math.SQRT2 * (d + 1) * 0.5);
  radius = Math.min(radius, Math.floor(Math.sqrt(w * w + h * h)));
  cosT /= histWidth;
  sinT /= histWidth;
  // The sample offsets that land inside the 4 x 4 cells (the same for every keypoint: one size, one angle),
  // with their cell, fractional bin position and Gaussian window weight.
  const offs: number[][] = [];
  for (let i = -radius; i <= radius; i++) {
    for (let j = -radius; j <= radius; j++) {
      const cRot = j * cosT - i * sinT, rRot = j * sinT + i * cosT;
      const rbin = rRot + d / 2 - 0.5, cbin = cRot + d / 2 - 0.5;
      if (rbin > -1 && rbin < d && cbin > -1 && cbin < d) {
        const r0 = Math.floor(rbin), c0 = Math.floor(cbin);
        offs.push([
          i,
          j,
          rbin - r0,
          cbin - c0,
          Math.exp((cRot * cRot + rRot * rRot) * expScale),
          ((r0 + 1) * (d + 2) + c0 + 1) * (n + 2),
        ]);
      }
    }
  }
  const ns = offs.length;
  const offI = Int32Array.from(offs, (o) => o[0]), offJ = Int32Array.from(offs, (o) => o[1]);
  const offPix = Int32Array.from(offs, (o) => o[0] * w + o[1]);
  const offRb = Float32Array.from(offs, (o) => o[2]), offCb = Float32Array.from(offs, (o) => o[3]);
  const offW = Float32Array.from(offs, (o) => o[4]), offBase = Int32Array.from(offs, (o) => o[5]);
  let reach = 0;
  for (let s = 0; s < ns; s++) reach = Math.max(reach, Math.abs(offI[s]), Math.abs(offJ[s]));
  const histLen = (d + 2) * (d + 2) * (n + 2);
  const hist = new Float32Array(histLen);
  const len = d * d * n;
  const raw = new Float32Array(len);
  const out = new Float32Array(xs.length * len);
  const s1 = n + 2, s2 = n + 3, s3 = (d + 2) * (n + 2), s4 = (d + 3) * (n + 2);
  for (let kp = 0; kp < xs.length; kp++) {
    const px = xs[kp], py = ys[kp];
    const inside = py - reach > 0 && py + reach < h - 1 && px - reach > 0 && px + reach < w - 1;
    const pk = py * w + px;
    hist.fill(0);
    for (let s = 0; s < ns; s++) {
      if (!inside) {
        const r = py + offI[s], c = px + offJ[s];
        if (!(r > 0 && r < h - 1 && c > 0 && c < w - 1)) continue;
      }
      const p = pk + offPix[s];
      const rbin = offRb[s], cbin = offCb[s], obin = oFrac[p];
      const m = mag[p] * offW[s];
      const vR1 = m * rbin, vR0 = m - vR1;
      const vRc11 = vR1 * cbin, vRc10 = vR1 - vRc11;
      const vRc01 = vR0 * cbin, vRc00 = vR0 - vRc01;
      const vRco111 = vRc11 * obin, vRco101 = vRc10 * obin;
      const vRco011 = vRc01 * obin, vRco001 = vRc00 * obin;
      // OpenCV's flat layout, quirks included (the wrapped bin may be -1: it then lands in the previous
      // cell's spare slot, folded below as OpenCV folds it).
      const idx = offBase[s] + o0s[p];
      hist[idx] += vRc00 - vRco001;
      hist[idx + 1] += vRco001;
      hist[idx + s1] += vRc01 - vRco011;
      hist[idx + s2] += vRco011;
      hist[idx + s3] += vRc10 - vRco101;
      hist[idx + s3 + 1] += vRco101;
      hist[idx + s4] += vRc11 - vRco111;
      hist[idx + s4 + 1] += vRco111;
    }
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const idx = ((i + 1) * (d + 2) + (j + 1)) * (n + 2);
        hist[idx] += hist[idx + n];
        hist[idx + 1] += hist[idx + n + 1];
        for (let k = 0; k < n; k++) raw[(i * d + j) * n + k] = hist[idx + k];
      }
    }
    let nrm2 = 0;
    for (let k = 0; k < len; k++) nrm2 += raw[k] * raw[k];
    const thr = Math.fround(Math.sqrt(nrm2) * CLASSIC.descrMagThr);
    nrm2 = 0;
    for (let k = 0; k < len; k++) {
      const v = Math.min(raw[k], thr);
      raw[k] = v;
      nrm2 += v * v;
    }
    const scale = CLASSIC.intDescrFctr / Math.max(Math.sqrt(nrm2), 1.1920929e-7);
    const o = kp * len;
    for (let k = 0; k < len; k++) out[o + k] = Math.min(255, Math.max(0, Math.round(raw[k] * scale)));
  }
  return out;
}

/** RootSIFT in place: each row L1-normalised (rows are non-negative), then square-rooted. */
export function rootSift(desc: Float32Array, dim: number = SIFT_DIM): Float32Array {
  for (let o = 0; o < desc.length; o += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += Math.abs(desc[o + j]);
    const inv = 1 / Math.max(s, 1e-12);
    for (let j = 0; j < dim; j++) desc[o + j] = Math.sqrt(Math.abs(desc[o + j]) * inv);
  }
  return desc;
}

/** The recipe's local descriptors of one image: area-resized to 320 px wide, grid SIFT, RootSIFT. */
export function classicLocalDescriptors(image: PixelImage): Float32Array {
  if (image.width < 1 || image.height < 1) {
    throw invalid("describe an image (classic recipe)", "image", "a non-empty image", image.width);
  }
  const w = CLASSIC.width;
  const h = Math.max(1, Math.round(image.height * w / image.width));
  const small = resizeArea(image, w, h);
  const { xs, ys } = gridKeypoints(w, h);
  return rootSift(siftDescriptors(opencvGray(small), w, h, xs, ys));
}

// ---------------------------------------------------------------------------------------------------------
// VLAD with hard assignment.

/**
 * VLAD of `desc` (rows of `dim`) over `centres` (k rows): each row hard-assigned to its nearest centre,
 * residuals summed per centre, each centre's block L2-normalised (intra-normalisation), then the whole
 * vector L2-normalised. Empty blocks stay zero.
 *
 * @example
 * ```ts
 * import { vladHard } from "./classic.ts";
 * const v = vladHard(new Float32Array([1, 0, 0, 3]), new Float32Array([0, 0, 0, 2]), 2);
 * console.assert(Math.abs(v[0] - Math.SQRT1_2) < 1e-6 && Math.abs(v[3] - Math.SQRT1_2) < 1e-6);
 * ```
 */
export function vladHard(desc: Float32Array, centres: Float32Array, dim: number): Float32Array {
  const k = centres.length / dim, n = desc.length / dim;
  const v = new Float32Array(k * dim);
  const cNorm = new Float64Array(k);
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += centres[c * dim + j] ** 2;
    cNorm[c] = s;
  }
  for (let i = 0; i < n; i++) {
    const o = i * dim;
    let best = 0, bestD = Infinity;
    for (let c = 0; c < k; c++) {
      let dot = 0;
      const co = c * dim;
      for (let j = 0; j < dim; j++) dot += desc[o + j] * centres[co + j];
      const dd = cNorm[c] - 2 * dot;
      if (dd < bestD) {
        bestD = dd;
        best = c;
      }
    }
    const bo = best * dim;
    for (let j = 0; j < dim; j++) v[bo + j] += desc[o + j] - centres[bo + j];
  }
  let total = 0;
  for (let c = 0; c < k; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[c * dim + j] ** 2;
    if (s > 0) {
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < dim; j++) v[c * dim + j] *= inv;
      total += 1; // each non-empty block has unit norm now
    }
  }
  if (total > 0) {
    const inv = 1 / Math.sqrt(total);
    for (let j = 0; j < v.length; j++) v[j] *= inv;
  }
  return v;
}

/** The fitted vocabulary of the classic recipe: K centres of RootSIFT space. */
export interface ClassicVocabulary {
  centres: Float32Array;
  clusters: number;
}

/** Options of {@link fitClassicModel}. */
export interface FitClassicOptions {
  /** VLAD centres. Default 64. */
  clusters?: number;
  /** k-means seed. Default 1. */
  seed?: number;
  /** k-means iterations. Default 25 (`src/train/kmeans.ts`). */
  maxIterations?: number;
}

/** Fit the recipe's centres by k-means on the local descriptors of the map's images. */
export function fitClassicVocabulary(
  locals: Float32Array[],
  options: FitClassicOptions = {},
): ClassicVocabulary {
  const clusters = options.clusters ?? CLASSIC.clusters;
  const total = locals.reduce((s, d) => s + d.length, 0);
  if (total / SIFT_DIM < clusters) {
    throw invalid("fit the classic recipe's vocabulary", "images", `at least ${clusters} descriptors`, total);
  }
  const all = new Float32Array(total);
  let o = 0;
  for (const d of locals) {
    all.set(d, o);
    o += d.length;
  }
  const r = kmeans(all, SIFT_DIM, clusters, {
    seed: options.seed ?? 1,
    maxIterations: options.maxIterations,
  });
  return { centres: r.centroids, clusters };
}

/** The classic recipe as a `DescriptorModel` (CPU, no ONNX), for every evaluation of the project. */
export class ClassicVladModel implements DescriptorModel {
  readonly info: ModelInfo;
  readonly vocabulary: ClassicVocabulary;
  constructor(vocabulary: ClassicVocabulary) {
    this.vocabulary = vocabulary;
    const c = vocabulary.centres;
    const id = createHash("sha256").update(new Uint8Array(c.buffer, c.byteOffset, c.byteLength)).digest(
      "hex",
    );
    this.info = {
      name: "classic-sift-vlad",
      id: id.slice(0, 16),
      descriptorDim: vocabulary.clusters * SIFT_DIM,
      inputWidth: CLASSIC.width,
      inputHeight: 240,
      inputChannels: 3,
      provider: "cpu",
    };
  }
  describeLocal(image: PixelImage): Float32Array {
    return classicLocalDescriptors(image);
  }
  globalOf(local: Float32Array): Float32Array {
    return vladHard(local, this.vocabulary.centres, SIFT_DIM);
  }
  describe(image: PixelImage): Promise<DescriptorOutput> {
    return Promise.resolve({ global: this.globalOf(classicLocalDescriptors(image)) });
  }
  async describeBatch(images: PixelImage[]): Promise<DescriptorOutput[]> {
    const out: DescriptorOutput[] = [];
    for (const img of images) out.push(await this.describe(img));
    return out;
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Fit the classic recipe on the map's images (decoded, any size). */
export function fitClassicModel(images: PixelImage[], options: FitClassicOptions = {}): ClassicVladModel {
  return new ClassicVladModel(fitClassicVocabulary(images.map(classicLocalDescriptors), options));
}
