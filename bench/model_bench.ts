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
import { buildDefaultModelGraph } from "../src/model/default_model.ts";
import { DENSE_SIFT_DEFAULTS } from "../src/model/dense_sift.ts";
import { GraphBuilder } from "../src/model/graph_builder.ts";
import { appendHead } from "../src/train/onnx_merge.ts";

/** Best of `n` runs of `f`, in ms. */
function bestMs(n: number, f: () => void): number {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * ONNX protobuf encoding and decoding: the default-model graph at full size (K 64 x 128 NetVLAD, whitening
 * 8192 -> 256, about 9 MB of weights) written from parameters, and a small head appended to those bytes
 * (which reads the whole backbone).
 */
function onnxRows(): BenchResult[] {
  const K = 64, C = 128, D = 256;
  const v = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
  const params = {
    inputWidth: 320,
    inputHeight: 240,
    frontEnd: DENSE_SIFT_DEFAULTS,
    powerNorm: true,
    netvlad: { clusters: K, dim: C, alpha: 10, weight: v(K * C), bias: v(K), centroids: v(K * C) },
    pca: { inputDim: K * C, dim: D, mean: v(K * C), components: v(D * K * C), eigenvalues: v(D) },
  };
  let bytes: Uint8Array = new Uint8Array(0);
  const encodeMs = bestMs(5, () => (bytes = buildDefaultModelGraph(params)));
  const g = new GraphBuilder("head");
  const x = g.input("global", ["N", D]);
  g.output(g.op("Softsign", [x]), "head_out", ["N", D]);
  const head = g.toBytes({ opset: 17 });
  const mergeMs = bestMs(5, () => appendHead(bytes, head, "global", "bench backbone"));
  const note = `default-model graph, K ${K} x ${C}, whitening to ${D}, ${
    (bytes.length / 2 ** 20).toFixed(1)
  } MiB`;
  return [
    {
      name: "model/onnx_encode_ms/default_k64_pca256",
      value: encodeMs,
      unit: "ms",
      note: `${note}; best of 5`,
    },
    {
      name: "model/onnx_append_head_ms/default_k64_pca256",
      value: mergeMs,
      unit: "ms",
      note: `${note}; appendHead of a 1-node head, best of 5`,
    },
  ];
}

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
  const onnx = onnxRows();
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
      ...onnx,
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
