/**
 * Compact, versioned binary blobs for per-keyframe local features and for the map's PCA projection.
 *
 * Local features blob (little-endian), version 1:
 * ```
 * magic "WMLF" | u16 version=1 | u16 dim | u32 count | u32 imageWidth | u32 imageHeight
 * count x (f32 x, f32 y)            keypoints (image pixels)
 * count x f32                       pyramid scale
 * count x f32                       attention
 * count x f32                       per-row descriptor scale s (max |v|)
 * count x dim x i8                  descriptors, v ≈ q * s / 127
 * ```
 * About 60 bytes per keypoint at 40-d (vs 176 as float32). Decoding renormalises each row to unit length.
 *
 * PCA blob, version 1: magic "WMPC" | u16 version=1 | u16 inputDim | u16 outputDim | u16 0 |
 * f32 mean[inputDim] | f32 variances[outputDim] | f32 components[outputDim * inputDim].
 *
 * @module
 */
import type { LocalFeatures } from "../types.ts";
import { MapFormatError } from "../errors.ts";
import type { PcaProjection } from "./pca.ts";

const LF_MAGIC = 0x464c4d57; // "WMLF" little-endian
const PC_MAGIC = 0x43504d57; // "WMPC"
/** Current version of the local-features blob. */
export const LOCAL_FEATURES_VERSION = 1;
const LF_HEADER = 20;

/**
 * Encode local features as an int8-quantised blob.
 *
 * @example
 * ```ts
 * import { decodeLocalFeatures, encodeLocalFeatures } from "./features_codec.ts";
 * const f = { count: 1, dim: 2, keypoints: new Float32Array([3, 4]), scales: new Float32Array([1]),
 *   attention: new Float32Array([0.5]), descriptors: new Float32Array([0.6, 0.8]), imageWidth: 8, imageHeight: 8 };
 * console.assert(decodeLocalFeatures(encodeLocalFeatures(f)).keypoints[1] === 4);
 * ```
 */
export function encodeLocalFeatures(f: LocalFeatures): Uint8Array {
  const { count, dim } = f;
  const size = LF_HEADER + count * 20 + count * dim;
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  view.setUint32(0, LF_MAGIC, true);
  view.setUint16(4, LOCAL_FEATURES_VERSION, true);
  view.setUint16(6, dim, true);
  view.setUint32(8, count, true);
  view.setUint32(12, f.imageWidth, true);
  view.setUint32(16, f.imageHeight, true);
  let o = LF_HEADER;
  for (let i = 0; i < 2 * count; i++, o += 4) view.setFloat32(o, f.keypoints[i], true);
  for (let i = 0; i < count; i++, o += 4) view.setFloat32(o, f.scales[i], true);
  for (let i = 0; i < count; i++, o += 4) view.setFloat32(o, f.attention[i], true);
  const scaleAt = o;
  o += 4 * count;
  const q = new Int8Array(buf, o, count * dim);
  for (let i = 0; i < count; i++) {
    let m = 0;
    for (let k = 0; k < dim; k++) m = Math.max(m, Math.abs(f.descriptors[i * dim + k]));
    view.setFloat32(scaleAt + 4 * i, m, true);
    const inv = m > 0 ? 127 / m : 0;
    for (let k = 0; k < dim; k++) q[i * dim + k] = Math.round(f.descriptors[i * dim + k] * inv);
  }
  return new Uint8Array(buf);
}

/** Decode a blob written by {@link encodeLocalFeatures}; throws MapFormatError on bad magic, version or size. */
export function decodeLocalFeatures(bytes: Uint8Array, label = "local features blob"): LocalFeatures {
  const fail = (what: string) =>
    new MapFormatError(`Cannot decode ${label}: ${what}`, { context: { file: label } });
  if (bytes.length < LF_HEADER) {
    throw fail(`${bytes.length} bytes is shorter than the ${LF_HEADER}-byte header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== LF_MAGIC) throw fail("bad magic (not a Waymark local-features blob)");
  const version = view.getUint16(4, true);
  if (version !== LOCAL_FEATURES_VERSION) {
    throw fail(`unknown version ${version} (this build reads ${LOCAL_FEATURES_VERSION})`);
  }
  const dim = view.getUint16(6, true);
  const count = view.getUint32(8, true);
  const expected = LF_HEADER + count * 20 + count * dim;
  if (bytes.length !== expected) {
    throw fail(`size ${bytes.length} does not match ${count} keypoints of dim ${dim} (${expected})`);
  }
  const keypoints = new Float32Array(2 * count),
    scales = new Float32Array(count),
    attention = new Float32Array(count);
  let o = LF_HEADER;
  for (let i = 0; i < 2 * count; i++, o += 4) keypoints[i] = view.getFloat32(o, true);
  for (let i = 0; i < count; i++, o += 4) scales[i] = view.getFloat32(o, true);
  for (let i = 0; i < count; i++, o += 4) attention[i] = view.getFloat32(o, true);
  const scaleAt = o;
  o += 4 * count;
  const q = new Int8Array(bytes.buffer, bytes.byteOffset + o, count * dim);
  const descriptors = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const s = view.getFloat32(scaleAt + 4 * i, true) / 127;
    let n = 0;
    for (let k = 0; k < dim; k++) {
      const v = q[i * dim + k] * s;
      descriptors[i * dim + k] = v;
      n += v * v;
    }
    if (n > 0) {
      const inv = 1 / Math.sqrt(n);
      for (let k = 0; k < dim; k++) descriptors[i * dim + k] *= inv;
    }
  }
  return {
    count,
    dim,
    keypoints,
    scales,
    attention,
    descriptors,
    imageWidth: view.getUint32(12, true),
    imageHeight: view.getUint32(16, true),
  };
}

/** Encode a PCA projection (float32). */
export function encodePca(p: PcaProjection): Uint8Array {
  const n = p.inputDim + p.outputDim + p.outputDim * p.inputDim;
  const buf = new ArrayBuffer(12 + 4 * n);
  const view = new DataView(buf);
  view.setUint32(0, PC_MAGIC, true);
  view.setUint16(4, 1, true);
  view.setUint16(6, p.inputDim, true);
  view.setUint16(8, p.outputDim, true);
  let o = 12;
  for (const arr of [p.mean, p.variances, p.components]) {
    for (let i = 0; i < arr.length; i++, o += 4) view.setFloat32(o, arr[i], true);
  }
  return new Uint8Array(buf);
}

/** Decode a blob written by {@link encodePca}; throws MapFormatError when malformed. */
export function decodePca(bytes: Uint8Array, label = "PCA blob"): PcaProjection {
  const fail = (what: string) =>
    new MapFormatError(`Cannot decode ${label}: ${what}`, { context: { file: label } });
  if (bytes.length < 12) throw fail("too short");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== PC_MAGIC) throw fail("bad magic (not a Waymark PCA blob)");
  if (view.getUint16(4, true) !== 1) throw fail(`unknown version ${view.getUint16(4, true)}`);
  const inputDim = view.getUint16(6, true), outputDim = view.getUint16(8, true);
  const n = inputDim + outputDim + outputDim * inputDim;
  if (bytes.length !== 12 + 4 * n) {
    throw fail(`size ${bytes.length} does not match ${inputDim}->${outputDim}`);
  }
  const read = (o: number, len: number) => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++) a[i] = view.getFloat32(o + 4 * i, true);
    return a;
  };
  return {
    inputDim,
    outputDim,
    mean: read(12, inputDim),
    variances: read(12 + 4 * inputDim, outputDim),
    components: read(12 + 4 * (inputDim + outputDim), outputDim * inputDim),
  };
}
