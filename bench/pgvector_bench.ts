/**
 * pgvector benchmark: `PgVectorIndex` on PGlite (Postgres + pgvector in WebAssembly, through the blocking
 * worker bridge) beside `HnswIndex` (hnswlib, native) on the same vectors: 256-d L2-normalised Gaussian mixture
 * (one cluster per ~100 vectors, noise 0.5..1.0, as `index_bench.ts`), fresh queries from the same mixture.
 *
 * Rows: PGlite bulk insert throughput (table without index, batched multi-row INSERTs), HNSW build time,
 * insert throughput into the indexed table, query p50/p99 and Recall@10 against exact search (k = 10,
 * ef_search 128); the same build time, query p50/p99 and Recall@10 for `HnswIndex`. Both indexes use m = 16 and
 * ef_construction = 100 (as the index bench).
 *
 * Takes about 15 minutes at 100,000 vectors on a small CPU, so `deno task bench` runs it only when asked
 * (`--only pgvector`, or `WAYMARK_PGVECTOR_N=<size>`; 0 gives no rows).
 * Run alone: `deno run -A bench/pgvector_bench.ts [--n 100000] [--queries 200]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BruteForceIndex } from "../src/index/brute_force_index.ts";
import { HnswIndex } from "../src/index/hnsw_index.ts";
import { PgVectorIndex } from "../src/index/pgvector_index.ts";
import { GaussianMixture } from "../src/index/_synthetic.ts";
import type { SearchHit, VectorIndex } from "../src/index/vector_index.ts";
import type { BenchResult } from "./_types.ts";
import { summarize, timeEach, timeMs } from "./_stats.ts";

/** Options of the pgvector benchmark. */
export interface PgVectorBenchOptions {
  /** Vectors. Default `WAYMARK_PGVECTOR_N` or 100,000 (0: no rows). */
  n?: number;
  dim?: number;
  /** Queries. Default 200. */
  queries?: number;
  /** Extra rows inserted one batch at a time into the indexed table. Default 2,000. */
  liveInserts?: number;
  log?: (line: string) => void;
}

/** Run the benchmark; one `BenchResult` per number. */
export async function bench(options: PgVectorBenchOptions = {}): Promise<BenchResult[]> {
  const n = options.n ?? Number(Deno.env.get("WAYMARK_PGVECTOR_N") ?? 100_000);
  if (n === 0) return [];
  const dim = options.dim ?? 256;
  const queryCount = options.queries ?? 200;
  const liveInserts = options.liveInserts ?? 2000;
  const k = 10;
  const m = 16;
  const efConstruction = 100;
  const efSearch = 128;
  const log = options.log ?? ((line: string) => console.error(line));
  const clusters = Math.max(8, Math.round(n / 100));
  const dataNote = `${n} x ${dim}-d Gaussian mixture (${clusters} clusters), k=${k}, M=${m}, ` +
    `efConstruction=${efConstruction}, efSearch=${efSearch}`;
  const results: BenchResult[] = [];
  const push = (name: string, value: number, unit: string, note: string) =>
    results.push({ name: `pgvector/${name}/n=${n}`, value, unit, note: `${note}; ${dataNote}` });

  const mix = new GaussianMixture({ dim, clusters, spread: [0.5, 1.0], seed: 1 });
  const data = mix.sample(n + liveInserts);
  const row = (i: number) => data.subarray(i * dim, (i + 1) * dim);
  const qFlat = mix.sample(queryCount);
  const queries = Array.from({ length: queryCount }, (_, i) => qFlat.subarray(i * dim, (i + 1) * dim));
  log(`[pgvector bench] exact top-${k} for ${queryCount} queries`);
  const exact = BruteForceIndex.fromMatrix(dim, data.slice(0, n * dim)).searchBatch(queries, k);
  const recall = (index: VectorIndex) => {
    let found = 0;
    const hits: SearchHit[][] = queries.map((q) => index.search(q, k));
    hits.forEach((h, i) => {
      const truth = new Set(exact[i].map((x) => x.id));
      found += h.filter((x) => truth.has(x.id)).length;
    });
    return found / (k * queryCount);
  };

  // PGlite + pgvector.
  const pg = await PgVectorIndex.open("pglite:memory?table=bench", dim, {
    m,
    efConstruction,
    efSearch,
    hnswIndex: false,
    batchSize: 1000,
    timeoutMs: 3_600_000,
  });
  try {
    log(`[pgvector bench] PGlite: inserting ${n} rows`);
    const insert = timeMs(() => {
      for (let i = 0; i < n; i++) pg.add(i, row(i));
      pg.flush();
    });
    push(
      "pglite/bulk_insert",
      n / (insert.ms / 1000),
      "rows/s",
      "binary COPY into a staging table + upsert, 1000 rows per transaction, no index",
    );
    log(`[pgvector bench] PGlite: building HNSW (${(insert.ms / 1000).toFixed(0)} s inserting)`);
    const build = timeMs(() => pg.createHnswIndex("1GB"));
    push(
      "pglite/hnsw_build",
      build.ms / 1000,
      "s",
      "CREATE INDEX USING hnsw (vector_ip_ops), maintenance_work_mem 1GB",
    );
    log(`[pgvector bench] PGlite: ${liveInserts} inserts into the indexed table`);
    const live = timeMs(() => {
      for (let i = n; i < n + liveInserts; i += 100) {
        for (let j = i; j < Math.min(i + 100, n + liveInserts); j++) pg.add(j, row(j));
        pg.flush();
      }
    });
    push(
      "pglite/indexed_insert",
      liveInserts / (live.ms / 1000),
      "rows/s",
      "100-row transactions into the HNSW-indexed table",
    );
    // Queries against the first n rows only: remove the live rows again so that the ground truth holds.
    pg.flush();
    log(`[pgvector bench] PGlite: ${queryCount} queries`);
    const deleteLive = `DELETE FROM bench WHERE id >= ${n}`;
    (pg as unknown as { conn: { query(sql: string): unknown } }).conn.query(deleteLive);
    const lat = summarize(timeEach(queryCount, (i) => pg.search(queries[i], k), 5));
    push("pglite/query_p50", lat.p50, "ms", "PgVectorIndex.search through the worker bridge");
    push("pglite/query_p99", lat.p99, "ms", "PgVectorIndex.search through the worker bridge");
    push("pglite/recall_at_10", recall(pg), "ratio", "against exact search");
  } finally {
    pg.close();
  }

  // HnswIndex on the same vectors.
  log(`[pgvector bench] HnswIndex: building`);
  const hnsw = new HnswIndex(dim, { m, efConstruction, efSearch, maxElements: n });
  const hb = timeMs(() => {
    for (let i = 0; i < n; i++) hnsw.add(i, row(i));
  });
  push("hnsw/build", hb.ms / 1000, "s", "HnswIndex.add one by one");
  const hl = summarize(timeEach(queryCount, (i) => hnsw.search(queries[i], k), 5));
  push("hnsw/query_p50", hl.p50, "ms", "HnswIndex.search");
  push("hnsw/query_p99", hl.p99, "ms", "HnswIndex.search");
  push("hnsw/recall_at_10", recall(hnsw), "ratio", "against exact search");
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { n: { type: "string" }, queries: { type: "string" } },
  });
  const { formatResults } = await import("./main.ts");
  const results = await bench({
    n: values.n ? Number(values.n) : undefined,
    queries: values.queries ? Number(values.queries) : undefined,
  });
  console.log(formatResults(results));
}
