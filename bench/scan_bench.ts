/**
 * Whole-map similarity scan benchmark: the search stage's JS loop (`dot` per map row) against the ONNX
 * Runtime scanner (`createSimilarityScanner`, CPU `Gemm` over the map fed as an input) on random unit
 * descriptors, for N = 1,000 and 5,000 places of 8192-d (the default model) and 256-d (PCA).
 *
 * Per size: p50 ms per query of each, their ratio, the scanner's creation time and resident-memory growth,
 * the largest difference between the two rows; and for the largest 8192-d map the whole search stage per
 * keyframe (scan, top-50 selection, background) with and without the scanner. About 15 s here (most of it
 * drawing the 5,000 x 8192 matrix).
 *
 * Run: `deno run -A bench/scan_bench.ts [--sizes 1000,5000] [--dims 8192,256] [--queries 20] [--threads N]`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { from, lastValueFrom, toArray } from "rxjs";
import { BruteForceIndex } from "../src/index/brute_force_index.ts";
import { scanRows } from "../src/index/similarity_scan.ts";
import { createSimilarityScanner } from "../src/model/similarity_scanner.ts";
import { randomUnitVectors } from "../src/index/_synthetic.ts";
import type { FrameWork } from "../src/pipeline/frame_work.ts";
import { searchStage } from "../src/pipeline/search_stage.ts";
import type { BenchResult } from "./_types.ts";
import { summarize } from "./_stats.ts";

/** Options of the scan benchmark (all optional). */
export interface ScanBenchOptions {
  /** Map sizes N. Default [1000, 5000]. */
  sizes?: number[];
  /** Descriptor dimensions D. Default [8192, 256]. */
  dims?: number[];
  /** Timed queries per size and implementation (after 2 untimed). Default 20. */
  queries?: number;
  /** ONNX Runtime intra-op threads. Default: the runtime's default (CPU cores, at most 4). */
  threads?: number;
  /** Measure the whole search stage on the largest map of the largest dimension. Default true. */
  stage?: boolean;
  /** Progress lines (default: to stderr). */
  log?: (line: string) => void;
}

async function timeQueries(count: number, queries: Float32Array[], fn: (q: Float32Array) => unknown) {
  for (let i = 0; i < 2; i++) await fn(queries[i % queries.length]);
  const ms = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await fn(queries[i % queries.length]);
    ms[i] = performance.now() - t0;
  }
  return summarize(ms);
}

function rssMb(): number {
  return Deno.memoryUsage().rss / 2 ** 20;
}

/** Run the benchmark. */
export async function bench(options: ScanBenchOptions = {}): Promise<BenchResult[]> {
  const sizes = options.sizes ?? [1000, 5000];
  const dims = options.dims ?? [8192, 256];
  const count = options.queries ?? 20;
  const log = options.log ?? ((line: string) => console.error(line));
  const results: BenchResult[] = [];
  const cores = navigator.hardwareConcurrency;
  for (const dim of dims) {
    for (const n of sizes) {
      const tag = `n=${n}/d=${dim}`;
      const rows = randomUnitVectors(n, dim, n + dim);
      const qm = randomUnitVectors(8, dim, 1);
      const queries = Array.from({ length: 8 }, (_, i) => qm.subarray(i * dim, (i + 1) * dim));
      const js = await timeQueries(count, queries, (q) => scanRows(q, rows, dim));
      const rss0 = rssMb();
      const t0 = performance.now();
      const scanner = await createSimilarityScanner(rows, dim, {
        backend: "onnxruntime",
        threads: options.threads,
      });
      const createMs = performance.now() - t0;
      try {
        const ort = await timeQueries(count, queries, (q) => scanner.scan(q));
        const rssGrowth = rssMb() - rss0;
        const a = await scanner.scan(queries[0]), b = scanRows(queries[0], rows, dim);
        let diff = 0;
        for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
        const note = `${n} random unit ${dim}-d rows, ${count} queries, ${cores} cores`;
        results.push(
          { name: `scan/js/p50/${tag}`, value: js.p50, unit: "ms", note: `dot loop; ${note}` },
          { name: `scan/onnxruntime/p50/${tag}`, value: ort.p50, unit: "ms", note: `CPU Gemm; ${note}` },
          {
            name: `scan/speedup/${tag}`,
            value: js.p50 / ort.p50,
            unit: "ratio",
            note: "JS p50 / ONNX Runtime p50",
          },
          {
            name: `scan/onnxruntime/create/${tag}`,
            value: createMs,
            unit: "ms",
            note: "session creation (the first also loads ONNX Runtime)",
          },
          {
            name: `scan/onnxruntime/rss_growth/${tag}`,
            value: rssGrowth,
            unit: "MB",
            note:
              "resident memory after creation and the timed scans (the map is not copied; the first size also " +
              "counts loading ONNX Runtime)",
          },
          {
            name: `scan/onnxruntime/max_abs_diff/${tag}`,
            value: diff,
            unit: "abs",
            note: "against the JS row",
          },
        );
        log(
          `scan ${tag}: js ${js.p50.toFixed(2)} ms, onnxruntime ${ort.p50.toFixed(2)} ms ` +
            `(x${(js.p50 / ort.p50).toFixed(1)}), create ${createMs.toFixed(0)} ms, max diff ${
              diff.toExponential(1)
            }`,
        );
        if ((options.stage ?? true) && dim === Math.max(...dims) && n === Math.max(...sizes)) {
          const map = {
            index: BruteForceIndex.fromMatrix(dim, rows),
            places: Array.from({ length: n }, (_, i) => ({ placeId: i, image: `p${i}` })),
            descriptors: rows,
          };
          const frames = (k: number) =>
            Array.from({ length: k }, (_, i) =>
              ({
                frame: { seq: i, stamp: i, frameId: "cam" },
                receivedAt: 0,
                keyframe: true,
                descriptor: { global: queries[i % queries.length] },
              }) as unknown as FrameWork);
          const budget = n * dim;
          for (const [name, opts] of [["js", {}], ["onnxruntime", { scanner }]] as const) {
            const stage = searchStage(map, { k: 50, fullScan: budget, ...opts });
            await lastValueFrom(from(frames(2)).pipe(stage, toArray()));
            const t1 = performance.now();
            await lastValueFrom(from(frames(count)).pipe(stage, toArray()));
            const ms = (performance.now() - t1) / count;
            results.push({
              name: `scan/stage/${name}/mean/${tag}`,
              value: ms,
              unit: "ms",
              note: "search stage per keyframe: whole row, top-50 selection, background (fullScan = N x D)",
            });
            log(`scan stage ${name} ${tag}: ${ms.toFixed(2)} ms a keyframe`);
          }
        }
      } finally {
        await scanner.close();
      }
    }
  }
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sizes: { type: "string" },
      dims: { type: "string" },
      queries: { type: "string" },
      threads: { type: "string" },
    },
  });
  const list = (s?: string) => s?.split(",").map(Number);
  const results = await bench({
    sizes: list(values.sizes),
    dims: list(values.dims),
    queries: values.queries ? Number(values.queries) : undefined,
    threads: values.threads ? Number(values.threads) : undefined,
  });
  for (const r of results) console.log(`${r.name}\t${r.value.toFixed(3)} ${r.unit}\t${r.note ?? ""}`);
}
