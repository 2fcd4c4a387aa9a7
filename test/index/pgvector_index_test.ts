import assert from "node:assert/strict";
import { IndexError } from "../../src/errors.ts";
import {
  formatIndexTarget,
  NodePgConnection,
  parseIndexTarget,
  type PgClientLike,
  type PgPoolLike,
  textToVector,
  vectorToText,
} from "../../src/index/pg_connection.ts";
import { SyncPgConnection } from "../../src/index/_pg_sync.ts";
import { PgVectorIndex } from "../../src/index/pgvector_index.ts";
import { GaussianMixture, randomUnitVectors } from "../../src/index/_synthetic.ts";
import { exactTopK, runVectorIndexContract } from "./vector_index_contract.ts";

// One embedded Postgres (PGlite + pgvector in a worker) for the whole file; each index gets its own table.
const conn = await SyncPgConnection.open({ kind: "pglite", dataDir: null, table: "unused" });
let tables = 0;
const nextTable = () => `t_${tables++}`;

runVectorIndexContract("PgVectorIndex (PGlite)", {
  create: (dim) => PgVectorIndex.attach(conn, dim, { table: nextTable(), batchSize: 64 }),
  load: (path) => PgVectorIndex.load(path, { connection: conn }),
});

Deno.test("PgVectorIndex: the multi-row INSERT path (servers) stores exact vectors and replaces re-added ids", () => {
  const dim = 12;
  const index = PgVectorIndex.attach(conn, dim, { table: nextTable(), batchSize: 7, copy: false });
  const vs = randomUnitVectors(30, dim, 21);
  for (let i = 0; i < 30; i++) index.add(i * 3, vs.subarray(i * dim, (i + 1) * dim));
  index.add(0, vs.subarray(dim, 2 * dim)); // id 0 now holds row 1's vector
  assert.equal(index.size, 30);
  for (let i = 1; i < 30; i++) {
    const [best] = index.search(vs.subarray(i * dim, (i + 1) * dim), 1);
    assert.ok(Math.abs(best.similarity - 1) < 1e-6);
  }
  const two = index.search(vs.subarray(dim, 2 * dim), 2).map((h) => h.id).sort((a, b) => a - b);
  assert.deepEqual(two, [0, 3]);
});

Deno.test("PgVectorIndex: a table of another dimension or model id is refused naming both", () => {
  const table = nextTable();
  const index = PgVectorIndex.attach(conn, 8, { table, modelId: "netvlad-a" });
  index.add(1, randomUnitVectors(1, 8, 1));
  assert.equal(index.size, 1);
  assert.throws(
    () => PgVectorIndex.attach(conn, 16, { table, modelId: "netvlad-a" }),
    (e) =>
      e instanceof IndexError && e.message.includes(table) && /dimension 8/.test(e.message) &&
      /dimension 16/.test(e.message),
  );
  assert.throws(
    () => PgVectorIndex.attach(conn, 8, { table, modelId: "netvlad-b" }),
    (e) => e instanceof IndexError && /"netvlad-a"/.test(e.message) && /"netvlad-b"/.test(e.message),
  );
  assert.equal(PgVectorIndex.attach(conn, 8, { table, modelId: "netvlad-a" }).size, 1, "nothing was lost");
});

Deno.test("PgVectorIndex: batched adds, the HNSW index serves searches, recall against exact", () => {
  const dim = 32;
  const n = 2000;
  const index = PgVectorIndex.attach(conn, dim, {
    table: nextTable(),
    batchSize: 500,
    efSearch: 64,
    efConstruction: 64,
  });
  const data = new GaussianMixture({ dim, clusters: 20, spread: [0.5, 1], seed: 3 }).sample(n);
  const vectors = new Map<number, Float32Array>();
  for (let i = 0; i < n; i++) {
    const v = data.slice(i * dim, (i + 1) * dim);
    index.add(i, v);
    vectors.set(i, v);
  }
  assert.equal(index.size, n);
  const plan = index.explain(vectors.get(0)!, 10);
  assert.match(plan, new RegExp(`Index Scan using ${index.table}_hnsw`), plan);
  let found = 0;
  const queries = 30;
  for (let q = 0; q < queries; q++) {
    const query = randomUnitVectors(1, dim, 100 + q);
    const hits = index.search(query, 10);
    const exact = new Set(exactTopK(vectors, query, 10).map((h) => h.id));
    found += hits.filter((h) => exact.has(h.id)).length;
  }
  assert.ok(found / (10 * queries) >= 0.9, `Recall@10 ${found / (10 * queries)}`);

  // A filter that admits 3 ids out of 2000 goes past the ef_search ceiling to an exact scan.
  const admitted = new Set([17, 1234, 1999]);
  const hits = index.search(randomUnitVectors(1, dim, 7), 5, { filter: (id) => admitted.has(id) });
  assert.deepEqual(new Set(hits.map((h) => h.id)), admitted);
});

Deno.test("PgVectorIndex: a pglite:<dir> table persists across connections; bad options are IndexErrors", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_pg_test_" });
  try {
    const target = `pglite:${dir}/db?table=places`;
    const a = await PgVectorIndex.open(target, 4, { modelId: "m1", m: 8, efConstruction: 32 });
    const vs = randomUnitVectors(3, 4, 2);
    for (let i = 0; i < 3; i++) a.add(10 + i, vs.subarray(i * 4, i * 4 + 4));
    await a.save(`${dir}/index.pgi`);
    a.close();
    const b = await PgVectorIndex.load(`${dir}/index.pgi`);
    try {
      assert.equal(b.size, 3);
      assert.equal(b.search(vs.subarray(4, 8), 1)[0].id, 11);
      assert.equal(b.m, 8);
      assert.equal(b.efConstruction, 32);
    } finally {
      b.close();
    }
    await assert.rejects(
      PgVectorIndex.open(target, 4, { m: 1 }),
      (e) => e instanceof IndexError && /'m'/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("index targets: parsed, formatted without password, a password in the URL refused", () => {
  assert.deepEqual(parseIndexTarget("pglite:/tmp/x?table=city"), {
    kind: "pglite",
    dataDir: "/tmp/x",
    table: "city",
  });
  assert.deepEqual(parseIndexTarget("pglite:memory"), {
    kind: "pglite",
    dataDir: null,
    table: "waymark_places",
  });
  const pg = parseIndexTarget("postgres://robot@db.example:5433/fleet?table=city&sslmode=require");
  assert.equal(pg.kind, "postgres");
  assert.equal(pg.table, "city");
  assert.equal(formatIndexTarget(pg), "postgres://robot@db.example:5433/fleet?sslmode=require&table=city");
  assert.throws(
    () => parseIndexTarget("postgres://robot:hunter2@db/fleet"),
    (e) => e instanceof IndexError && /PGPASSWORD/.test(e.message) && !e.message.includes("hunter2"),
  );
  assert.throws(() => parseIndexTarget("postgres://robot@db/fleet?table=Bad;drop"), IndexError);
  assert.throws(() => parseIndexTarget("mysql://x"), IndexError);
});

Deno.test("vector text round-trips every float32 exactly and stays compact", () => {
  const v = randomUnitVectors(1, 256, 9);
  v[0] = 0.5;
  v[1] = -1e-20;
  v[2] = 0;
  const text = vectorToText(v);
  assert.deepEqual(textToVector(text), v);
  assert.ok(text.length < 256 * 12, `${text.length} characters`);
  assert.ok(text.startsWith("[.5,-1e-20,0,"));
});

/** A fake pool that records statements and fails where told. */
function fakePool(failOn?: RegExp) {
  const log: string[] = [];
  const released: (boolean | Error | undefined)[] = [];
  const run = (sql: string, params?: unknown[]) => {
    log.push(params ? `${sql} ${JSON.stringify(params)}` : sql);
    if (failOn?.test(sql)) return Promise.reject(new Error(`fake failure on ${sql}`));
    return Promise.resolve({ rows: [{ sql }] });
  };
  const client: PgClientLike = { query: run, release: (e) => void released.push(e) };
  const pool: PgPoolLike & { ended: boolean } = {
    ended: false,
    query: run,
    connect: () => Promise.resolve(client),
    end() {
      this.ended = true;
      return Promise.resolve();
    },
  };
  return { pool, log, released };
}

Deno.test("NodePgConnection: queries pass through; a transaction is BEGIN/COMMIT on one client, released", async () => {
  const { pool, log, released } = fakePool();
  const c = new NodePgConnection(pool, "postgres://robot@db/fleet");
  assert.deepEqual((await c.query("SELECT $1", [1])).rows, [{ sql: "SELECT $1" }]);
  const v = await c.transaction(async (tx) => {
    await tx.query("INSERT 1");
    await tx.query("INSERT 2", ["a"]);
    return 42;
  });
  assert.equal(v, 42);
  assert.deepEqual(log, ["SELECT $1 [1]", "BEGIN", "INSERT 1", 'INSERT 2 ["a"]', "COMMIT"]);
  assert.deepEqual(released, [undefined]);
  await c.close();
  assert.ok(pool.ended);
});

Deno.test("NodePgConnection: a failing transaction rolls back; a failed rollback destroys the client", async () => {
  const a = fakePool(/INSERT 2/);
  const c = new NodePgConnection(a.pool, "postgres://robot@db/fleet");
  await assert.rejects(
    c.transaction(async (tx) => {
      await tx.query("INSERT 1");
      await tx.query("INSERT 2");
    }),
    /fake failure on INSERT 2/,
  );
  assert.deepEqual(a.log, ["BEGIN", "INSERT 1", "INSERT 2", "ROLLBACK"]);
  assert.deepEqual(a.released, [undefined]);
  const b = fakePool(/INSERT|ROLLBACK/);
  await assert.rejects(
    new NodePgConnection(b.pool, "x").transaction((tx) => tx.query("INSERT 1")),
    /INSERT 1/,
  );
  assert.deepEqual(b.released, [true]);
});

Deno.test("PgVectorIndex: close the shared PGlite", () => {
  conn.close();
  assert.equal(conn.open, false);
  assert.throws(() => conn.query("SELECT 1"), (e) => e instanceof IndexError && /closed/.test(e.message));
});
