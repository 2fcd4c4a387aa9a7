/**
 * One small connection interface to Postgres (with the pgvector extension) and its two adapters:
 *
 * - `PGliteConnection`: PGlite 0.4.x, real Postgres compiled to WebAssembly with the `vector` extension, in
 *   this process (in memory, or in a data folder). Used by the tests, by CI and by a single robot that wants
 *   SQL. PGlite is single-connection: concurrent callers are serialised by PGlite itself, and a transaction
 *   holds the connection until it ends.
 * - `NodePgConnection`: node-postgres (`pg`) for a Postgres server, over a `pg.Pool` (or anything with the
 *   same `query`/`connect` shape, which is how the adapter is tested without a server).
 *
 * Targets are written `pglite:<dir>`, `pglite:memory` or `postgres://user@host:port/db?table=name`. A password
 * never appears in a target: node-postgres takes it from the `PGPASSWORD` environment variable or the
 * password file (`PGPASSFILE`, default `~/.pgpass`), and `parseIndexTarget` refuses a URL that carries one.
 *
 * @module
 */

import { IndexError } from "../errors.ts";

/** A result of `query`: rows as plain objects keyed by column name. */
export interface PgResult<T = Record<string, unknown>> {
  rows: T[];
}

/** Something that runs one SQL statement with `$1..$n` parameters. */
export interface PgQueryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<PgResult<T>>;
  /**
   * `COPY <table> FROM STDIN`-style bulk load of `data` (for `sql` such as `COPY t FROM '/dev/blob' WITH
   * (FORMAT binary)`). Present where the adapter can do it (PGlite); callers fall back to multi-row INSERTs.
   */
  copyFrom?(sql: string, data: Uint8Array): Promise<void>;
}

/** A connection: queries, transactions (committed when `fn` resolves, rolled back when it throws), close. */
export interface PgConnection extends PgQueryable {
  /** Where it connects, without a password (`pglite:<dir>`, `postgres://user@host/db`). */
  readonly target: string;
  transaction<T>(fn: (tx: PgQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Where an index lives, parsed from a target string. */
export type IndexTarget =
  | { kind: "pglite"; dataDir: string | null; table: string }
  | { kind: "postgres"; url: string; table: string };

/** Default table name when a target names none. */
export const DEFAULT_TABLE = "waymark_places";

const TABLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throw unless `name` is a plain lower-case SQL identifier (it is interpolated into SQL). */
export function checkTableName(action: string, name: string): string {
  if (typeof name !== "string" || !TABLE_NAME.test(name)) {
    throw new IndexError(
      `Cannot ${action} as 'table' must be a lower-case identifier matching ${TABLE_NAME}: current value is ${
        JSON.stringify(name)
      }`,
    );
  }
  return name;
}

/**
 * Parse `pglite:<dir>`, `pglite:memory` (optionally `?table=name`) or `postgres://user@host[:port]/db?table=name`.
 * @throws IndexError on another scheme, a bad table name, or a URL that carries a password.
 */
export function parseIndexTarget(target: string): IndexTarget {
  const action = "parse index target";
  if (typeof target !== "string") throw new IndexError(`Cannot ${action}: it must be a string`);
  if (target.startsWith("pglite:")) {
    const [rest, query = ""] = splitOnce(target.slice("pglite:".length), "?");
    const table = new URLSearchParams(query).get("table") ?? DEFAULT_TABLE;
    if (rest === "") {
      throw new IndexError(`Cannot ${action} '${target}': 'pglite:' needs a folder or 'memory'`);
    }
    return { kind: "pglite", dataDir: rest === "memory" ? null : rest, table: checkTableName(action, table) };
  }
  if (target.startsWith("postgres://") || target.startsWith("postgresql://")) {
    let url: URL;
    try {
      url = new URL(target);
    } catch (cause) {
      throw new IndexError(`Cannot ${action} '${target}': ${(cause as Error).message}`, { cause });
    }
    if (url.password !== "") {
      throw new IndexError(
        `Cannot ${action} '${redactPassword(target)}': the URL carries a password; ` +
          "give it in PGPASSWORD or a password file (~/.pgpass) instead",
      );
    }
    const table = url.searchParams.get("table") ?? DEFAULT_TABLE;
    url.searchParams.delete("table");
    return { kind: "postgres", url: url.toString(), table: checkTableName(action, table) };
  }
  throw new IndexError(
    `Cannot ${action} '${target}': expected 'pglite:<dir>', 'pglite:memory' or 'postgres://user@host/db?table=name'`,
  );
}

/** The target string of a parsed target (what a manifest records; never a password). */
export function formatIndexTarget(t: IndexTarget): string {
  if (t.kind === "pglite") return `pglite:${t.dataDir ?? "memory"}?table=${t.table}`;
  const url = new URL(t.url);
  url.password = "";
  url.searchParams.set("table", t.table);
  return url.toString();
}

function redactPassword(s: string): string {
  return s.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

/** Open a connection to a parsed target (PGlite in this process, or a `pg.Pool`). */
export async function openConnection(t: IndexTarget): Promise<PgConnection> {
  if (t.kind === "pglite") return await PGliteConnection.open(t.dataDir);
  const pg = (await import("pg")).default as unknown as {
    Pool: new (config: { connectionString: string; max?: number }) => PgPoolLike;
  };
  return new NodePgConnection(new pg.Pool({ connectionString: t.url, max: 4 }), formatIndexTarget(t));
}

// ---------------------------------------------------------------------------------------------------------
// PGlite

type PGliteQuery = <T>(sql: string, params?: unknown[], options?: { blob?: Blob }) => Promise<PgResult<T>>;

interface PGliteLike {
  query: PGliteQuery;
  transaction<T>(fn: (tx: { query: PGliteQuery }) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly closed: boolean;
}

/** The PGlite adapter (see the module documentation). */
export class PGliteConnection implements PgConnection {
  readonly target: string;
  private constructor(private readonly db: PGliteLike, dataDir: string | null) {
    this.target = `pglite:${dataDir ?? "memory"}`;
  }

  /** Start PGlite with the `vector` extension, in memory (`null`) or in `dataDir`, and create the extension. */
  static async open(dataDir: string | null = null): Promise<PGliteConnection> {
    const { PGlite } = await import("@electric-sql/pglite");
    const { vector } = await import("@electric-sql/pglite/vector");
    let db: PGliteLike;
    try {
      db = await PGlite.create({
        dataDir: dataDir ?? undefined,
        extensions: { vector },
      }) as unknown as PGliteLike;
      await db.query("CREATE EXTENSION IF NOT EXISTS vector");
    } catch (cause) {
      throw new IndexError(`Cannot open PGlite in '${dataDir ?? "memory"}': ${(cause as Error).message}`, {
        cause,
        context: { file: dataDir ?? undefined },
      });
    }
    return new PGliteConnection(db, dataDir);
  }

  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<PgResult<T>> {
    return this.db.query<T>(sql, params);
  }

  async copyFrom(sql: string, data: Uint8Array): Promise<void> {
    await this.db.query(sql, [], { blob: new Blob([data as Uint8Array<ArrayBuffer>]) });
  }

  transaction<T>(fn: (tx: PgQueryable) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) =>
      fn({
        query: (sql, params) => tx.query(sql, params),
        copyFrom: async (sql, data) => {
          await tx.query(sql, [], { blob: new Blob([data as Uint8Array<ArrayBuffer>]) });
        },
      })
    );
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}

// ---------------------------------------------------------------------------------------------------------
// node-postgres

/** The part of a `pg.PoolClient` the adapter uses. */
export interface PgClientLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  release(err?: Error | boolean): void;
}

/** The part of a `pg.Pool` the adapter uses. */
export interface PgPoolLike {
  query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
}

/**
 * The node-postgres adapter over a pool: `query` takes any pooled connection; `transaction` checks one out,
 * runs BEGIN, `fn`, COMMIT (ROLLBACK when `fn` throws) on it, then releases it (destroying it when even the
 * ROLLBACK failed, so a broken connection is not reused).
 */
export class NodePgConnection implements PgConnection {
  constructor(private readonly pool: PgPoolLike, readonly target: string) {}

  async query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<PgResult<T>> {
    const r = await this.pool.query(sql, params);
    return { rows: r.rows as T[] };
  }

  async transaction<T>(fn: (tx: PgQueryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const tx: PgQueryable = {
      query: async <R>(sql: string, params?: unknown[]) => ({
        rows: (await client.query(sql, params)).rows as R[],
      }),
    };
    try {
      await client.query("BEGIN");
      const value = await fn(tx);
      await client.query("COMMIT");
      client.release();
      return value;
    } catch (err) {
      try {
        await client.query("ROLLBACK");
        client.release();
      } catch {
        client.release(true);
      }
      throw err;
    }
  }

  close(): Promise<void> {
    return this.pool.end();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Vectors as compact text

/**
 * A vector as compact pgvector text: each value with the fewest significant digits (6 to 9) that give back the
 * same float32, without a leading zero (`.0612`, `-.5`), so that Postgres parses exactly the stored floats.
 */
export function vectorToText(v: Float32Array): string {
  let s = "[";
  for (let i = 0; i < v.length; i++) {
    if (i > 0) s += ",";
    const x = v[i];
    let text = x.toPrecision(9);
    for (let p = 6; p < 9; p++) {
      const t = x.toPrecision(p);
      if (Math.fround(Number(t)) === x) {
        text = t;
        break;
      }
    }
    s += trimNumber(text);
  }
  return s + "]";
}

function trimNumber(s: string): string {
  if (s.includes("e")) return String(Number(s));
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s.replace(/^(-?)0\./, "$1.");
}

/**
 * Rows `(id bigint, embedding vector)` in Postgres's binary COPY format (big-endian; pgvector's binary form is
 * int16 dim, int16 0, then the float4 values), for `COPY t (id, embedding) FROM ... WITH (FORMAT binary)`.
 */
export function encodeCopyBinary(
  ids: readonly number[],
  vectors: readonly Float32Array[],
  dim: number,
): Uint8Array {
  const rowBytes = 2 + (4 + 8) + (4 + 4 + 4 * dim);
  const out = new Uint8Array(19 + ids.length * rowBytes + 2);
  const dv = new DataView(out.buffer);
  out.set([0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]); // "PGCOPY\n\xff\r\n\0", flags 0, ext 0
  let o = 19;
  for (let r = 0; r < ids.length; r++) {
    const v = vectors[r];
    dv.setInt16(o, 2);
    dv.setInt32(o + 2, 8);
    dv.setBigInt64(o + 6, BigInt(ids[r]));
    dv.setInt32(o + 14, 4 + 4 * dim);
    dv.setInt16(o + 18, dim);
    dv.setInt16(o + 20, 0);
    o += 22;
    for (let j = 0; j < dim; j++, o += 4) dv.setFloat32(o, v[j]);
  }
  dv.setInt16(o, -1);
  return out;
}

/** Parse pgvector text `[a,b,...]`. */
export function textToVector(s: string): Float32Array {
  const inner = s.trim().replace(/^\[/, "").replace(/\]$/, "");
  if (inner === "") return new Float32Array(0);
  return Float32Array.from(inner.split(","), Number);
}
