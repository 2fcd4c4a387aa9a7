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
 * replayed in order. Only an incomplete last record is a torn tail (a crash part-way through an append): the
 * file is truncated there, losing only that uncommitted record (`recoveredBytes` says so). Any other damage (a
 * record that fails its CRC or structure with valid records after it, or a complete last record that fails
 * its CRC) stops recovery with a {@link JournalCorruptionError} that counts the records affected, leaving the
 * file untouched; `repairJournal` (`waymark map repair`) keeps every valid record and moves the damaged bytes
 * aside.
 *
 * ## fsync policy
 * - `"always"` (default): fsync after each append; the append resolves once the record is durable.
 * - `{ intervalMs }`: fsync at most every `intervalMs` (a timer syncs pending appends); a power loss can lose
 *   the last interval, a process crash loses nothing (the bytes are in the OS cache).
 * - `"never"`: leave it to the OS.
 *
 * One writer at a time: opening takes the map folder's lock (`lock.ts`) unless the caller passes the lock it
 * holds; `close()` releases it. Fold the journal into the map with `compactMap` (`compact.ts`).
 *
 * @module
 */
import { MapFormatError, ValidationError } from "../errors.ts";
import type { Position } from "../types.ts";
import { dirname } from "node:path";
import { crc32 } from "node:zlib";
import { fsyncDir, writeFileSynced } from "./_fs.ts";
import { acquireMapLock, type MapLock } from "./lock.ts";

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
  /** The map folder's lock, when the caller holds it (default: taken on open, released on close). */
  lock?: MapLock;
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

/** The bytes of a journal header (magic, length, CRC-32, JSON). */
export function encodeJournalHeader(h: JournalHeader): Uint8Array {
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

/** A damaged stretch of a journal: bytes that are neither the header nor a valid record. */
export interface DamagedSpan {
  offset: number;
  length: number;
  /** Valid records before it. */
  recordsBefore: number;
}

/** Everything a journal holds, damaged or not (see {@link scanJournal}). */
export interface JournalScan {
  header: JournalHeader;
  /** Bytes of the header. */
  headerBytes: number;
  /** Every valid record, in file order, with its byte offset and size. */
  records: { offset: number; size: number; record: JournalRecord }[];
  /** Stretches that are not valid records, in file order. */
  damaged: DamagedSpan[];
  /**
   * True when the only damage is an incomplete last record (a write cut short by a crash): no valid record
   * follows it, and its bytes are fewer than its length field says (and are not a complete record under a
   * damaged length field).
   */
  tornTail: boolean;
}

/** The journal holds damaged records that are not a torn tail; recovery stops and the file is left untouched. */
export class JournalCorruptionError extends MapFormatError {}

/** The record at `o` when its length, structure, CRC and meta JSON are all valid; null otherwise. */
function recordAt(bytes: Uint8Array, dv: DataView, o: number, dim: number): JournalRecord | null {
  if (o + 8 > bytes.length) return null;
  const len = dv.getUint32(o, true);
  if (len < 20 + 4 * dim || o + 8 + len > bytes.length) return null;
  const p = o + 8;
  const metaLen = dv.getUint32(p + 12, true);
  if (16 + metaLen + 4 * dim + 4 > len) return null;
  const blobLen = dv.getUint32(p + 16 + metaLen + 4 * dim, true);
  if (16 + metaLen + 4 * dim + 4 + blobLen !== len) return null;
  const payload = bytes.subarray(p, p + len);
  if (crc32(payload) !== dv.getUint32(o + 4, true)) return null;
  try {
    return decodePayload(payload, dim);
  } catch {
    return null;
  }
}

/**
 * Read a journal's header and every valid record, including valid records after a damaged stretch (found by
 * scanning forward for the next record whose length, structure and CRC check out). Never throws for damaged
 * records; `damaged` and `tornTail` say what is wrong. With `header` (a stand-in for a damaged header), the
 * whole file is scanned for records of that header's dim, the old header bytes counting as damaged.
 * @throws {MapFormatError} when the file is not a journal (bad magic or header) and no `header` is given.
 */
export function scanJournal(
  bytes: Uint8Array,
  file = "journal.wal",
  options: { header?: JournalHeader } = {},
): JournalScan {
  if (options.header) return scanRecords(bytes, options.header, 0);
  const bad = (problem: string) => new MapFormatError(`${file}: ${problem}`, { context: { file } });
  if (bytes.length < 16 || dec.decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw bad("not a Waymark keyframe journal");
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hLen = dv.getUint32(8, true);
  if (16 + hLen > bytes.length) throw bad("truncated header");
  const hBytes = bytes.subarray(16, 16 + hLen);
  if (crc32(hBytes) !== dv.getUint32(12, true)) throw bad("header checksum mismatch");
  let header: JournalHeader;
  try {
    header = JSON.parse(dec.decode(hBytes)) as JournalHeader;
  } catch (cause) {
    throw new MapFormatError(`${file}: malformed header`, { cause, context: { file } });
  }
  if (!Number.isInteger(header?.dim) || header.dim <= 0) throw bad(`header 'dim' is ${header?.dim}`);
  return scanRecords(bytes, header, 16 + hLen);
}

/** Records from byte `start` on (see {@link scanJournal}); `start` is the header's size. */
function scanRecords(bytes: Uint8Array, header: JournalHeader, start: number): JournalScan {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dim = header.dim;
  const records: JournalScan["records"] = [];
  const damaged: DamagedSpan[] = [];
  let o = start;
  const n = bytes.length;
  while (o < n) {
    const rec = recordAt(bytes, dv, o, dim);
    if (rec) {
      const size = 8 + dv.getUint32(o, true);
      records.push({ offset: o, size, record: rec });
      o += size;
      continue;
    }
    let next = o + 1;
    while (next < n && recordAt(bytes, dv, next, dim) === null) next++;
    damaged.push({ offset: o, length: next - o, recordsBefore: records.length });
    o = next;
  }
  let tornTail = false;
  if (damaged.length === 1 && damaged[0].offset + damaged[0].length === n) {
    const d = damaged[0].offset;
    if (n - d < 8) tornTail = true;
    else {
      const len = dv.getUint32(d, true);
      // Short of its length, and not a whole record whose length field alone is damaged.
      tornTail = d + 8 + len > n && crc32(bytes.subarray(d + 8, n)) !== dv.getUint32(d + 4, true);
    }
  }
  return { header, headerBytes: start, records, damaged, tornTail };
}

/**
 * Read a journal file: header and every committed record, and where a torn tail starts. Only an incomplete
 * last record counts as a torn tail (dropped by recovery); any other damage throws.
 * @throws {MapFormatError} when the file is not a journal (bad magic or header).
 * @throws {JournalCorruptionError} when a record is damaged and is not an incomplete last record (valid
 *   records follow it, or it is complete but fails its CRC): the message says how many records are affected
 *   and how to salvage them (`waymark map repair`).
 */
export function parseJournal(bytes: Uint8Array, file = "journal.wal"): ReplayResult {
  const scan = scanJournal(bytes, file);
  const records = scan.records.map((r) => r.record);
  if (scan.damaged.length === 0) {
    return { header: scan.header, records, validBytes: bytes.length, tornBytes: 0 };
  }
  if (scan.tornTail) {
    const at = scan.damaged[0].offset;
    return { header: scan.header, records, validBytes: at, tornBytes: bytes.length - at };
  }
  throw corruption(file, scan, bytes.length);
}

function corruption(file: string, scan: JournalScan, size: number): JournalCorruptionError {
  const first = scan.damaged[0];
  const after = scan.records.length - first.recordsBefore;
  const bytes = scan.damaged.reduce((s, d) => s + d.length, 0);
  const where = `record ${first.recordsBefore + 1} (byte ${first.offset} of ${size})`;
  const what = after > 0
    ? `${after} valid record(s) follow it, which dropping the tail would lose`
    : "it is complete but fails its checksum (damage, not a write cut short by a crash)";
  const dir = dirname(file);
  return new JournalCorruptionError(
    `${file}: ${where} is damaged and ${what}; ${scan.damaged.length} damaged stretch(es), ${bytes} bytes, ` +
      `${scan.records.length} valid record(s) in all. Recovery stopped and the file is untouched: run ` +
      `'waymark map repair ${dir}' to keep every valid record and move the damaged bytes aside`,
    {
      context: {
        file,
        validRecords: scan.records.length,
        recordsAfterDamage: after,
        damagedBytes: bytes,
        damagedSpans: scan.damaged.length,
      },
    },
  );
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
  #ownLock: MapLock | undefined;

  private constructor(
    path: string,
    file: Deno.FsFile,
    r: ReplayResult,
    policy: FsyncPolicy,
    ownLock: MapLock | undefined,
  ) {
    this.#ownLock = ownLock;
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
   * a torn tail (an incomplete last record; `recoveredBytes` > 0).
   * @throws {MapFormatError} when the file is not a journal, or its dim / model id differ from the options.
   * @throws {JournalCorruptionError} when records are damaged otherwise (the file is left untouched).
   * @throws {MapLockedError} when another writer holds the map folder's lock.
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
    const ownLock = options.lock
      ? undefined
      : await acquireMapLock(dirname(path), { command: "waymark (journal)" });
    try {
      return await KeyframeJournal.#openLocked(path, options, dim, policy, ownLock);
    } catch (err) {
      await ownLock?.release();
      throw err;
    }
  }

  static async #openLocked(
    path: string,
    options: JournalOptions,
    dim: number,
    policy: FsyncPolicy,
    ownLock: MapLock | undefined,
  ): Promise<KeyframeJournal> {
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
      const hb = encodeJournalHeader(header);
      await writeFileSynced(path, hb);
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
    return new KeyframeJournal(path, file, result, policy, ownLock);
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

  /** Flush, fsync and close; releases the lock taken on open (also when the final sync fails). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.sync();
    } finally {
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#closed = true;
      this.#file.close();
      await this.#ownLock?.release();
    }
  }
}
