/**
 * `BruteForceIndex`: exact nearest neighbours by inner product, scanning every vector. The reference that
 * `HnswIndex` is measured against, and the right choice below a few tens of thousands of vectors.
 *
 * Vectors live row-major in one growable `Float32Array`; ids are arbitrary integers in [0, 2^32-1] mapped to
 * rows; re-adding an id overwrites its row. Search is one pass of unrolled dot products feeding a k-sized heap;
 * `searchBatch` scores four queries per pass over the rows (about twice the throughput of one `search` per
 * query).
 *
 * ## File format (version 1, little-endian)
 *
 * | offset        | size          | content                                                      |
 * | ------------- | ------------- | ------------------------------------------------------------ |
 * | 0             | 8             | magic, ASCII `WAYMKBFI`                                      |
 * | 8             | 4             | u32 format version (1)                                       |
 * | 12            | 4             | u32 dim                                                      |
 * | 16            | 4             | u32 count                                                    |
 * | 20            | 4             | u32 CRC-32 of the payload (ids then vectors)                 |
 * | 24            | 4             | u32 CRC-32 of bytes 0..24                                    |
 * | 28            | 4             | reserved, 0                                                  |
 * | 32            | 4 * count     | u32 ids, in row order                                        |
 * | 32 + 4*count  | 4*count*dim   | f32 vectors, row-major                                       |
 *
 * The file length must be exactly `32 + 4*count*(1 + dim)`. `save` writes a temporary sibling and renames it.
 *
 * @example
 * ```ts
 * import { BruteForceIndex } from "./brute_force_index.ts";
 * const index = new BruteForceIndex(3);
 * index.add(7, new Float32Array([1, 0, 0]));
 * index.add(9, new Float32Array([0, 1, 0]));
 * const hits = index.search(new Float32Array([0.8, 0.6, 0]), 1);
 * console.assert(hits[0].id === 7);
 * ```
 *
 * @module
 */

import { IndexError, invalid, requirePositiveInt } from "../errors.ts";
import { writeAtomically } from "../_fs.ts";
import { crc32 } from "node:zlib";
import { dot, dot4 } from "../kernels/vector.ts";
import { TopK } from "./_top_k.ts";
import { checkId, checkK, checkVector, indexError } from "./_validate.ts";
import type { SearchHit, SearchOptions, VectorIndex } from "./vector_index.ts";

/** Options of a `BruteForceIndex`. */
export interface BruteForceIndexOptions {
  /** Rows allocated up front; the store doubles when full. Default: 1024. */
  initialCapacity?: number;
}

const MAGIC = "WAYMKBFI";
const VERSION = 1;
const HEADER_BYTES = 32;
/** Queries scored together per pass over the rows in `searchBatch` (the width of `dot4`). */
const BATCH_BLOCK = 4;

/** Exact inner-product index (see the module documentation for the file format). */
export class BruteForceIndex implements VectorIndex {
  /** Vector dimension. */
  readonly dim: number;
  private data: Float32Array;
  private rowIds: Uint32Array;
  private rows = 0;
  private readonly rowOf = new Map<number, number>();

  /**
   * An empty index of `dim`-dimensional vectors.
   * @throws ValidationError when `dim` or an option is invalid.
   */
  constructor(dim: number, options: BruteForceIndexOptions = {}) {
    this.dim = requirePositiveInt("create brute-force index", "dim", dim);
    const capacity = options.initialCapacity ?? 1024;
    requirePositiveInt("create brute-force index", "initialCapacity", capacity);
    this.data = new Float32Array(capacity * dim);
    this.rowIds = new Uint32Array(capacity);
  }

  /**
   * An index over an existing row-major matrix, without copying it: the index takes ownership of `data`
   * (do not modify it afterwards). Ids default to the row numbers 0..n-1.
   * @throws ValidationError when the shapes disagree; IndexError on duplicate or invalid ids.
   */
  static fromMatrix(dim: number, data: Float32Array, ids?: Uint32Array): BruteForceIndex {
    requirePositiveInt("create brute-force index from matrix", "dim", dim);
    if (!(data instanceof Float32Array) || data.length % dim !== 0) {
      throw invalid(
        "create brute-force index from matrix",
        "data.length",
        `a multiple of dim ${dim}`,
        data?.length,
      );
    }
    const n = data.length / dim;
    if (ids !== undefined && ids.length !== n) {
      throw invalid("create brute-force index from matrix", "ids.length", `the row count ${n}`, ids.length);
    }
    const index = new BruteForceIndex(dim, { initialCapacity: 1 });
    index.data = data;
    index.rowIds = ids ?? Uint32Array.from({ length: n }, (_, i) => i);
    index.rows = n;
    for (let r = 0; r < n; r++) {
      const id = index.rowIds[r];
      if (index.rowOf.has(id)) throw indexError("create brute-force index from matrix", "ids", "unique", id);
      index.rowOf.set(id, r);
    }
    return index;
  }

  /** Number of vectors held. */
  get size(): number {
    return this.rows;
  }

  /** True when `id` is in the index. */
  has(id: number): boolean {
    return this.rowOf.has(id);
  }

  /** The ids held, in insertion order. */
  ids(): number[] {
    return Array.from(this.rowIds.subarray(0, this.rows));
  }

  /** A copy of the vector stored under `id`, or undefined. */
  getVector(id: number): Float32Array | undefined {
    const row = this.rowOf.get(id);
    if (row === undefined) return undefined;
    return this.data.slice(row * this.dim, (row + 1) * this.dim);
  }

  /**
   * Add `vector` under `id`; re-adding an id replaces its vector. The vector is copied.
   * @throws IndexError on a bad id, a wrong dimension or non-finite values.
   */
  add(id: number, vector: Float32Array): void {
    checkId("add vector", id);
    checkVector("add vector", "vector", vector, this.dim);
    let row = this.rowOf.get(id);
    if (row === undefined) {
      if (this.rows === this.rowIds.length) this.grow(this.rows + 1);
      row = this.rows++;
      this.rowIds[row] = id;
      this.rowOf.set(id, row);
    }
    this.data.set(vector, row * this.dim);
  }

  /**
   * The `k` ids of largest inner product with `query`, most similar first (ties: smaller id first). Returns
   * fewer when fewer ids (pass the filter); `[]` on an empty index.
   * @throws IndexError on a wrong dimension, non-finite values or a negative k.
   */
  search(query: Float32Array, k: number, options: SearchOptions = {}): SearchHit[] {
    checkVector("search index", "query", query, this.dim);
    checkK("search index", k);
    const top = new TopK(Math.min(k, this.rows));
    if (top.k === 0) return [];
    const { data, rowIds, dim, rows } = this;
    const filter = options.filter;
    for (let r = 0, off = 0; r < rows; r++, off += dim) {
      const s = dot(data, off, query, 0, dim);
      if (top.accepts(s, rowIds[r]) && (filter === undefined || filter(rowIds[r]))) top.push(s, rowIds[r]);
    }
    return top.sorted();
  }

  /**
   * `search` for many queries at once: the same hits as one `search` per query, with similarities equal up to
   * float rounding in the last bits (so exact near-ties may swap). Scores four queries per pass over the
   * stored rows (each stored value is loaded once for four products: about twice the throughput).
   * @throws IndexError on a wrong dimension, non-finite values or a negative k.
   */
  searchBatch(queries: readonly Float32Array[], k: number, options: SearchOptions = {}): SearchHit[][] {
    for (let q = 0; q < queries.length; q++) {
      checkVector("search index", `queries[${q}]`, queries[q], this.dim);
    }
    checkK("search index", k);
    const kk = Math.min(k, this.rows);
    const results: SearchHit[][] = [];
    if (kk === 0) return queries.map(() => []);
    const { data, rowIds, dim, rows } = this;
    const filter = options.filter;
    const passed = filter === undefined ? undefined : new Map<number, boolean>();
    const allowed = (id: number): boolean => {
      if (filter === undefined) return true;
      let ok = passed!.get(id);
      if (ok === undefined) passed!.set(id, ok = Boolean(filter(id)));
      return ok;
    };
    for (let q0 = 0; q0 < queries.length; q0 += BATCH_BLOCK) {
      const block = queries.slice(q0, q0 + BATCH_BLOCK);
      const tops = block.map(() => new TopK(kk));
      const b = block.length;
      if (b === BATCH_BLOCK) {
        const [qa, qb, qc, qd] = block;
        const [ta, tb, tc, td] = tops;
        const s = new Float64Array(4);
        for (let r = 0, off = 0; r < rows; r++, off += dim) {
          const id = rowIds[r];
          dot4(data, off, qa, qb, qc, qd, dim, s);
          if (ta.accepts(s[0], id) && allowed(id)) ta.push(s[0], id);
          if (tb.accepts(s[1], id) && allowed(id)) tb.push(s[1], id);
          if (tc.accepts(s[2], id) && allowed(id)) tc.push(s[2], id);
          if (td.accepts(s[3], id) && allowed(id)) td.push(s[3], id);
        }
      } else {
        for (let r = 0, off = 0; r < rows; r++, off += dim) {
          const id = rowIds[r];
          for (let j = 0; j < b; j++) {
            const s = dot(data, off, block[j], 0, dim);
            if (tops[j].accepts(s, id) && allowed(id)) tops[j].push(s, id);
          }
        }
      }
      for (const t of tops) results.push(t.sorted());
    }
    return results;
  }

  /** Write the index to `path` atomically (temporary sibling, then rename); format in the module docs. */
  async save(path: string): Promise<void> {
    assertLittleEndian();
    const { dim, rows } = this;
    const idBytes = new Uint8Array(this.rowIds.buffer, this.rowIds.byteOffset, rows * 4);
    const vecBytes = new Uint8Array(this.data.buffer, this.data.byteOffset, rows * dim * 4);
    const header = new Uint8Array(HEADER_BYTES);
    const view = new DataView(header.buffer);
    header.set(new TextEncoder().encode(MAGIC), 0);
    view.setUint32(8, VERSION, true);
    view.setUint32(12, dim, true);
    view.setUint32(16, rows, true);
    view.setUint32(20, crc32(vecBytes, crc32(idBytes)), true);
    view.setUint32(24, crc32(header.subarray(0, 24)), true);
    await writeAtomically(path, async (temp) => {
      const file = await Deno.open(temp, { write: true, create: true, truncate: true });
      try {
        for (const part of [header, idBytes, vecBytes]) await writeAll(file, part);
      } finally {
        file.close();
      }
    });
  }

  /**
   * Read an index written by `save`.
   * @throws IndexError naming the file when it is missing, truncated, corrupt, of another format or version.
   */
  static async load(path: string): Promise<BruteForceIndex> {
    assertLittleEndian();
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (cause) {
      throw new IndexError(`Cannot load brute-force index '${path}': ${(cause as Error).message}`, {
        cause,
        context: { file: path },
      });
    }
    const fail = (problem: string) =>
      new IndexError(`Cannot load brute-force index '${path}': ${problem}`, { context: { file: path } });
    if (bytes.length < HEADER_BYTES) {
      throw fail(`file is truncated (${bytes.length} bytes, the header alone is ${HEADER_BYTES})`);
    }
    const magic = new TextDecoder().decode(bytes.subarray(0, 8));
    if (magic !== MAGIC) throw fail(`not a Waymark brute-force index (magic ${JSON.stringify(magic)})`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
    if (view.getUint32(24, true) !== crc32(bytes.subarray(0, 24))) {
      throw fail("header checksum mismatch (corrupt)");
    }
    const version = view.getUint32(8, true);
    if (version !== VERSION) {
      throw fail(`unsupported format version ${version} (this build reads ${VERSION})`);
    }
    const dim = view.getUint32(12, true);
    const count = view.getUint32(16, true);
    if (dim === 0) throw fail("header has dim 0 (corrupt)");
    const expected = HEADER_BYTES + 4 * count * (1 + dim);
    if (bytes.length < expected) {
      throw fail(`file is truncated (${bytes.length} bytes, expected ${expected})`);
    }
    if (bytes.length > expected) {
      throw fail(`file has trailing bytes (${bytes.length} bytes, expected ${expected})`);
    }
    const idBytes = bytes.subarray(HEADER_BYTES, HEADER_BYTES + 4 * count);
    const vecBytes = bytes.subarray(HEADER_BYTES + 4 * count);
    if (view.getUint32(20, true) !== crc32(vecBytes, crc32(idBytes))) {
      throw fail("payload checksum mismatch (corrupt)");
    }
    const aligned = bytes.byteOffset % 4 === 0;
    const ids = aligned
      ? new Uint32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES, count)
      : new Uint32Array(idBytes.slice().buffer);
    const data = aligned
      ? new Float32Array(bytes.buffer, bytes.byteOffset + HEADER_BYTES + 4 * count, count * dim)
      : new Float32Array(vecBytes.slice().buffer);
    try {
      return BruteForceIndex.fromMatrix(dim, data, ids);
    } catch (cause) {
      throw new IndexError(`Cannot load brute-force index '${path}': ${(cause as Error).message}`, {
        cause,
        context: { file: path },
      });
    }
  }

  private grow(minRows: number): void {
    const capacity = Math.max(minRows, this.rowIds.length * 2, 16);
    const data = new Float32Array(capacity * this.dim);
    data.set(this.data.subarray(0, this.rows * this.dim));
    const ids = new Uint32Array(capacity);
    ids.set(this.rowIds.subarray(0, this.rows));
    this.data = data;
    this.rowIds = ids;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off, off + (64 << 20)));
}

function assertLittleEndian(): void {
  if (new Uint8Array(new Uint32Array([1]).buffer)[0] !== 1) {
    throw new IndexError(
      "Cannot read or write index files on a big-endian host (the format is little-endian)",
    );
  }
}
