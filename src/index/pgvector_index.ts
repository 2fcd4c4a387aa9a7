/**
 * `PgVectorIndex`: the `VectorIndex` contract served by Postgres with the pgvector extension, on a server
 * (node-postgres) or embedded (PGlite 0.4.x, real Postgres in WebAssembly). The table is the index: several
 * processes or robots can share it, and it scales as far as the database does (see the README section
 * "Fleet maps on Postgres + pgvector" for the Citus layout).
 *
 * - Schema (`ensurePlaceTable`): `id bigint PRIMARY KEY`, `embedding vector(dim)`, and the fleet columns
 *   `robot`, `session`, `seq`, `stamp`, `added_at` (unique on `(robot, seq)`), an HNSW index
 *   `USING hnsw (embedding vector_ip_ops) WITH (m, ef_construction)`, and one row per table in
 *   `waymark_index_meta` (dimension, model id, HNSW parameters). Opening a table whose dimension or model id
 *   differs from the caller's is an `IndexError` naming both.
 * - `add` buffers; the buffer is written in one transaction when it reaches `batchSize`, or before any read:
 *   on PGlite as a binary COPY (pgvector's binary form, exact float32) into a temporary staging table and one
 *   `INSERT ... SELECT ... ON CONFLICT (id) DO UPDATE`; on a server as multi-row upserts with vectors as compact
 *   text (the fewest significant digits, 6 to 9, that round-trip the float32).
 * - `search` orders by `embedding <#> q` (negative inner product) under `hnsw.ef_search = max(efSearch, limit)`
 *   with `hnsw.iterative_scan = strict_order`. A `filter` (a JavaScript function, which SQL cannot run) is
 *   applied to a growing candidate list (k, then x4) until k ids pass or the table is exhausted; past 1,000
 *   candidates (pgvector's ef_search ceiling) the scan is exact (index scan off).
 * - `m`, `efConstruction`, `efSearch` mean what they mean in `HnswIndex` (same defaults, `HNSW_DEFAULTS`).
 * - `VectorIndex` is synchronous, so calls block on a `SyncPgConnection` (a worker owns the real connection).
 *   That is right for batch jobs and for the contract; a robot's live path uses `FleetMap`
 *   (`src/map/fleet_map.ts`) whose local `HnswIndex` cache never waits on the network.
 * - `save(path)` writes a small checksummed descriptor (target without password, table, dimension, model id,
 *   count, options); `load(path)` reconnects to that table and checks it (dimension, model id, at least the
 *   saved count of rows).
 *
 * @module
 */

import { IndexError } from "../errors.ts";
import { writeAtomically } from "../_fs.ts";
import { crc32 } from "./_crc32.ts";
import {
  checkTableName,
  encodeCopyBinary,
  formatIndexTarget,
  type IndexTarget,
  parseIndexTarget,
  vectorToText,
} from "./pg_connection.ts";
import { type Statement, SyncPgConnection, type SyncPgOptions } from "./_pg_sync.ts";
import { HNSW_DEFAULTS } from "./hnsw_index.ts";
import { checkId, checkK, checkVector } from "./_validate.ts";
import type { SearchHit, SearchOptions, VectorIndex } from "./vector_index.ts";

/** Options of a `PgVectorIndex`. */
export interface PgVectorIndexOptions {
  /** Table name (a lower-case identifier). Default: the target's `?table=`, else `waymark_places`. */
  table?: string;
  /** Id of the model whose descriptors the table holds; a table made for another model is refused. Default "". */
  modelId?: string;
  /** HNSW links per node (pgvector `m`). Default 16, as `HnswIndex`. */
  m?: number;
  /** HNSW build candidate list (pgvector `ef_construction`, at least 2m). Default 200, as `HnswIndex`. */
  efConstruction?: number;
  /** Search candidate list (`hnsw.ef_search`; at least the limit is used). Default 128, as `HnswIndex`. */
  efSearch?: number;
  /** Rows per INSERT statement and buffered adds before a write. Default 1000. */
  batchSize?: number;
  /** Bulk-load with binary COPY where the connection can (PGlite); false forces multi-row INSERTs. Default true. */
  copy?: boolean;
  /** Create the HNSW index with the table (true) or leave it to `createHnswIndex()` after a bulk load. Default true. */
  hnswIndex?: boolean;
}

/** What `ensurePlaceTable` needs. */
export interface PlaceTableSpec {
  table: string;
  dim: number;
  modelId: string;
  m: number;
  efConstruction: number;
  hnswIndex: boolean;
}

/** pgvector's largest `hnsw.ef_search`. */
const MAX_EF_SEARCH = 1000;
const MAGIC = "WAYMKPGI";
const VERSION = 1;
const HEADER_BYTES = 20;
const META_TABLE = "waymark_index_meta";

/** The statements that create the pgvector extension and the meta table (idempotent; run before describing). */
export function preludeStatements(): Statement[] {
  return [
    { sql: "CREATE EXTENSION IF NOT EXISTS vector" },
    {
      sql: `CREATE TABLE IF NOT EXISTS ${META_TABLE} (table_name text PRIMARY KEY, dim integer NOT NULL, ` +
        `model_id text NOT NULL, m integer NOT NULL, ef_construction integer NOT NULL, ` +
        `created timestamptz NOT NULL DEFAULT now())`,
    },
  ];
}

/** The statements that create a place table (idempotent), its HNSW index and its meta row. */
export function placeTableStatements(spec: PlaceTableSpec): Statement[] {
  const t = spec.table;
  const out: Statement[] = [
    { sql: `CREATE SEQUENCE IF NOT EXISTS ${t}_id_seq MINVALUE 0 MAXVALUE 4294967295 START 0` },
    {
      sql: `CREATE TABLE IF NOT EXISTS ${t} (id bigint PRIMARY KEY DEFAULT nextval('${t}_id_seq'), ` +
        `embedding vector(${spec.dim}) NOT NULL, robot text, session text, seq bigint, stamp double precision, ` +
        `added_at timestamptz NOT NULL DEFAULT now(), ` +
        `CONSTRAINT ${t}_id_range CHECK (id >= 0 AND id <= 4294967295))`,
    },
    { sql: `CREATE UNIQUE INDEX IF NOT EXISTS ${t}_robot_seq ON ${t} (robot, seq)` },
    {
      sql:
        `INSERT INTO ${META_TABLE} (table_name, dim, model_id, m, ef_construction) VALUES ($1, $2, $3, $4, $5) ` +
        `ON CONFLICT (table_name) DO NOTHING`,
      params: [t, spec.dim, spec.modelId, spec.m, spec.efConstruction],
    },
  ];
  if (spec.hnswIndex) out.push(hnswIndexStatement(spec));
  return out;
}

/** `CREATE INDEX IF NOT EXISTS <t>_hnsw ... USING hnsw (embedding vector_ip_ops) WITH (m, ef_construction)`. */
export function hnswIndexStatement(spec: Pick<PlaceTableSpec, "table" | "m" | "efConstruction">): Statement {
  return {
    sql:
      `CREATE INDEX IF NOT EXISTS ${spec.table}_hnsw ON ${spec.table} USING hnsw (embedding vector_ip_ops) ` +
      `WITH (m = ${spec.m}, ef_construction = ${spec.efConstruction})`,
  };
}

/** The query that reads a table's dimension (from the column type) and model id (from the meta row). */
export function describeTableStatement(table: string): Statement {
  return {
    sql: `SELECT (SELECT a.atttypmod FROM pg_attribute a WHERE a.attrelid = to_regclass($1) ` +
      `AND a.attname = 'embedding') AS dim, (SELECT model_id FROM ${META_TABLE} WHERE table_name = $1) AS model_id, ` +
      `to_regclass($1) IS NOT NULL AS present`,
    params: [table],
  };
}

/**
 * Throw an `IndexError` naming both sides when an existing table's dimension or model id differs from the
 * caller's. `found` is the row of `describeTableStatement` (a table not yet created passes).
 */
export function checkTableMatches(
  table: string,
  found: { dim: number | null; model_id: string | null; present: boolean } | undefined,
  dim: number,
  modelId: string,
): void {
  if (!found?.present) return;
  const problems: string[] = [];
  if (found.dim !== null && found.dim !== dim) {
    problems.push(`the table holds dimension ${found.dim}, the caller dimension ${dim}`);
  }
  if (found.model_id !== null && found.model_id !== modelId) {
    problems.push(
      `the table holds model ${JSON.stringify(found.model_id)}, the caller model ${JSON.stringify(modelId)}`,
    );
  }
  if (problems.length > 0) {
    throw new IndexError(`Cannot use place table '${table}': ${problems.join("; ")}`, {
      context: { table, tableDim: found.dim, tableModel: found.model_id, dim, modelId },
    });
  }
}

/** A `VectorIndex` over a pgvector table (see the module documentation). */
export class PgVectorIndex implements VectorIndex {
  /** Vector dimension. */
  readonly dim: number;
  /** Table name. */
  readonly table: string;
  /** Model id recorded with the table. */
  readonly modelId: string;
  /** HNSW `m`. */
  readonly m: number;
  /** HNSW `ef_construction`. */
  readonly efConstruction: number;
  private ef: number;
  private readonly batchSize: number;
  private readonly useCopy: boolean;
  private readonly pending = new Map<number, Float32Array>();

  private constructor(
    private readonly conn: SyncPgConnection,
    private readonly ownsConnection: boolean,
    dim: number,
    options: PgVectorIndexOptions,
  ) {
    const action = "create pgvector index";
    if (!Number.isInteger(dim) || dim < 1 || dim > 16000) {
      throw new IndexError(
        `Cannot ${action} as 'dim' must be an integer in [1, 16000]: current value is ${dim}`,
      );
    }
    this.dim = dim;
    this.table = checkTableName(action, options.table ?? conn.target.table);
    this.modelId = options.modelId ?? "";
    this.m = intOption(action, "m", options.m ?? HNSW_DEFAULTS.m, 2, 100);
    this.efConstruction = intOption(
      action,
      "efConstruction",
      options.efConstruction ?? HNSW_DEFAULTS.efConstruction,
      2 * this.m,
      1000,
    );
    this.ef = intOption(action, "efSearch", options.efSearch ?? HNSW_DEFAULTS.efSearch, 1, MAX_EF_SEARCH);
    this.batchSize = intOption(action, "batchSize", options.batchSize ?? 1000, 1, 10000);
    this.useCopy = (options.copy ?? true) && conn.supportsCopy;
    conn.transaction(preludeStatements());
    const [found] = conn.query<{ dim: number | null; model_id: string | null; present: boolean }>(
      describeTableStatement(this.table).sql,
      describeTableStatement(this.table).params,
    );
    checkTableMatches(this.table, found, dim, this.modelId);
    conn.transaction(placeTableStatements({
      table: this.table,
      dim,
      modelId: this.modelId,
      m: this.m,
      efConstruction: this.efConstruction,
      hnswIndex: options.hnswIndex ?? true,
    }));
  }

  /**
   * Open (creating when missing) the table of `target` (`pglite:<dir>`, `pglite:memory`,
   * `postgres://user@host/db?table=name`) on a new connection that `close()` ends.
   * @throws IndexError when the target cannot be reached, or its table has another dimension or model id.
   */
  static async open(
    target: string | IndexTarget,
    dim: number,
    options: PgVectorIndexOptions & SyncPgOptions = {},
  ): Promise<PgVectorIndex> {
    const parsed = typeof target === "string" ? parseIndexTarget(target) : target;
    const conn = await SyncPgConnection.open(parsed, options);
    try {
      return new PgVectorIndex(conn, true, dim, options);
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** Use a table over an existing connection (several indexes may share one; `close()` leaves it open). */
  static attach(conn: SyncPgConnection, dim: number, options: PgVectorIndexOptions = {}): PgVectorIndex {
    return new PgVectorIndex(conn, false, dim, options);
  }

  /** Current `hnsw.ef_search` (at least the query's limit is used). */
  get efSearch(): number {
    return this.ef;
  }

  set efSearch(ef: number) {
    this.ef = intOption("set pgvector efSearch", "efSearch", ef, 1, MAX_EF_SEARCH);
  }

  /** Rows in the table (after writing buffered adds). Counts every writer's rows. */
  get size(): number {
    this.flush();
    const [row] = this.conn.query<{ n: number }>(`SELECT count(*)::float8 AS n FROM ${this.table}`);
    return Number(row.n);
  }

  /**
   * Add `vector` under `id` (re-adding replaces). Buffered: written with the next `batchSize` adds or before
   * the next read.
   * @throws IndexError on a bad id, a wrong dimension or non-finite values.
   */
  add(id: number, vector: Float32Array): void {
    checkId("add vector", id);
    checkVector("add vector", "vector", vector, this.dim);
    this.pending.delete(id);
    this.pending.set(id, vector.slice());
    if (this.pending.size >= this.batchSize) this.flush();
  }

  /**
   * Write buffered adds now, in one transaction: on PGlite a binary COPY into a temporary staging table then one
   * upsert from it; elsewhere multi-row upserts of `batchSize` rows with vectors as compact text.
   */
  flush(): void {
    if (this.pending.size === 0) return;
    const entries = [...this.pending];
    const upsert = `ON CONFLICT (id) DO UPDATE SET embedding = EXCLUDED.embedding`;
    const statements: Statement[] = [];
    if (this.useCopy) {
      const stage = `waymark_stage_${this.dim}`;
      statements.push(
        {
          sql: `CREATE TEMP TABLE IF NOT EXISTS ${stage} (id bigint, embedding vector(${this.dim})) ` +
            `ON COMMIT DELETE ROWS`,
        },
        {
          sql: `COPY ${stage} (id, embedding) FROM '/dev/blob' WITH (FORMAT binary)`,
          copy: encodeCopyBinary(entries.map((e) => e[0]), entries.map((e) => e[1]), this.dim),
        },
        { sql: `INSERT INTO ${this.table} (id, embedding) SELECT id, embedding FROM ${stage} ${upsert}` },
      );
    } else {
      for (let i = 0; i < entries.length; i += this.batchSize) {
        const chunk = entries.slice(i, i + this.batchSize);
        const values = chunk.map((_, j) => `($${2 * j + 1}::bigint, $${2 * j + 2}::vector)`).join(",");
        statements.push({
          sql: `INSERT INTO ${this.table} (id, embedding) VALUES ${values} ${upsert}`,
          params: chunk.flatMap(([id, v]) => [id, vectorToText(v)]),
        });
      }
    }
    this.conn.transaction(statements);
    this.pending.clear();
  }

  /**
   * Build the HNSW index now (after a bulk load into a table opened with `hnswIndex: false`). The build is
   * much faster when the graph fits in `maintenanceWorkMem` (a Postgres size such as "512MB"; default: the
   * server's setting).
   */
  createHnswIndex(maintenanceWorkMem?: string): void {
    this.flush();
    const statements: Statement[] = [];
    if (maintenanceWorkMem !== undefined) {
      statements.push({
        sql: "SELECT set_config('maintenance_work_mem', $1, true)",
        params: [maintenanceWorkMem],
      });
    }
    this.conn.transaction([...statements, hnswIndexStatement(this)]);
  }

  /**
   * The `k` ids of largest inner product with `query`, most similar first (ties: smaller id first).
   * @throws IndexError on a wrong dimension, non-finite values, a negative k, or a failed query.
   */
  search(query: Float32Array, k: number, options: SearchOptions = {}): SearchHit[] {
    checkVector("search index", "query", query, this.dim);
    checkK("search index", k);
    if (k === 0) return [];
    this.flush();
    const q = vectorToText(query);
    const filter = options.filter;
    let limit = filter === undefined ? k : Math.max(2 * k, 16);
    for (;;) {
      const rows = this.candidates(q, limit);
      const hits = rows
        .map((r) => ({ id: Number(r.id), similarity: Number(r.similarity) }))
        .filter((h) => filter === undefined || filter(h.id));
      hits.sort((a, b) => b.similarity - a.similarity || a.id - b.id);
      if (hits.length >= k || rows.length < limit) return hits.slice(0, k);
      limit *= 4;
    }
  }

  /** The query plan of a search for `k` (EXPLAIN text), to check which index serves it. */
  explain(query: Float32Array, k: number): string {
    checkVector("explain search", "query", query, this.dim);
    this.flush();
    const rows = this.conn.transaction<{ "QUERY PLAN": string }>([
      ...this.searchSettings(k),
      {
        sql: `EXPLAIN SELECT id FROM ${this.table} ORDER BY embedding <#> $1::vector LIMIT ${k}`,
        params: [vectorToText(query)],
      },
    ]);
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  }

  private searchSettings(limit: number): Statement[] {
    const exact = limit > MAX_EF_SEARCH;
    return [
      {
        sql:
          "SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'strict_order', true), " +
          "set_config('enable_indexscan', $2, true)",
        params: [String(Math.min(MAX_EF_SEARCH, Math.max(this.ef, limit))), exact ? "off" : "on"],
      },
    ];
  }

  private candidates(q: string, limit: number): { id: number; similarity: number }[] {
    return this.conn.transaction<{ id: number; similarity: number }>([
      ...this.searchSettings(limit),
      {
        sql:
          `SELECT id::float8 AS id, (-(embedding <#> $1::vector))::float8 AS similarity FROM ${this.table} ` +
          `ORDER BY embedding <#> $1::vector LIMIT $2`,
        params: [q, limit],
      },
    ]);
  }

  /** Write a checksummed descriptor of this index to `path` (atomically); see the module documentation. */
  async save(path: string): Promise<void> {
    const count = this.size;
    const body = new TextEncoder().encode(JSON.stringify({
      format: "waymark-pgvector-index",
      version: VERSION,
      target: formatIndexTarget({ ...this.conn.target, table: this.table }),
      table: this.table,
      dim: this.dim,
      modelId: this.modelId,
      count,
      options: { m: this.m, efConstruction: this.efConstruction, efSearch: this.ef },
      saved: new Date().toISOString(),
    }));
    const bytes = new Uint8Array(HEADER_BYTES + body.length);
    bytes.set(new TextEncoder().encode(MAGIC), 0);
    const view = new DataView(bytes.buffer);
    view.setUint32(8, VERSION, true);
    view.setUint32(12, body.length, true);
    view.setUint32(16, crc32(body), true);
    bytes.set(body, HEADER_BYTES);
    await writeAtomically(path, (temp) => Deno.writeFile(temp, bytes));
  }

  /**
   * Reopen the table a descriptor written by `save` names, on `options.connection` when given (then
   * `close()` leaves it open), else on a new connection to the recorded target.
   * @throws IndexError naming the file when it is missing, truncated, corrupt, or its table no longer matches.
   */
  static async load(
    path: string,
    options: { connection?: SyncPgConnection } & SyncPgOptions = {},
  ): Promise<PgVectorIndex> {
    const fail = (problem: string, cause?: unknown) =>
      new IndexError(`Cannot load pgvector index '${path}': ${problem}`, { cause, context: { file: path } });
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (cause) {
      throw fail((cause as Error).message, cause);
    }
    if (bytes.length < HEADER_BYTES) throw fail(`file is truncated (${bytes.length} bytes)`);
    const magic = new TextDecoder().decode(bytes.subarray(0, 8));
    if (magic !== MAGIC) throw fail(`not a Waymark pgvector index (magic ${JSON.stringify(magic)})`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
    const version = view.getUint32(8, true);
    if (version !== VERSION) {
      throw fail(`unsupported format version ${version} (this build reads ${VERSION})`);
    }
    const length = view.getUint32(12, true);
    if (bytes.length !== HEADER_BYTES + length) {
      throw fail(
        `file length ${bytes.length} differs from the recorded ${HEADER_BYTES + length} (truncated?)`,
      );
    }
    const body = bytes.subarray(HEADER_BYTES);
    if (crc32(body) !== view.getUint32(16, true)) throw fail("checksum mismatch (corrupt)");
    let d: {
      target: string;
      table: string;
      dim: number;
      modelId: string;
      count: number;
      options: { m: number; efConstruction: number; efSearch: number };
    };
    try {
      d = JSON.parse(new TextDecoder().decode(body));
    } catch (cause) {
      throw fail(`descriptor is not JSON: ${(cause as Error).message}`, cause);
    }
    let index: PgVectorIndex;
    try {
      const opts = { table: d.table, modelId: d.modelId, ...d.options };
      index = options.connection
        ? PgVectorIndex.attach(options.connection, d.dim, opts)
        : await PgVectorIndex.open(d.target, d.dim, { ...options, ...opts });
    } catch (cause) {
      throw fail((cause as Error).message, cause);
    }
    const now = index.size;
    if (now < d.count) {
      index.close();
      throw fail(
        `table '${d.table}' holds ${now} rows, fewer than the ${d.count} saved (another or a truncated table)`,
      );
    }
    return index;
  }

  /** Write buffered adds, and close the connection when this index opened it. */
  close(): void {
    if (this.conn.open) this.flush();
    if (this.ownsConnection) this.conn.close();
  }
}

function intOption(action: string, field: string, v: number, min: number, max: number): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new IndexError(
      `Cannot ${action} as '${field}' must be an integer in [${min}, ${max}]: current value is ${v}`,
    );
  }
  return v;
}
