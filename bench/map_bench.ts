/**
 * Map benchmarks: `buildMap` throughput (images/s) on generated 640x480 JPEG frames of the simulator —
 * overall (decode, default-model fit, describe, HNSW index, atomic write with checksums) and
 * decode + describe alone — and `loadMap` time. Run alone: `deno run -A bench/map_bench.ts`.
 * @module
 */
import { exportSimDataset } from "../src/io/simulator/export.ts";
import { buildMap } from "../src/map/build_map.ts";
import { loadMap } from "../src/map/map_loader.ts";
import type { BenchResult } from "./_types.ts";

/** Options of {@link bench}. */
export interface MapBenchOptions {
  /** Frames per traversal of the generated route (the map uses the first traversal). Default 120. */
  frames?: number;
}

/** Run the map benchmarks. */
export async function bench(options: MapBenchOptions = {}): Promise<BenchResult[]> {
  const frames = options.frames ?? 120;
  const root = await Deno.makeTempDir({ prefix: "waymark_map_bench_" });
  try {
    const ds = `${root}/sim`;
    await exportSimDataset(ds, { frames, traversals: 1, width: 640, height: 480, seed: 7 });
    const cores = navigator.hardwareConcurrency;
    const note = `${frames} simulator frames 640x480 JPEG, default model fitted on them (K=64), hnsw, ` +
      `provider cpu, ${cores} cores`;
    const r = await buildMap(ds, `${root}/map`, { provider: "cpu", index: "hnsw", onWarning: () => {} });
    const t0 = performance.now();
    const map = await loadMap(`${root}/map`, { provider: "cpu" });
    const loadMs = performance.now() - t0;
    await map.model.close();
    return [
      {
        name: "map/build/images_per_s",
        value: r.imagesPerSecond,
        unit: "images/s",
        note: `${note}; whole build`,
      },
      {
        name: "map/build/describe_images_per_s",
        value: r.describeImagesPerSecond,
        unit: "images/s",
        note: `${note}; decode + describe only (batches of 8)`,
      },
      { name: "map/build/seconds", value: r.seconds, unit: "s", note },
      {
        name: "map/load_ms",
        value: loadMs,
        unit: "ms",
        note:
          `${r.places.length} places, ${r.manifest.counts.dim}-d, checksums verified, model session created`,
      },
    ];
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}  (${r.note ?? ""})`);
}
