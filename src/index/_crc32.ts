/**
 * CRC-32 (IEEE 802.3, the zlib/PNG polynomial) for index files: `crc32` is the platform's (`node:zlib`,
 * incremental through its second argument), and {@link crc32File} feeds it a file in chunks.
 *
 * @module
 */
import { crc32 } from "node:zlib";

export { crc32 };

/**
 * CRC-32 of a whole file, read in chunks (constant memory).
 *
 * @example
 * ```ts
 * import { crc32File } from "./_crc32.ts";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "123456789");
 * console.assert((await crc32File(path)) === 0xcbf43926);
 * await Deno.remove(path);
 * ```
 */
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
