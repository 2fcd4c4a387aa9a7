/**
 * Vector index benchmark: HNSW (`HnswIndex`) against exact search (`BruteForceIndex`) on synthetic 256-d
 * L2-normalised vectors drawn from a Gaussian mixture (random unit centres, one cluster per ~100 vectors,
 * isotropic noise of norm 0.5..1.0 per cluster, renormalised: clustered like real place descriptors, not
 * uniform noise).
 *
 * Per size: HNSW build time, HNSW query p50/p99 (per efSearch in a sweep), exact query p50/p99, and HNSW
 * Recall@1 against exact search on two query sets: `perturbed` (database vectors plus noise of norm 0.5, a
 * revisit) and `fresh` (new draws from the mixture, usually harder). Built HNSW indexes and exact ground truth are
 * cached under `.waymark-cache/index_bench/` keyed by every parameter, so reruns (and the 1M size) are fast.
 *
 * Run: `deno run -A bench/index_bench.ts [--sizes 10000,100000,1000000] [--ef 16,32,64,128,256] [--m 16]
 * [--ef-construction 100] [--queries 200] [--no-cache] [--json]`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { BruteForceIndex } from "../src/index/brute_force_index.ts";
import { HNSW_DEFAULTS, HnswIndex } from "../src/index/hnsw_index.ts";
import { GaussianMixture } from "../src/index/_synthetic.ts";
import type { SearchHit } from "../src/index/vector_index.ts";
import type { BenchResult } from "./_types.ts";
import { summarize, timeEach, timeMs } from "./_stats.ts";

/** Options of the index benchmark (all optional). */
export interface IndexBenchOptions {
  /** Database sizes. Default [10_000, 100_000, 1_000_000] (the 1M build takes minutes once, then is cached). */
  sizes?: number[];
  /** Vector dimension. Default 256. */
  dim?: number;
  /** Queries per query set (perturbed, fresh). Default 200. */
  queries?: number;
  /** Exact single-query searches timed per size. Default 50 (20 from 500k vectors). */
  exactQueries?: number;
  /** HNSW links per node. Default `HNSW_DEFAULTS.m` (16). */
  m?: number;
  /** HNSW build candidate list. Default 100 (half the library default: 1M builds twice as fast). */
  efConstruction?: number;
  /** efSearch reported as the headline numbers. Default `HNSW_DEFAULTS.efSearch` (128). */
  efSearch?: number;
  /** Further efSearch values measured (recall/latency trade-off). Default [16, 32, 64, 128, 256]. */
  efSweep?: number[];
  /** Cache folder for built indexes and ground truth, or false. Default `.waymark-cache/index_bench`. */
  cache?: string | false;
  /** Data seed. Default 1. */
  seed?: number;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

const CACHE_VERSION = 1;

interface Truth {
  ids: number[];
  sims: number[];
  /** Exact batched search cost, ms per query (when computed in this run). */
  batchMsPerQuery?: number;
}

/** Run the index benchmark; returns one `BenchResult` per number. */
export async function bench(options: IndexBenchOptions = {}): Promise<BenchResult[]> {
  const sizes = options.sizes ?? [10_000, 100_000, 1_000_000];
  const dim = options.dim ?? 256;
  const queries = options.queries ?? 200;
  const m = options.m ?? HNSW_DEFAULTS.m;
  const efConstruction = options.efConstruction ?? 100;
  const efSearch = options.efSearch ?? HNSW_DEFAULTS.efSearch;
  const efSweep = [...new Set([...(options.efSweep ?? [16, 32, 64, 128, 256]), efSearch])].sort((a, b) =>
    a - b
  );
  const cache = options.cache === undefined ? ".waymark-cache/index_bench" : options.cache;
  const seed = options.seed ?? 1;
  const log = options.log ?? ((line: string) => console.error(line));
  if (cache) await Deno.mkdir(cache, { recursive: true });

  const results: BenchResult[] = [];
  for (const n of sizes) {
    const clusters = Math.max(8, Math.round(n / 100));
    const dataNote = `${n} x ${dim}-d L2-normalised Gaussian mixture (${clusters} clusters, noise 0.5..1.0)`;
    const params = `M=${m}, efConstruction=${efConstruction}`;
    const push = (name: string, value: number, unit: string, note: string) =>
      results.push({ name: `index/${name}/n=${n}`, value, unit, note });

    // Data and query sets (deterministic).
    log(`[index bench] n=${n}: generating data (${dataNote})`);
    const mix = new GaussianMixture({ dim, clusters, spread: [0.5, 1.0], seed });
    const data = mix.sample(n);
    const perturbedRows = Array.from({ length: queries }, () => mix.randomInt(n));
    const perturbed = mix.perturb(data, perturbedRows, 0.5);
    const freshFlat = mix.sample(queries);
    const fresh = Array.from({ length: queries }, (_, i) => freshFlat.subarray(i * dim, (i + 1) * dim));
    const allQueries = [...perturbed, ...fresh];

    // Exact search: ground truth (cached) and single-query latency.
    const exact = BruteForceIndex.fromMatrix(dim, data);
    const dataKey = `n${n}_d${dim}_k${clusters}_s${seed}_q${queries}_v${CACHE_VERSION}`;
    const truth = await cached<Truth>(cache ? `${cache}/truth_${dataKey}.json` : undefined, () => {
      log(`[index bench] n=${n}: exact ground truth for ${allQueries.length} queries`);
      const { ms, result } = timeMs(() => exact.searchBatch(allQueries, 1));
      return {
        ids: result.map((h) => h[0].id),
        sims: result.map((h) => h[0].similarity),
        batchMsPerQuery: ms / allQueries.length,
      };
    });
    const exactCount = Math.min(fresh.length, options.exactQueries ?? (n >= 500_000 ? 20 : 50));
    log(`[index bench] n=${n}: timing ${exactCount} exact searches`);
    const exactMs = summarize(timeEach(exactCount, (i) => exact.search(fresh[i], 1), 2));
    push(
      "exact/query_p50",
      exactMs.p50,
      "ms",
      `BruteForceIndex.search k=1, ${exactCount} queries, ${dataNote}`,
    );
    push(
      "exact/query_p99",
      exactMs.p99,
      "ms",
      `BruteForceIndex.search k=1, ${exactCount} queries, ${dataNote}`,
    );
    if (truth.batchMsPerQuery !== undefined) {
      push(
        "exact/batch_ms_per_query",
        truth.batchMsPerQuery,
        "ms",
        `BruteForceIndex.searchBatch k=1, ${dataNote}`,
      );
    }

    // HNSW: build (or load the cached build).
    const hnswKey = `hnsw_${dataKey}_m${m}_efc${efConstruction}`;
    const { index: hnsw, buildSeconds, fromCache } = await buildOrLoad(
      cache ? `${cache}/${hnswKey}` : undefined,
      () => {
        const index = new HnswIndex(dim, { m, efConstruction, maxElements: n, efSearch });
        const step = Math.max(1, Math.floor(n / 10));
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          index.add(i, data.subarray(i * dim, (i + 1) * dim));
          if ((i + 1) % step === 0 && n >= 100_000) {
            const s = (performance.now() - t0) / 1000;
            log(`[index bench] n=${n}: built ${i + 1} (${s.toFixed(0)} s, ${((i + 1) / s).toFixed(0)}/s)`);
          }
        }
        return index;
      },
      log,
    );
    push(
      "hnsw/build",
      buildSeconds,
      "s",
      `${params}, single thread${fromCache ? " (measured when the cached index was built)" : ""}`,
    );

    // HNSW: efSearch sweep: latency and Recall@1 against exact on both query sets.
    for (const ef of efSweep) {
      hnsw.efSearch = ef;
      const hits: SearchHit[][] = new Array(allQueries.length);
      const ms = summarize(timeEach(allQueries.length, (i) => (hits[i] = hnsw.search(allQueries[i], 1)), 20));
      const recall = (from: number, to: number) => {
        let ok = 0;
        for (let i = from; i < to; i++) {
          const h = hits[i][0];
          if (h !== undefined && (h.id === truth.ids[i] || h.similarity >= truth.sims[i] - 1e-6)) ok++;
        }
        return ok / (to - from);
      };
      const note = `${params}, efSearch=${ef}, k=1, ${allQueries.length} queries`;
      const prefix = ef === efSearch ? "hnsw" : `hnsw/ef=${ef}`;
      push(`${prefix}/query_p50`, ms.p50, "ms", note);
      push(`${prefix}/query_p99`, ms.p99, "ms", note);
      push(
        `${prefix}/recall@1_perturbed`,
        recall(0, queries),
        "ratio",
        `${note}; queries: database vectors + noise 0.5`,
      );
      push(
        `${prefix}/recall@1_fresh`,
        recall(queries, 2 * queries),
        "ratio",
        `${note}; queries: new mixture draws`,
      );
    }
    hnsw.efSearch = efSearch;
  }
  return results;
}

async function cached<T>(path: string | undefined, compute: () => T): Promise<T> {
  if (path) {
    try {
      return JSON.parse(await Deno.readTextFile(path)) as T;
    } catch {
      // Absent or unreadable: compute.
    }
  }
  const value = compute();
  if (path) await Deno.writeTextFile(path, JSON.stringify(value));
  return value;
}

async function buildOrLoad(
  stem: string | undefined,
  build: () => HnswIndex,
  log: (line: string) => void,
): Promise<{ index: HnswIndex; buildSeconds: number; fromCache: boolean }> {
  if (stem) {
    try {
      const meta = JSON.parse(await Deno.readTextFile(`${stem}.build.json`));
      const index = await HnswIndex.load(`${stem}.hnsw`);
      log(`[index bench] loaded cached HNSW index ${stem}.hnsw`);
      return { index, buildSeconds: meta.buildSeconds, fromCache: true };
    } catch {
      // Absent or stale: build.
    }
  }
  const { ms, result: index } = timeMs(build);
  if (stem) {
    await index.save(`${stem}.hnsw`);
    await Deno.writeTextFile(
      `${stem}.build.json`,
      JSON.stringify({ buildSeconds: ms / 1000, builtAt: new Date().toISOString() }),
    );
  }
  return { index, buildSeconds: ms / 1000, fromCache: false };
}

/** Format results as an aligned text table. */
export function formatTable(results: BenchResult[]): string {
  const rows = results.map((r) => [r.name, formatValue(r.value), r.unit, r.note ?? ""]);
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length), 4));
  return rows.map((r) =>
    `${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`
  )
    .join("\n");
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(1);
  if (Math.abs(v) >= 1) return v.toFixed(2);
  return v.toFixed(3);
}

function parseList(value: string | undefined, flag: string): number[] | undefined {
  if (value === undefined) return undefined;
  const list = value.split(",").map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((x) => !Number.isInteger(x) || x <= 0)) {
    throw new Error(
      `--${flag} must be a comma-separated list of positive integers: got ${JSON.stringify(value)}`,
    );
  }
  return list;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string" },
      ef: { type: "string" },
      "ef-search": { type: "string" },
      m: { type: "string" },
      "ef-construction": { type: "string" },
      queries: { type: "string" },
      "no-cache": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(`Usage: deno run -A bench/index_bench.ts [options]

HNSW vs exact search on synthetic 256-d clustered unit vectors.

Options:
  --sizes LIST            database sizes (default 10000,100000,1000000)
  --ef LIST               efSearch values swept (default 16,32,64,128,256)
  --ef-search N           headline efSearch (default ${HNSW_DEFAULTS.efSearch})
  --m N                   HNSW M (default ${HNSW_DEFAULTS.m})
  --ef-construction N     HNSW efConstruction (default 100)
  --queries N             queries per query set (default 200)
  --no-cache              do not read or write .waymark-cache/index_bench
  --json                  print the results as JSON instead of a table`);
    Deno.exit(0);
  }
  const results = await bench({
    sizes: parseList(values.sizes, "sizes"),
    efSweep: parseList(values.ef, "ef"),
    efSearch: parseList(values["ef-search"], "ef-search")?.[0],
    m: parseList(values.m, "m")?.[0],
    efConstruction: parseList(values["ef-construction"], "ef-construction")?.[0],
    queries: parseList(values.queries, "queries")?.[0],
    cache: values["no-cache"] ? false : undefined,
  });
  console.log(values.json ? JSON.stringify(results, null, 2) : formatTable(results));
}
