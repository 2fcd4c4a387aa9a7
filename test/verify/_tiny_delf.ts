/** Test helper: a tiny generated ONNX model that fits the DELF contract. */
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import type { DelfContract } from "../../src/verify/delf_contract.ts";
import { mulberry32 } from "../../src/_rng.ts";

export const D = 32, K = 8;

/** Zero-mean random 8x8 filters (a blank image gives zero features, so zero attention). */
export function filters(): Float32Array {
  const r = mulberry32(3);
  const w = new Float32Array(D * K * K);
  for (let d = 0; d < D; d++) {
    let m = 0;
    for (let i = 0; i < K * K; i++) m += w[d * K * K + i] = r() - 0.5;
    for (let i = 0; i < K * K; i++) w[d * K * K + i] -= m / (K * K);
  }
  return w;
}

/**
 * A tiny "learned DELF": feature map = 8x8 stride-8 convolution (32 channels, NCHW), attention map = the
 * squared norm of each feature (one channel). Grid cell g covers pixels 8g..8g+7: centre 8g + 3.5.
 */
export function tinyDelf(attentionName = "attention"): Uint8Array {
  const g = new GraphBuilder("tiny_delf");
  const x = g.input("image", [1, 1, "H", "W"]);
  const f = g.conv(x, g.constant(filters(), [D, 1, K, K]), null, { strides: [K, K] });
  const features = g.output(f, "features", [1, D, "h", "w"]);
  g.output(g.op("ReduceSumSquare", [features], { axes: [1], keepdims: 1 }), attentionName, [1, 1, "h", "w"]);
  return g.toBytes({ opset: 13 });
}

export const CONTRACT: DelfContract = {
  format: "waymark-delf",
  formatVersion: 1,
  file: "tiny.onnx",
  input: { name: "image", channels: 1 },
  features: { name: "features", layout: "NCHW" },
  attention: { name: "attention" },
  stride: 8,
  offset: 3.5,
};

export async function modelDir(onnx = tinyDelf()): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/tiny.onnx`, onnx);
  await Deno.writeTextFile(`${dir}/delf.json`, JSON.stringify(CONTRACT));
  return dir;
}
