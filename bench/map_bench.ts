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
import { crc32 as mapCrc32 } from "node:zlib";
import { crc32 as indexCrc32 } from "../src/index/_crc32.ts";

/** MB/s of a CRC-32 over `size`-byte buffers (at least 64 MiB in all, best of 3 runs). */
function crcThroughput(crc: (b: Uint8Array) => number, size: number): number {
  const buf = Uint8Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff);
  const reps = Math.max(1, Math.ceil((64 << 20) / size));
  let best = Infinity, sink = 0;
  for (let run = 0; run < 3; run++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) sink ^= crc(buf);
    best = Math.min(best, performance.now() - t0);
  }
  if (sink === 0.5) console.log(sink);
  return (reps * size) / 2 ** 20 / (best / 1000);
}

/** CRC-32 throughput of the journal/blob checksum (map) and the index file checksum (index). */
function crcRows(): BenchResult[] {
  const out: BenchResult[] = [];
  for (const [who, crc] of [["map", mapCrc32], ["index", indexCrc32]] as const) {
    for (const size of [256, 4 << 20]) {
      out.push({
        name: `map/crc32_mb_per_s/${who}/bytes=${size}`,
        value: crcThroughput(crc, size),
        unit: "MB/s",
        note: `CRC-32 used by src/${who}/ over ${size}-byte buffers (64 MiB in all, best of 3)`,
      });
    }
  }
  return out;
}

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
      ...crcRows(),
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
