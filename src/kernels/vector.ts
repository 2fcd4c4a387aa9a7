/**
 * Pure numeric kernels over row-major float matrices (no IO, no allocation in the hot loops).
 *
 * @module
 */

/** Inner product of `a[aOff .. aOff+dim)` and `b[bOff .. bOff+dim)`, 4 independent accumulators. */
export function dot(a: Float32Array, aOff: number, b: Float32Array, bOff: number, dim: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let i = 0;
  const end4 = dim - (dim & 3);
  for (; i < end4; i += 4) {
    const ai = aOff + i, bi = bOff + i;
    s0 += a[ai] * b[bi];
    s1 += a[ai + 1] * b[bi + 1];
    s2 += a[ai + 2] * b[bi + 2];
    s3 += a[ai + 3] * b[bi + 3];
  }
  for (; i < dim; i++) s0 += a[aOff + i] * b[bOff + i];
  return (s0 + s1) + (s2 + s3);
}

/**
 * Inner products of one row `a[aOff .. aOff+dim)` with four queries at once (each row element is loaded once
 * for four products, about twice the throughput of four `dot` calls). Results go to `out[0..4)`.
 */
export function dot4(
  a: Float32Array,
  aOff: number,
  q0: Float32Array,
  q1: Float32Array,
  q2: Float32Array,
  q3: Float32Array,
  dim: number,
  out: Float64Array,
): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i < dim; i++) {
    const x = a[aOff + i];
    s0 += x * q0[i];
    s1 += x * q1[i];
    s2 += x * q2[i];
    s3 += x * q3[i];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

/** Euclidean norm of `v`. */
export function norm(v: Float32Array): number {
  return Math.sqrt(dot(v, 0, v, 0, v.length));
}

/** Scale `v` in place to unit L2 norm (a zero vector is left as is). Returns `v`. */
export function normalizeInPlace(v: Float32Array): Float32Array {
  const n = norm(v);
  if (n > 0) {
    const inv = 1 / n;
    for (let i = 0; i < v.length; i++) v[i] *= inv;
  }
  return v;
}
