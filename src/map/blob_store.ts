/**
 * A per-place blob store in a map folder (local features of keyframes; the verification module defines the
 * blob content): `local.bin` holds the blobs back to back, `local.idx` one 24-byte entry per put.
 *
 * ## `local.idx` entry (little-endian)
 * u32 placeId, u32 blob length, f64 offset in `local.bin`, u32 CRC-32 of the blob, u32 CRC-32 of the first
 * 16 bytes of the entry.
 *
 * `putBlob` appends the blob to `local.bin`, then the entry to `local.idx` (re-putting a place: the last
 * entry wins). On open, the index is read once; a torn or corrupt tail entry, or an entry pointing beyond
 * `local.bin`, ends the index there (the unreferenced bytes are harmless). `getBlob` reads just that blob with
 * a positioned read and checks its CRC, so a large store is never loaded whole.
 *
 * @module
 */
import { join } from "node:path";
import { MapFormatError, ValidationError } from "../errors.ts";
import { crc32 } from "node:zlib";
import { MAP_FILES } from "./format.ts";

const ENTRY = 24;

interface Entry {
  offset: number;
  length: number;
  crc: number;
}

/** Options of {@link BlobStore.open}. */
export interface BlobStoreOptions {
  /** fsync both files after each put. Default false (call `sync()`). */
  syncEachPut?: boolean;
}

/** Per-place blobs in `local.bin` + `local.idx` of a folder. */
export class BlobStore {
  /** Folder holding the two files. */
  readonly dir: string;
  #entries: Map<number, Entry>;
  #data: Deno.FsFile;
  #index: Deno.FsFile;
  #dataSize: number;
  #syncEach: boolean;
  #chain: Promise<unknown> = Promise.resolve();

  private constructor(
    dir: string,
    entries: Map<number, Entry>,
    data: Deno.FsFile,
    index: Deno.FsFile,
    size: number,
    o: BlobStoreOptions,
  ) {
    this.dir = dir;
    this.#entries = entries;
    this.#data = data;
    this.#index = index;
    this.#dataSize = size;
    this.#syncEach = o.syncEachPut ?? false;
  }

  /**
   * Open (creating when absent) the blob store of a folder (usually a map folder).
   *
   * @example
   * ```ts ignore
   * const store = await BlobStore.open("maps/lab");
   * await store.putBlob(3, featuresBytes);
   * const back = await store.getBlob(3);
   * await store.close();
   * ```
   */
  static async open(dir: string, options: BlobStoreOptions = {}): Promise<BlobStore> {
    await Deno.mkdir(dir, { recursive: true });
    const dataPath = join(dir, MAP_FILES.blobData), idxPath = join(dir, MAP_FILES.blobIndex);
    const data = await Deno.open(dataPath, { read: true, write: true, create: true });
    const dataSize = (await data.stat()).size;
    let idxBytes = new Uint8Array(0);
    try {
      idxBytes = await Deno.readFile(idxPath);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    const entries = new Map<number, Entry>();
    const dv = new DataView(idxBytes.buffer, idxBytes.byteOffset, idxBytes.byteLength);
    let valid = 0;
    for (let o = 0; o + ENTRY <= idxBytes.length; o += ENTRY) {
      if (crc32(idxBytes.subarray(o, o + 16)) !== dv.getUint32(o + 20, true)) break;
      const placeId = dv.getUint32(o, true), length = dv.getUint32(o + 4, true);
      const offset = dv.getFloat64(o + 8, true), crc = dv.getUint32(o + 16, true);
      if (offset + length > dataSize) break;
      entries.set(placeId, { offset, length, crc });
      valid = o + ENTRY;
    }
    if (valid < idxBytes.length) await Deno.truncate(idxPath, valid);
    const index = await Deno.open(idxPath, { append: true, create: true });
    return new BlobStore(dir, entries, data, index, dataSize, options);
  }

  /** Number of places with a blob. */
  get size(): number {
    return this.#entries.size;
  }

  /** Place ids with a blob, ascending. */
  placeIds(): number[] {
    return [...this.#entries.keys()].sort((a, b) => a - b);
  }

  /** True when `placeId` has a blob. */
  has(placeId: number): boolean {
    return this.#entries.has(placeId);
  }

  /** Store (or replace) the blob of a place. Puts are serialised in call order. */
  putBlob(placeId: number, blob: Uint8Array): Promise<void> {
    if (!Number.isInteger(placeId) || placeId < 0 || placeId > 0xffffffff) {
      return Promise.reject(
        new ValidationError(`Cannot put blob as 'placeId' must be a u32: current value is ${placeId}`),
      );
    }
    const run = async () => {
      const offset = this.#dataSize;
      await this.#data.seek(offset, Deno.SeekMode.Start);
      let off = 0;
      while (off < blob.length) off += await this.#data.write(blob.subarray(off));
      this.#dataSize += blob.length;
      const e = new Uint8Array(ENTRY);
      const dv = new DataView(e.buffer);
      const crc = crc32(blob);
      dv.setUint32(0, placeId, true);
      dv.setUint32(4, blob.length, true);
      dv.setFloat64(8, offset, true);
      dv.setUint32(16, crc, true);
      dv.setUint32(20, crc32(e.subarray(0, 16)), true);
      if (this.#syncEach) await this.#data.syncData();
      off = 0;
      while (off < ENTRY) off += await this.#index.write(e.subarray(off));
      if (this.#syncEach) await this.#index.syncData();
      this.#entries.set(placeId, { offset, length: blob.length, crc });
    };
    const p = this.#chain.then(run);
    this.#chain = p.catch(() => {});
    return p;
  }

  /**
   * The blob of a place, or undefined when it has none.
   * @throws {MapFormatError} naming `local.bin` when the stored bytes fail their CRC.
   */
  getBlob(placeId: number): Promise<Uint8Array | undefined> {
    const run = async () => {
      const e = this.#entries.get(placeId);
      if (!e) return undefined;
      const out = new Uint8Array(e.length);
      await this.#data.seek(e.offset, Deno.SeekMode.Start);
      let off = 0;
      while (off < e.length) {
        const n = await this.#data.read(out.subarray(off));
        if (n === null) break;
        off += n;
      }
      if (off !== e.length || crc32(out) !== e.crc) {
        const file = join(this.dir, MAP_FILES.blobData);
        throw new MapFormatError(`${file}: blob of place ${placeId} is corrupt (checksum mismatch)`, {
          context: { file, placeId },
        });
      }
      return out;
    };
    const p = this.#chain.then(run);
    this.#chain = p.catch(() => {});
    return p;
  }

  /** fsync both files. */
  async sync(): Promise<void> {
    await this.#chain;
    await this.#data.syncData();
    await this.#index.syncData();
  }

  /** fsync and close. */
  async close(): Promise<void> {
    await this.sync();
    this.#data.close();
    this.#index.close();
  }
}
