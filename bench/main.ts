/**
 * `deno task bench`: every benchmark of the project, one after the other, then one table.
 *
 * Each `bench/<area>_bench.ts` exports `bench(): Promise<BenchResult[]>` whose defaults are the measurement the
 * issues ask for; this runner calls them with no arguments (they also run alone: `deno run -A bench/<file>`).
 *
 * Usage: `deno task bench [--only model,index,...] [--json FILE]`
 *   --only   comma-separated areas (model, index, map, io, sim, stream, verify, train, pgvector); default all
 *            but pgvector
 *   --json   also write every result, with the machine, as JSON to FILE
 *
 * The full run takes a while on a 2-core CPU: the 1M-vector HNSW build (cached under `.waymark-cache/` after the
 * first run) and the 10-minute streaming soak (`WAYMARK_SOAK_MINUTES` shortens it) dominate. The pgvector area
 * (PGlite at 100,000 x 256-d, about 15 minutes) runs only when asked: `--only pgvector`, or
 * `WAYMARK_PGVECTOR_N=<size>` to add it to the full run at that size.
 *
 * @module
 */
import { parseArgs } from "node:util";
import os from "node:os";
import type { BenchResult } from "./_types.ts";

/** The benchmark areas, in run order (cheap first). */
export const AREAS = [
  "model",
  "map",
  "index",
  "scan",
  "io",
  "sim",
  "verify",
  "stream",
  "train",
  "pgvector",
] as const;
type Area = typeof AREAS[number];

interface BenchModule {
  bench(): Promise<BenchResult[]>;
}

function load(area: Area): Promise<BenchModule> {
  switch (area) {
    case "model":
      return import("./model_bench.ts");
    case "map":
      return import("./map_bench.ts");
    case "index":
      return import("./index_bench.ts");
    case "scan":
      return import("./scan_bench.ts");
    case "io":
      return import("./io_bench.ts");
    case "sim":
      return import("./sim_bench.ts");
    case "verify":
      return import("./verify_bench.ts");
    case "stream":
      return import("./stream_bench.ts");
    case "train":
      return import("./train_bench.ts");
    case "pgvector":
      return import("./pgvector_bench.ts");
  }
}

/** A one-line description of this machine, for the README and the JSON output. */
export function machine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model?.trim() ?? "unknown CPU";
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${model}, ${cpus.length} cores, ${gib} GiB, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
}

/** Format results as an aligned text table. */
export function formatResults(results: BenchResult[]): string {
  const fmt = (v: number) =>
    Number.isInteger(v)
      ? String(v)
      : Math.abs(v) >= 100
      ? v.toFixed(1)
      : Math.abs(v) >= 1
      ? v.toFixed(2)
      : v.toFixed(4);
  const w = Math.max(4, ...results.map((r) => r.name.length));
  const vw = Math.max(5, ...results.map((r) => fmt(r.value).length));
  const uw = Math.max(4, ...results.map((r) => r.unit.length));
  const lines = [`${"name".padEnd(w)}  ${"value".padStart(vw)}  ${"unit".padEnd(uw)}  note`];
  for (const r of results) {
    lines.push(
      `${r.name.padEnd(w)}  ${fmt(r.value).padStart(vw)}  ${r.unit.padEnd(uw)}  ${r.note ?? ""}`.trimEnd(),
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { only: { type: "string" }, json: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log("Usage: deno task bench [--only " + AREAS.join(",") + "] [--json FILE]");
    Deno.exit(0);
  }
  // Areas that take long and run only when named in --only (or, for pgvector, when WAYMARK_PGVECTOR_N is set).
  const optional: Area[] = Deno.env.get("WAYMARK_PGVECTOR_N") ? [] : ["pgvector"];
  let areas: Area[] = AREAS.filter((a) => !optional.includes(a));
  if (values.only) {
    const wanted = values.only.split(",").map((s) => s.trim()).filter(Boolean);
    const unknown = wanted.filter((a) => !(AREAS as readonly string[]).includes(a));
    if (unknown.length > 0) {
      console.error(`bench: unknown area(s) ${unknown.join(", ")}; known: ${AREAS.join(", ")}`);
      Deno.exit(2);
    }
    areas = AREAS.filter((a) => wanted.includes(a));
  }
  const host = machine();
  console.log(`[bench] ${host}`);
  const all: BenchResult[] = [];
  const failed: string[] = [];
  for (const area of areas) {
    const t0 = performance.now();
    console.log(`[bench] ${area} …`);
    try {
      const mod = await load(area);
      const results = await mod.bench();
      all.push(...results);
      console.log(formatResults(results));
      console.log(`[bench] ${area} done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } catch (err) {
      failed.push(area);
      console.error(
        `[bench] ${area} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`,
      );
    }
  }
  console.log(`\n[bench] all results (${host})`);
  console.log(formatResults(all));
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ machine: host, date: new Date().toISOString(), results: all }, null, 1) + "\n",
    );
    console.log(`[bench] wrote ${values.json}`);
  }
  if (failed.length > 0) {
    console.error(`[bench] failed: ${failed.join(", ")}`);
    Deno.exit(1);
  }
}
