/**
 * Descriptor benchmark: decode + describe of 640x480 JPEG frames with the default model (the shipped generic
 * vocabulary, same graph and cost as a map-fitted one), p50/p99, the decode and model stages alone, and batch
 * throughput. Frames come from the project's simulator (no shared data needed).
 *
 * Run alone: deno run -A bench/model_bench.ts
 * @module
 */
import sharp from "sharp";
import type { BenchResult } from "./_types.ts";
import { percentile } from "./_stats.ts";
import { createSimulator } from "../src/io/simulator/simulator.ts";
import { loadGenericModel } from "../src/model/generic_model.ts";
import type { PixelImage } from "../src/types.ts";

async function jpegFrames(count: number): Promise<Uint8Array[]> {
  const sim = createSimulator({ seed: 21, width: 640, height: 480 });
  const path = sim.path({ index: 0 });
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const img = sim.render(path[Math.floor((i * path.length) / count)]);
    const buf = await sharp(img.data, { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 90 })
      .toBuffer();
    out.push(new Uint8Array(buf));
  }
  return out;
}

/** Run the model benchmark. */
export async function bench(): Promise<BenchResult[]> {
  const frames = await jpegFrames(20);
  const model = await loadGenericModel({ provider: "auto" });
  const provider = model.info.provider;
  const cores = navigator.hardwareConcurrency;
  const note =
    `640x480 JPEG q90 (simulator), ${model.info.name} ${model.info.descriptorDim}-d at ${model.info.inputWidth}x${model.info.inputHeight}, provider ${provider}, ${cores} cores`;
  try {
    // Warm-up passes.
    for (const f of frames.slice(0, 5)) await model.describeEncoded(f);
    const total: number[] = [], decode: number[] = [], describe: number[] = [];
    const prepared: PixelImage[] = [];
    for (let round = 0; round < 4; round++) {
      for (const f of frames) {
        const t0 = performance.now();
        const px = await model.prepare(f);
        const t1 = performance.now();
        await model.describe(px);
        const t2 = performance.now();
        decode.push(t1 - t0);
        describe.push(t2 - t1);
        total.push(t2 - t0);
        if (round === 0) prepared.push(px);
      }
    }
    const batch = prepared.slice(0, 8);
    const tb = performance.now();
    const rounds = 3;
    for (let r = 0; r < rounds; r++) await model.describeBatch(batch);
    const batchRate = (rounds * batch.length) / ((performance.now() - tb) / 1000);
    return [
      { name: "model/decode_describe_640x480/p50", value: percentile(total, 50), unit: "ms", note },
      { name: "model/decode_describe_640x480/p99", value: percentile(total, 99), unit: "ms", note },
      {
        name: "model/decode_resize_640x480/p50",
        value: percentile(decode, 50),
        unit: "ms",
        note: "sharp, shrink-on-load",
      },
      { name: "model/describe_320x240/p50", value: percentile(describe, 50), unit: "ms", note },
      { name: "model/describe_320x240/p99", value: percentile(describe, 99), unit: "ms", note },
      {
        name: "model/batch8_throughput",
        value: batchRate,
        unit: "images/s",
        note: "describeBatch of 8 prepared frames",
      },
    ];
  } finally {
    await model.close();
  }
}

if (import.meta.main) {
  for (const r of await bench()) {
    console.log(`${r.name.padEnd(40)} ${r.value.toFixed(2).padStart(9)} ${r.unit}  ${r.note ?? ""}`);
  }
}
