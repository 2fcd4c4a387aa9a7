/**
 * `FleetMap`: one robot's view of a place map shared by a fleet in a Postgres + pgvector table (the schema of
 * `PgVectorIndex`). The live path never waits on the network:
 *
 * - `addPlace(vector, stamp)` is synchronous: the place gets the key (robot, seq), is appended to the outbox
 *   file in the map folder (`fleet_outbox.jsonl`) and to the local cache, and is queued for the database.
 * - `search` is synchronous and answers from the local cache (an `HnswIndex`), which holds every place of the
 *   shared table pulled so far plus this robot's own places.
 * - In the background (`refreshMs`), and on demand (`sync()`, `waymark map pull`), queued places are written in
 *   one transaction of multi-row inserts (`ON CONFLICT (robot, seq) DO NOTHING`, so a replay never duplicates),
 *   then new rows of other robots and sessions are pulled into the cache.
 * - Any database operation that fails or takes longer than `timeoutMs` turns the state to `"offline"` (a
 *   `state` event, and `stats()`); the places stay queued in the outbox, the cache keeps answering, and the
 *   next attempt (every `refreshMs`) reconnects through `connect()` and replays the queue. The outbox survives
 *   a restart: places not yet confirmed are replayed by the next `open`.
 * - `close()` saves the cache in the map folder (`fleet_cache.hnsw` + `fleet_cache_places.json`) and `open`
 *   loads it, so a robot restarted while the database is away still answers from every place it had.
 *
 * Place keys are unique across robots by construction: (robot id, per-robot sequence number); the database also
 * gives each row an `id` from its own sequence. One writer per robot id at a time (its rows commit in sequence
 * order, which is what makes the per-robot pull cursor exact). Rows without a robot (written through
 * `PgVectorIndex.add`) are not pulled.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { IndexError, MapFormatError, ValidationError } from "../errors.ts";
import { writeAtomically } from "../_fs.ts";
import { type PgConnection, textToVector, vectorToText } from "../index/pg_connection.ts";
import { checkVector } from "../index/vector_index.ts";
import { HnswIndex, type HnswIndexOptions } from "../index/hnsw_index.ts";
import {
  checkTableMatches,
  describeTableStatement,
  placeTableStatements,
  preludeStatements,
} from "../index/pgvector_index.ts";
import { checkTableName, DEFAULT_TABLE } from "../index/pg_connection.ts";
import { HNSW_DEFAULTS } from "../index/hnsw_index.ts";

/** Where a place came from. */
export interface FleetPlace {
  robot: string;
  session: string;
  /** Per-robot sequence number (robot + seq is the place's key across the fleet). */
  seq: number;
  /** Capture time, seconds. */
  stamp: number;
}

/** A search hit with its place. */
export interface FleetHit extends FleetPlace {
  similarity: number;
}

/** `"connecting"` until the first attempt ends; `"online"` / `"offline"` after each attempt; `"closed"`. */
export type FleetState = "connecting" | "online" | "offline" | "closed";

/** Counters and the current state. */
export interface FleetStats {
  state: FleetState;
  /** Places of this robot not yet confirmed by the database (in the outbox). */
  queued: number;
  /** Places this robot wrote to the database in this session. */
  written: number;
  /** Places pulled from the database into the cache in this session. */
  pulled: number;
  /** Places the cache answers from. */
  cacheSize: number;
  /** Times the state went from online (or connecting) to offline. */
  outages: number;
  /** The last database error, if the state is offline. */
  lastError?: string;
  /** Epoch ms of the last successful sync. */
  lastSyncAt?: number;
  /** Why a saved cache in the map folder was set aside at open (then rebuilt from the database). */
  cacheNote?: string;
}

/** What `onEvent` listeners get. */
export type FleetEvent =
  | { type: "state"; state: FleetState; error?: string }
  | { type: "written"; count: number }
  | { type: "pulled"; count: number };

/** Options of `FleetMap.open`. */
export interface FleetMapOptions {
  /** Map folder (holds the outbox). */
  dir: string;
  /** This robot's id (non-empty, at most 64 characters). */
  robot: string;
  /** This run's session id. Default: the ISO time of `open`. */
  session?: string;
  /** Descriptor dimension. */
  dim: number;
  /** Model id; a table made for another model (or dimension) is refused. Default "". */
  modelId?: string;
  /** Table name. Default `waymark_places`. */
  table?: string;
  /** Opens a connection (called again after an outage). */
  connect: () => Promise<PgConnection>;
  /** Background sync period, ms (0 = only on demand). Default 5000. */
  refreshMs?: number;
  /** A database operation slower than this counts as an outage, ms. Default 3000. */
  timeoutMs?: number;
  /** Places per INSERT statement. Default 500. */
  batchSize?: number;
  /** Options of the local `HnswIndex` cache. */
  cache?: HnswIndexOptions;
  /** Save the cache to the map folder at `close` (and load it at `open`). Default true. */
  persistCache?: boolean;
  /** HNSW parameters of the shared table's index (as `HnswIndex`). */
  m?: number;
  efConstruction?: number;
}

/** Widest `vector` pgvector's HNSW index accepts. */
export const PGVECTOR_HNSW_MAX_DIM = 2000;

const OUTBOX = "fleet_outbox.jsonl";
const CACHE_INDEX = "fleet_cache.hnsw";
const CACHE_PLACES = "fleet_cache_places.json";

interface CacheFile {
  format: "waymark-fleet-cache";
  version: 1;
  table: string;
  dim: number;
  modelId: string;
  /** [robot, session, seq, stamp], in cache id order. */
  places: [string, string, number, number][];
  cursor: Record<string, number>;
}

interface SavedCache {
  index: HnswIndex;
  file: CacheFile;
}

/**
 * The cache saved by `saveCache`, or why it is not used ("" when there is none). The cache is derived data:
 * one that does not match this map (another table, dimension or model) or fails its checks is set aside and
 * rebuilt from the database, and the reason shows in `stats().cacheNote`.
 */
async function loadCache(o: FleetMapOptions): Promise<SavedCache | string> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${o.dir}/${CACHE_PLACES}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return "";
    return `cache not read: ${(err as Error).message}`;
  }
  try {
    const file = JSON.parse(text) as CacheFile;
    const table = o.table ?? DEFAULT_TABLE;
    if (file.format !== "waymark-fleet-cache" || file.version !== 1) return "cache set aside: unknown format";
    if (file.table !== table || file.dim !== o.dim || file.modelId !== (o.modelId ?? "")) {
      return `cache set aside: it is of table '${file.table}', dimension ${file.dim}, model ` +
        `${JSON.stringify(file.modelId)}`;
    }
    const index = await HnswIndex.load(`${o.dir}/${CACHE_INDEX}`, { efSearch: o.cache?.efSearch });
    if (index.size !== file.places.length || index.dim !== o.dim) {
      return `cache set aside: its index holds ${index.size} places, its list ${file.places.length}`;
    }
    return { index, file };
  } catch (err) {
    return `cache set aside: ${(err as Error).message}`;
  }
}

interface Queued extends FleetPlace {
  vector: Float32Array;
}

type OutboxLine =
  | { t: "place"; robot: string; session: string; seq: number; stamp: number; v: string }
  | { t: "done"; seq: number }
  | { t: "next"; robot: string; seq: number };

/** One robot's cached, journaled view of a shared place table (see the module documentation). */
export class FleetMap {
  readonly robot: string;
  readonly session: string;
  readonly dim: number;
  readonly table: string;
  private readonly cache: HnswIndex;
  private readonly placeList: FleetPlace[] = [];
  private readonly keys = new Set<string>();
  private readonly cursor = new Map<string, number>();
  private queue: Queued[] = [];
  private nextSeq: number;
  private conn: PgConnection | null = null;
  private tableReady = false;
  private st: FleetStats;
  private listeners: ((e: FleetEvent) => void)[] = [];
  private running: Promise<void> | null = null;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly outboxPath: string;

  private constructor(
    private readonly o: FleetMapOptions,
    pending: Queued[],
    nextSeq: number,
    saved: SavedCache | string,
  ) {
    this.robot = o.robot;
    this.session = o.session ?? new Date().toISOString();
    this.dim = o.dim;
    this.table = checkTableName("open fleet map", o.table ?? DEFAULT_TABLE);
    this.outboxPath = `${o.dir}/${OUTBOX}`;
    this.nextSeq = nextSeq;
    this.st = { state: "connecting", queued: 0, written: 0, pulled: 0, cacheSize: 0, outages: 0 };
    if (typeof saved === "string") {
      this.cache = new HnswIndex(o.dim, o.cache);
      if (saved !== "") this.st.cacheNote = saved;
    } else {
      this.cache = saved.index;
      for (const [robot, session, seq, stamp] of saved.file.places) {
        this.keys.add(`${robot}/${seq}`);
        this.placeList.push({ robot, session, seq, stamp });
      }
      for (const [robot, c] of Object.entries(saved.file.cursor)) this.cursor.set(robot, c);
    }
    for (const q of pending) this.remember(q, q.vector);
    this.queue = pending;
    this.st.queued = pending.length;
  }

  /**
   * Read the outbox in `options.dir` (places not yet confirmed are queued again), then try the database once
   * (a failure leaves the map offline and usable), and start the background sync.
   * @throws ValidationError on bad options; MapFormatError when the outbox is corrupt or another robot's;
   *   IndexError when the table holds another dimension or model id.
   */
  static async open(options: FleetMapOptions): Promise<FleetMap> {
    const action = "open fleet map";
    if (typeof options.robot !== "string" || !/^[\w.-]{1,64}$/.test(options.robot)) {
      throw new ValidationError(
        `Cannot ${action} as 'robot' must be 1 to 64 letters, digits, '_', '.' or '-': current value is ${
          JSON.stringify(options.robot)
        }`,
      );
    }
    await Deno.mkdir(options.dir, { recursive: true });
    const { pending, nextSeq } = await readOutbox(`${options.dir}/${OUTBOX}`, options.robot, options.dim);
    const saved = (options.persistCache ?? true) ? await loadCache(options) : "";
    const map = new FleetMap(options, pending, nextSeq, saved);
    await map.sync();
    if (map.tableError) {
      const err = map.tableError;
      await map.close();
      throw err;
    }
    const every = options.refreshMs ?? 5000;
    if (every > 0) {
      const timer = setInterval(() => void map.sync(), every);
      Deno.unrefTimer(timer as unknown as number);
      map.timer = timer;
    }
    return map;
  }

  private tableError: IndexError | null = null;

  /** Listen to state changes and sync results; returns a function that removes the listener. */
  onEvent(listener: (e: FleetEvent) => void): () => void {
    this.listeners.push(listener);
    return () => (this.listeners = this.listeners.filter((l) => l !== listener));
  }

  /** The current state and counters. */
  stats(): FleetStats {
    return { ...this.st, queued: this.queue.length, cacheSize: this.cache.size };
  }

  /**
   * Add a place of this robot now: outbox, cache, queue (never waits on the database).
   * @throws IndexError on a wrong dimension or non-finite values; ValidationError on a bad stamp.
   */
  addPlace(vector: Float32Array, stamp: number): FleetPlace {
    if (this.st.state === "closed") {
      throw new ValidationError("Cannot add a place as the fleet map is closed");
    }
    checkVector("add fleet place", "vector", vector, this.dim);
    if (!Number.isFinite(stamp)) {
      throw new ValidationError(
        `Cannot add fleet place as 'stamp' must be finite: current value is ${stamp}`,
      );
    }
    const place: Queued = {
      robot: this.robot,
      session: this.session,
      seq: this.nextSeq++,
      stamp,
      vector: vector.slice(),
    };
    appendLine(this.outboxPath, {
      t: "place",
      robot: place.robot,
      session: place.session,
      seq: place.seq,
      stamp,
      v: Buffer.from(place.vector.buffer).toString("base64"),
    });
    this.remember(place, place.vector);
    this.queue.push(place);
    return { robot: place.robot, session: place.session, seq: place.seq, stamp };
  }

  /** Every place the cache holds, with its cache id (the order places entered the cache). */
  places(): FleetPlace[] {
    return this.placeList.map((p) => ({ ...p }));
  }

  /** The vector of the cache's place `id` (an index into `places()`). */
  vector(id: number): Float32Array {
    return this.cache.vector(id);
  }

  /** The k most similar places in the local cache (never waits on the database). */
  search(query: Float32Array, k: number, filter?: (place: FleetPlace) => boolean): FleetHit[] {
    const hits = this.cache.search(
      query,
      k,
      filter === undefined ? {} : { filter: (id) => filter(this.placeList[id]) },
    );
    return hits.map((h) => ({ ...this.placeList[h.id], similarity: h.similarity }));
  }

  /**
   * Write queued places, then pull new places of the shared table into the cache. Concurrent calls share one
   * run. Never throws for database trouble: that is the `"offline"` state.
   */
  sync(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.syncOnce().finally(() => (this.running = null));
    return this.running;
  }

  /** Stop the background sync, try a last sync, close the connection. Queued places stay in the outbox. */
  async close(): Promise<void> {
    if (this.st.state === "closed") return;
    clearInterval(this.timer);
    if (this.running) await this.running;
    if (this.queue.length > 0 && this.conn !== null && !this.tableError) await this.sync();
    const conn = this.conn;
    this.conn = null;
    if (conn) await conn.close().catch(() => {});
    if (this.o.persistCache ?? true) await this.saveCache();
    this.setState("closed");
  }

  /**
   * Write the cache to the map folder (`fleet_cache.hnsw` with its sidecar, then `fleet_cache_places.json`,
   * each atomically), so that the next `open` answers from it before, or without, the database.
   */
  async saveCache(): Promise<void> {
    await this.cache.save(`${this.o.dir}/${CACHE_INDEX}`);
    const file: CacheFile = {
      format: "waymark-fleet-cache",
      version: 1,
      table: this.table,
      dim: this.dim,
      modelId: this.o.modelId ?? "",
      places: this.placeList.map((p) => [p.robot, p.session, p.seq, p.stamp]),
      cursor: Object.fromEntries(this.cursor),
    };
    await writeAtomically(
      `${this.o.dir}/${CACHE_PLACES}`,
      (temp) => Deno.writeTextFile(temp, JSON.stringify(file)),
    );
  }

  private remember(place: FleetPlace, vector: Float32Array): void {
    const key = `${place.robot}/${place.seq}`;
    if (this.keys.has(key)) return;
    this.keys.add(key);
    const id = this.placeList.length;
    this.placeList.push({ robot: place.robot, session: place.session, seq: place.seq, stamp: place.stamp });
    this.cache.add(id, vector);
  }

  private emit(e: FleetEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch { /* a listener's error is its own */ }
    }
  }

  private setState(state: FleetState, error?: string): void {
    if (state === "offline" && this.st.state !== "offline") this.st.outages++;
    const changed = state !== this.st.state;
    this.st.state = state;
    if (state === "offline") this.st.lastError = error;
    else delete this.st.lastError;
    if (changed) this.emit({ type: "state", state, error });
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    const ms = this.o.timeoutMs ?? 3000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    });
    p.catch(() => {}); // a late failure after the timeout is not unhandled
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  private async syncOnce(): Promise<void> {
    if (this.st.state === "closed" || this.tableError) return;
    try {
      if (this.conn === null) this.conn = await this.withTimeout(this.o.connect(), "connecting");
      if (!this.tableReady) await this.withTimeout(this.prepareTable(this.conn), "preparing the table");
      while (this.queue.length > 0) await this.withTimeout(this.push(this.conn), "writing places");
      await this.withTimeout(this.pull(this.conn), "pulling places");
      this.st.lastSyncAt = Date.now();
      this.setState("online");
    } catch (err) {
      if (err instanceof IndexError && err.context?.table !== undefined) {
        this.tableError = err;
        this.setState("offline", err.message);
        return;
      }
      const conn = this.conn;
      this.conn = null;
      this.tableReady = false;
      conn?.close().catch(() => {});
      this.setState("offline", (err as Error).message);
    }
  }

  /** After an await: stop when this attempt timed out meanwhile (a newer attempt owns the state). */
  private checkCurrent(conn: PgConnection): void {
    if (this.conn !== conn) throw new Error("superseded by a newer attempt after a timeout");
  }

  private async prepareTable(conn: PgConnection): Promise<void> {
    const modelId = this.o.modelId ?? "";
    await conn.transaction(async (tx) => {
      for (const s of preludeStatements()) await tx.query(s.sql, s.params);
    });
    const d = describeTableStatement(this.table);
    const { rows } = await conn.query<{ dim: number | null; model_id: string | null; present: boolean }>(
      d.sql,
      d.params,
    );
    checkTableMatches(this.table, rows[0], this.dim, modelId);
    await conn.transaction(async (tx) => {
      const statements = placeTableStatements({
        table: this.table,
        dim: this.dim,
        modelId,
        m: this.o.m ?? HNSW_DEFAULTS.m,
        efConstruction: this.o.efConstruction ?? HNSW_DEFAULTS.efConstruction,
        // pgvector's HNSW takes at most 2,000 dimensions; wider descriptors (8192-d NetVLAD) are stored
        // without it (robots search their local cache; the table is read by robot and sequence).
        hnswIndex: this.dim <= PGVECTOR_HNSW_MAX_DIM,
      });
      for (const s of statements) await tx.query(s.sql, s.params);
    });
    // A robot whose outbox was lost must not reuse sequence numbers the table already holds.
    const { rows: max } = await conn.query<{ seq: number | null }>(
      `SELECT max(seq)::float8 AS seq FROM ${this.table} WHERE robot = $1`,
      [this.robot],
    );
    this.checkCurrent(conn);
    const dbNext = max[0]?.seq === null || max[0]?.seq === undefined ? 0 : Number(max[0].seq) + 1;
    if (dbNext > this.nextSeq && this.queue.length === 0) this.nextSeq = dbNext;
    this.tableReady = true;
  }

  private async push(conn: PgConnection): Promise<void> {
    const batch = this.queue.slice(0, this.o.batchSize ?? 500);
    const params: unknown[] = [];
    const values = batch.map((p, i) => {
      params.push(vectorToText(p.vector), p.robot, p.session, p.seq, p.stamp);
      const b = 5 * i;
      return `($${b + 1}::vector, $${b + 2}, $${b + 3}, $${b + 4}::bigint, $${b + 5}::float8)`;
    });
    await conn.transaction(async (tx) => {
      const { rows } = await tx.query<{ seq: number }>(
        `INSERT INTO ${this.table} (embedding, robot, session, seq, stamp) VALUES ${values.join(",")} ` +
          `ON CONFLICT (robot, seq) DO NOTHING RETURNING seq::float8 AS seq`,
        params,
      );
      if (rows.length === batch.length) return;
      // Rows already there are a replay when they are the same places; a different place under one of this
      // robot's keys (an outbox from another copy of this robot) must not be dropped: refuse the batch.
      const inserted = new Set(rows.map((r) => Number(r.seq)));
      const others = batch.filter((p) => !inserted.has(p.seq));
      const { rows: existing } = await tx.query<{ seq: number; session: string; stamp: number }>(
        `SELECT seq::float8 AS seq, session, stamp FROM ${this.table} WHERE robot = $1 AND seq = ANY($2::bigint[])`,
        [this.robot, others.map((p) => p.seq)],
      );
      const bySeq = new Map(existing.map((r) => [Number(r.seq), r]));
      const clash = others.filter((p) => {
        const r = bySeq.get(p.seq);
        return r === undefined || r.session !== p.session || Number(r.stamp) !== p.stamp;
      });
      if (clash.length > 0) {
        throw new Error(
          `places ${
            clash.map((p) => `${this.robot}/${p.seq}`).join(", ")
          } conflict with other places already ` +
            `in table '${this.table}' under the same keys (an outbox from another copy of robot '${this.robot}'?); ` +
            `they stay queued in '${this.outboxPath}'`,
        );
      }
    });
    this.checkCurrent(conn);
    this.queue = this.queue.slice(batch.length);
    const last = batch[batch.length - 1].seq;
    // The pull cursor may skip these rows only if every earlier row of this robot is already cached.
    const prev = this.cursor.get(this.robot) ?? -1;
    if (prev >= batch[0].seq - 1) this.cursor.set(this.robot, Math.max(prev, last));
    this.st.written += batch.length;
    if (this.queue.length === 0) await compactOutbox(this.outboxPath, this.robot, this.nextSeq);
    else appendLine(this.outboxPath, { t: "done", seq: last });
    this.emit({ type: "written", count: batch.length });
  }

  private async pull(conn: PgConnection): Promise<void> {
    const cursors = Object.fromEntries(this.cursor);
    const { rows } = await conn.query<
      { robot: string; session: string; seq: number; stamp: number; embedding: string }
    >(
      `SELECT robot, session, seq::float8 AS seq, stamp, embedding::text AS embedding FROM ${this.table} ` +
        `WHERE robot IS NOT NULL AND seq > COALESCE(($1::jsonb ->> robot)::bigint, -1) ORDER BY robot, seq`,
      [JSON.stringify(cursors)],
    );
    this.checkCurrent(conn);
    let added = 0;
    for (const r of rows) {
      const seq = Number(r.seq);
      const before = this.placeList.length;
      this.remember(
        { robot: r.robot, session: r.session, seq, stamp: Number(r.stamp) },
        textToVector(r.embedding),
      );
      if (this.placeList.length > before) added++;
      this.cursor.set(r.robot, Math.max(this.cursor.get(r.robot) ?? -1, seq));
    }
    this.st.pulled += added;
    if (added > 0) this.emit({ type: "pulled", count: added });
  }
}

function appendLine(path: string, line: OutboxLine): void {
  Deno.writeTextFileSync(path, JSON.stringify(line) + "\n", { append: true, create: true });
}

async function compactOutbox(path: string, robot: string, next: number): Promise<void> {
  await writeAtomically(
    path,
    (temp) => Deno.writeTextFile(temp, JSON.stringify({ t: "next", robot, seq: next }) + "\n"),
  );
}

/** The places of the outbox not yet confirmed, and the next sequence number. */
async function readOutbox(
  path: string,
  robot: string,
  dim: number,
): Promise<{ pending: Queued[]; nextSeq: number }> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { pending: [], nextSeq: 0 };
    throw err;
  }
  const lines = text.split("\n");
  // The last element is "" after a complete file, or a torn line that was never acknowledged: both are skipped.
  const complete = lines.slice(0, -1);
  let pending: Queued[] = [];
  let nextSeq = 0;
  complete.forEach((raw, i) => {
    const fail = (problem: string) =>
      new MapFormatError(`Cannot read fleet outbox '${path}' line ${i + 1}: ${problem}`, {
        context: { file: path },
      });
    let line: OutboxLine;
    try {
      line = JSON.parse(raw);
    } catch (cause) {
      throw fail(`not JSON (${(cause as Error).message})`);
    }
    if (line.t === "place" || line.t === "next") {
      if (line.robot !== robot) throw fail(`it belongs to robot '${line.robot}', not '${robot}'`);
    }
    if (line.t === "place") {
      const bytes = Uint8Array.from(Buffer.from(String(line.v), "base64"));
      if (bytes.length !== 4 * dim) {
        throw fail(`a place of ${bytes.length} bytes, the map's dimension ${dim} needs ${4 * dim}`);
      }
      const v = new Float32Array(bytes.buffer);
      pending.push({ robot: line.robot, session: line.session, seq: line.seq, stamp: line.stamp, vector: v });
      nextSeq = Math.max(nextSeq, line.seq + 1);
    } else if (line.t === "done") {
      pending = pending.filter((p) => p.seq > line.seq);
    } else if (line.t === "next") {
      nextSeq = Math.max(nextSeq, line.seq);
    } else {
      throw fail(`unknown record ${JSON.stringify((line as { t: unknown }).t)}`);
    }
  });
  return { pending, nextSeq };
}
