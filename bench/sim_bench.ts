/**
 * Simulator benchmarks: scene build time, render time of a 640x480 frame (nominal and with every condition
 * change incl. sensor noise), JPEG encoding, and the live source's throughput as fast as possible.
 * Run alone: `deno run -A bench/sim_bench.ts`.
 * @module
 */
import { lastValueFrom, toArray } from "rxjs";
import { traversalSetup } from "../src/io/simulator/conditions.ts";
import { encodeImage } from "../src/io/simulator/encode.ts";
import { createSimulator } from "../src/io/simulator/simulator.ts";
import { simulatorSource } from "../src/io/simulator_source.ts";
import type { BenchResult } from "./_types.ts";
import { percentile as quantile } from "./_stats.ts";

/** Run the simulator benchmarks. */
export async function bench(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const cores = navigator.hardwareConcurrency;
  const t0 = performance.now();
  // A seed of its own so that the world cache of other callers does not hide the build time.
  const sim = createSimulator({ seed: 1234, width: 640, height: 480, frames: 300 });
  results.push({
    name: "sim/scene_build",
    value: performance.now() - t0,
    unit: "ms",
    note: `plan + ${sim.world.faceCount} wall faces + floor/ceiling textures, once per seed`,
  });
  const poses = sim.path();
  const out = new Uint8Array(640 * 480 * 3);
  const changed = traversalSetup(1, "all");
  const cases: [string, typeof changed.conditions][] = [["nominal", {}], [
    "all_conditions",
    changed.conditions,
  ]];
  for (const [label, conditions] of cases) {
    for (let i = 0; i < 10; i++) sim.render(poses[i], conditions, out); // warm-up
    const times: number[] = [];
    for (let i = 0; i < poses.length; i++) {
      const s = performance.now();
      sim.render(poses[i], { ...conditions, noiseSeed: i }, out);
      times.push(performance.now() - s);
    }
    for (const p of [50, 99]) {
      results.push({
        name: `sim/render_640x480_${label}_p${p}`,
        value: quantile(times, p),
        unit: "ms",
        note: `${poses.length} frames round the loop, ${cores} logical CPUs`,
      });
    }
  }
  const img = sim.render(poses[0], changed.conditions);
  const enc: number[] = [];
  for (let i = 0; i < 30; i++) {
    const s = performance.now();
    await encodeImage(img, "jpeg", 85);
    enc.push(performance.now() - s);
  }
  results.push({
    name: "sim/jpeg_encode_640x480_p50",
    value: quantile(enc, 50),
    unit: "ms",
    note: "sharp, quality 85",
  });
  const n = 120;
  const s = performance.now();
  await lastValueFrom(simulatorSource({ seed: 1234, frames: 300, rate: 0, maxFrames: n }).pipe(toArray()));
  results.push({
    name: "sim/source_fps_640x480_jpeg",
    value: n / ((performance.now() - s) / 1000),
    unit: "frames/s",
    note: "simulatorSource rate 0 (render + JPEG encode, sequential), scene cached",
  });
  return results;
}

if (import.meta.main) {
  for (const r of await bench()) console.log(`${r.name}\t${r.value.toFixed(2)} ${r.unit}\t${r.note ?? ""}`);
}
