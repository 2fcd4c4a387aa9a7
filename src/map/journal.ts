/**
 * An append-only keyframe journal for SLAM (`journal.wal` in the map folder): every new keyframe is
 * appended as one record before it is acknowledged, so that a crash loses no committed keyframe.
 *
 * ## File format (little-endian)
 * - Header: ASCII magic `WMJRNL01` (8 bytes), u32 byte length L of the header JSON, u32 CRC-32 of it, then
 *   the JSON `{ dim, modelId, created }`.
 * - Records, each: u32 payload length P, u32 CRC-32 of the payload, then the payload:
 *   f64 stamp, u32 placeId, u32 meta length M, M bytes of meta JSON, f32 x dim descriptor,
 *   u32 blob length B, B bytes of local-feature blob (B = 0 when absent).
 *
 * A record is committed once its bytes are written (and synced, per the fsync policy). On open, records are
 * replayed in order; the first record that is incomplete or fails its CRC marks a torn tail (a crash part-way
 * through an append): the file is truncated there, losing only that uncommitted record.
 *
 * ## fsync policy
 * - `"always"` (default): fsync after each append; the append resolves once the record is durable.
 * - `{ intervalMs }`: fsync at most every `intervalMs` (a timer syncs pending appends); a power loss can lose
 *   the last interval, a process crash loses nothing (the bytes are in the OS cache).
 * - `"never"`: leave it to the OS.
 *
 * One writer at a time per journal. Fold the journal into the map with `compactMap` (`compact.ts`).
 *
 * @module
 */
import { MapFormatError, ValidationError } from "../errors.ts";
import type { Position } from "../types.ts";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir } from "./_fs.ts";

/** Place metadata stored with a keyframe (beyond id and stamp). */
export interface JournalMeta {
  image?: string;
  position?: Position;
  [key: string]: unknown;
}

/** One journaled keyframe. */
export interface JournalRecord {
  placeId: number;
  stamp: number;
  meta: JournalMeta;
  /** Global descriptor, length = the journal's dim. */
  descriptor: Float32Array;
  /** Optional local-feature blob (content defined by the verification module). */
  local?: Uint8Array;
}

/** The journal's header. */
export interface JournalHeader {
  dim: number;
  /** Id of the model that computed the descriptors (empty when not known). */
  modelId: string;
  created: string;
}

/** When appends are fsynced. */
export type FsyncPolicy = "always" | "never" | { intervalMs: number };

/** Options of {@link KeyframeJournal.open}. */
export interface JournalOptions {
  /** Descriptor length; must match an existing journal. */
  dim: number;
  /** Model id recorded in a new journal and checked against an existing one (when both are non-empty). Default "". */
  modelId?: string;
  /** Default `"always"`. */
  fsync?: FsyncPolicy;
}

/** What replaying a journal found. */
export interface ReplayResult {
  header: JournalHeader;
  records: JournalRecord[];
  /** Bytes of header + valid records. */
  validBytes: number;
  /** Bytes after the last valid record (a torn tail) that recovery truncates. */
  tornBytes: number;
}

const MAGIC = "WMJRNL01";
const enc = new TextEncoder(), dec = new TextDecoder();

function encodeHeader(h: JournalHeader): Uint8Array {
  const json = enc.encode(JSON.stringify(h));
  const out = new Uint8Array(16 + json.length);
  out.set(enc.encode(MAGIC));
  const dv = new DataView(out.buffer);
  dv.setUint32(8, json.length, true);
  dv.setUint32(12, crc32(json), true);
  out.set(json, 16);
  return out;
}

/**
 * Encode one record (length, CRC, payload) as the bytes appended to the journal.
 * @throws {ValidationError} when the descriptor length is not `dim` or the place id is not a u32.
 */
export function encodeRecord(rec: JournalRecord, dim: number): Uint8Array {
  if (rec.descriptor.length !== dim) {
    throw new ValidationError(
      `Cannot journal keyframe as 'descriptor.length' must be ${dim}: current value is ${rec.descriptor.length}`,
    );
  }
  if (!Number.isInteger(rec.placeId) || rec.placeId < 0 || rec.placeId > 0xffffffff) {
    throw new ValidationError(
      `Cannot journal keyframe as 'placeId' must be a u32: current value is ${rec.placeId}`,
    );
  }
  const meta = enc.encode(JSON.stringify(rec.meta ?? {}));
  const blob = rec.local ?? new Uint8Array(0);
  const payloadLen = 8 + 4 + 4 + meta.length + 4 * dim + 4 + blob.length;
  const out = new Uint8Array(8 + payloadLen);
  const dv = new DataView(out.buffer);
  let o = 8;
  dv.setFloat64(o, rec.stamp, true);
  dv.setUint32(o + 8, rec.placeId, true);
  dv.setUint32(o + 12, meta.length, true);
  o += 16;
  out.set(meta, o);
  o += meta.length;
  for (let i = 0; i < dim; i++) dv.setFloat32(o + 4 * i, rec.descriptor[i], true);
  o += 4 * dim;
  dv.setUint32(o, blob.length, true);
  out.set(blob, o + 4);
  dv.setUint32(0, payloadLen, true);
  dv.setUint32(4, crc32(out.subarray(8)), true);
  return out;
}

function decodePayload(p: Uint8Array, dim: number): JournalRecord | null {
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  if (p.length < 16) return null;
  const stamp = dv.getFloat64(0, true), placeId = dv.getUint32(8, true), metaLen = dv.getUint32(12, true);
  let o = 16 + metaLen;
  if (o + 4 * dim + 4 > p.length) return null;
  const meta = JSON.parse(dec.decode(p.subarray(16, o))) as JournalMeta;
  const descriptor = new Float32Array(dim);
  for (let i = 0; i < dim; i++) descriptor[i] = dv.getFloat32(o + 4 * i, true);
  o += 4 * dim;
  const blobLen = dv.getUint32(o, true);
  if (o + 4 + blobLen !== p.length) return null;
  const rec: JournalRecord = { placeId, stamp, meta, descriptor };
  if (blobLen > 0) rec.local = p.slice(o + 4, o + 4 + blobLen);
  return rec;
}

/**
 * Read a journal file: header and every committed record, and where a torn tail starts.
 * @throws {MapFormatError} when the file is not a journal (bad magic or header).
 */
export function parseJournal(bytes: Uint8Array, file = "journal.wal"): ReplayResult {
  const bad = (problem: string) => new MapFormatError(`${file}: ${problem}`, { context: { file } });
  if (bytes.length < 16 || dec.decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad("not a Waymark keyframe journal");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hLen = dv.getUint32(8, true);
  if (16 + hLen > bytes.length) throw bad("truncated header");
  const hBytes = bytes.subarray(16, 16 + hLen);
  if (crc32(hBytes) !== dv.getUint32(12, true)) throw bad("header checksum mismatch");
  const header = JSON.parse(dec.decode(hBytes)) as JournalHeader;
  const records: JournalRecord[] = [];
  let o = 16 + hLen;
  while (o + 8 <= bytes.length) {
    const len = dv.getUint32(o, true), crc = dv.getUint32(o + 4, true);
    if (o + 8 + len > bytes.length) break;
    const payload = bytes.subarray(o + 8, o + 8 + len);
    if (crc32(payload) !== crc) break;
    let rec: JournalRecord | null;
    try {
      rec = decodePayload(payload, header.dim);
    } catch {
      rec = null;
    }
    if (!rec) break;
    records.push(rec);
    o += 8 + len;
  }
  return { header, records, validBytes: o, tornBytes: bytes.length - o };
}

/**
 * Read a journal from disk without modifying it.
 * @throws {MapFormatError} when the file is missing or not a journal.
 */
export async function replayJournal(path: string): Promise<ReplayResult> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (cause) {
    throw new MapFormatError(`${path}: cannot read journal: ${(cause as Error).message}`, {
      cause,
      context: { file: path },
    });
  }
  return parseJournal(bytes, path);
}

function checkPolicy(p: FsyncPolicy): FsyncPolicy {
  if (p === "always" || p === "never") return p;
  if (p && typeof p === "object" && Number.isFinite(p.intervalMs) && p.intervalMs > 0) return p;
  throw new ValidationError(
    `Cannot open journal as 'fsync' must be "always", "never" or { intervalMs > 0 }: current value is ${
      JSON.stringify(p)
    }`,
  );
}

/** An open keyframe journal (see the module documentation). */
export class KeyframeJournal {
  /** Path of the journal file. */
  readonly path: string;
  readonly header: JournalHeader;
  /** Records replayed when the journal was opened (committed before). */
  readonly replayed: JournalRecord[];
  /** Bytes of torn tail removed when the journal was opened (0 after a clean shutdown). */
  readonly recoveredBytes: number;
  #file: Deno.FsFile;
  #policy: FsyncPolicy;
  #chain: Promise<void> = Promise.resolve();
  #dirty = false;
  #lastSync = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #count: number;
  #closed = false;

  private constructor(path: string, file: Deno.FsFile, r: ReplayResult, policy: FsyncPolicy) {
    this.path = path;
    this.#file = file;
    this.header = r.header;
    this.replayed = r.records;
    this.recoveredBytes = r.tornBytes;
    this.#policy = policy;
    this.#count = r.records.length;
  }

  /**
   * Open (creating when absent) the journal at `path`: replays committed records into `replayed` and truncates
   * a torn tail.
   * @throws {MapFormatError} when the file is not a journal, or its dim / model id differ from the options.
   *
   * @example
   * ```ts ignore
   * const j = await KeyframeJournal.open("maps/lab/journal.wal", { dim: 4096, fsync: { intervalMs: 200 } });
   * for (const r of j.replayed) index.add(r.placeId, r.descriptor);
   * await j.append({ placeId: 12, stamp: 3.4, meta: { image: "cam/12" }, descriptor });
   * await j.close();
   * ```
   */
  static async open(path: string, options: JournalOptions): Promise<KeyframeJournal> {
    const dim = options.dim;
    if (!Number.isInteger(dim) || dim <= 0) {
      throw new ValidationError(
        `Cannot open journal as 'dim' must be a positive integer: current value is ${dim}`,
      );
    }
    const policy = checkPolicy(options.fsync ?? "always");
    let bytes: Uint8Array | null = null;
    try {
      bytes = await Deno.readFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    let result: ReplayResult;
    if (bytes === null || bytes.length === 0) {
      const header: JournalHeader = {
        dim,
        modelId: options.modelId ?? "",
        created: new Date().toISOString(),
      };
      const hb = encodeHeader(header);
      const f = await Deno.open(path, { write: true, create: true, truncate: true });
      try {
        let off = 0;
        while (off < hb.length) off += await f.write(hb.subarray(off));
        await f.sync();
      } finally {
        f.close();
      }
      await fsyncDir(dirname(path)); // make the new file's directory entry durable
      result = { header, records: [], validBytes: hb.length, tornBytes: 0 };
    } else {
      result = parseJournal(bytes, path);
      if (result.header.dim !== dim) {
        throw new MapFormatError(`${path}: journal descriptors are ${result.header.dim}-d, not ${dim}-d`, {
          context: { file: path },
        });
      }
      const want = options.modelId ?? "";
      if (want && result.header.modelId && want !== result.header.modelId) {
        throw new MapFormatError(
          `${path}: journal was written with model id ${result.header.modelId} but the model in use is ${want}`,
          { context: { file: path } },
        );
      }
      if (result.tornBytes > 0) {
        await Deno.truncate(path, result.validBytes);
      }
    }
    const file = await Deno.open(path, { append: true });
    if (result.tornBytes > 0) await file.sync();
    return new KeyframeJournal(path, file, result, policy);
  }

  /** Records in the journal (replayed + appended). */
  get count(): number {
    return this.#count;
  }

  /**
   * Append one keyframe. Resolves when the record is written (and durable under the `"always"` policy).
   * Appends are serialised in call order.
   */
  append(record: JournalRecord): Promise<void> {
    if (this.#closed) return Promise.reject(new MapFormatError(`${this.path}: journal is closed`));
    let bytes: Uint8Array;
    try {
      bytes = encodeRecord(record, this.header.dim);
    } catch (err) {
      return Promise.reject(err);
    }
    const run = async () => {
      let off = 0;
      while (off < bytes.length) off += await this.#file.write(bytes.subarray(off));
      this.#count++;
      this.#dirty = true;
      await this.#afterWrite();
    };
    const p = this.#chain.then(run);
    this.#chain = p.catch(() => {});
    return p;
  }

  async #afterWrite(): Promise<void> {
    const policy = this.#policy;
    if (policy === "always") return await this.#syncNow();
    if (policy === "never") return;
    const now = performance.now();
    if (now - this.#lastSync >= policy.intervalMs) return await this.#syncNow();
    if (this.#timer === undefined) {
      const timer = setTimeout(() => {
        this.#timer = undefined;
        this.#chain = this.#chain.then(() => this.#syncNow()).catch(() => {});
      }, policy.intervalMs);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  async #syncNow(): Promise<void> {
    if (!this.#dirty || this.#closed) return;
    this.#dirty = false;
    this.#lastSync = performance.now();
    await this.#file.syncData();
  }

  /** Wait for pending appends and fsync now. */
  async sync(): Promise<void> {
    await this.#chain;
    await this.#syncNow();
  }

  /** Flush, fsync and close. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    await this.sync();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#closed = true;
    this.#file.close();
  }
}
