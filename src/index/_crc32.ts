/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial) over bytes, slice-by-4, incremental.
 *
 * @module
 */

const TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  const tables = [t0];
  for (let s = 1; s < 4; s++) {
    const prev = tables[s - 1];
    const t = new Uint32Array(256);
    for (let n = 0; n < 256; n++) t[n] = (t0[prev[n] & 0xff] ^ (prev[n] >>> 8)) >>> 0;
    tables.push(t);
  }
  return tables;
})();

/**
 * Update a running CRC-32 with `bytes`. Start with `crc = 0`; the result of one call feeds the next.
 *
 * @example
 * ```ts
 * import { crc32 } from "./_crc32.ts";
 * const all = crc32(new TextEncoder().encode("123456789"));
 * console.assert(all === 0xcbf43926);
 * ```
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const [t0, t1, t2, t3] = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = bytes.length;
  const end4 = n - (n % 4);
  for (; i < end4; i += 4) {
    c ^= bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    c = t3[c & 0xff] ^ t2[(c >>> 8) & 0xff] ^ t1[(c >>> 16) & 0xff] ^ t0[c >>> 24];
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** CRC-32 of a whole file, read in chunks (constant memory). */
export async function crc32File(path: string, chunkBytes = 4 << 20): Promise<number> {
  const file = await Deno.open(path, { read: true });
  try {
    const buf = new Uint8Array(chunkBytes);
    let crc = 0;
    for (;;) {
      const got = await file.read(buf);
      if (got === null) break;
      crc = crc32(got === buf.length ? buf : buf.subarray(0, got), crc);
    }
    return crc;
  } finally {
    file.close();
  }
}
