import assert from "node:assert/strict";
import { GraphBuilder } from "../../src/model/graph_builder.ts";
import { createSession } from "../../src/model/runtime.ts";
import { InferenceError, ModelLoadError, ValidationError } from "../../src/errors.ts";

function doubler(): Uint8Array {
  const g = new GraphBuilder("double");
  g.output(g.scale(g.input("x", ["N", 2]), 2), "y", ["N", 2]);
  return g.toBytes();
}

Deno.test("createSession() with provider auto falls back to CPU with one log line and reports it in stats", async () => {
  const lines: string[] = [];
  const s = await createSession(doubler(), { provider: "auto", log: (l) => lines.push(l), label: "doubler" });
  try {
    if (s.provider === "cpu") {
      assert.equal(lines.length, 1);
      assert.match(lines[0], /CUDA execution provider unavailable .*using CPU for doubler/);
      assert.ok(s.stats().fallbackReason);
    }
    assert.equal(s.stats().provider, s.provider);
  } finally {
    await s.close();
  }
});

Deno.test("createSession() with provider cuda fails with ModelLoadError when CUDA is unavailable", async () => {
  let s;
  try {
    s = await createSession(doubler(), { provider: "cuda", label: "doubler.onnx" });
  } catch (err) {
    assert.ok(err instanceof ModelLoadError);
    assert.match((err as Error).message, /doubler\.onnx on the CUDA execution provider/);
    return;
  }
  // A machine with CUDA: the session must really be on CUDA.
  assert.equal(s.provider, "cuda");
  await s.close();
});

Deno.test("RuntimeSession runs batches, counts items and excludes the warm-up from stats", async () => {
  const s = await createSession(doubler(), { provider: "cpu" });
  await s.warmup({ x: [4, 2] });
  assert.equal(s.stats().runs, 0);
  assert.ok((s.stats().warmupMs ?? -1) >= 0);
  const [a, b] = await Promise.all([
    s.run({ x: { data: new Float32Array([1, 2, 3, 4, 5, 6]), dims: [3, 2] } }),
    s.run({ x: { data: new Float32Array([1, 1]), dims: [1, 2] } }),
  ]);
  assert.deepEqual(Array.from(a.y.data), [2, 4, 6, 8, 10, 12]);
  assert.deepEqual(Array.from(b.y.data), [2, 2]);
  assert.equal(s.stats().runs, 2);
  assert.equal(s.stats().items, 4);
  await s.close();
  await assert.rejects(() => s.run({ x: { data: new Float32Array(2), dims: [1, 2] } }), InferenceError);
});

Deno.test("createSession() rejects garbage bytes with ModelLoadError and a bad provider with ValidationError", async () => {
  await assert.rejects(
    () => createSession(new Uint8Array([1, 2, 3, 4]), { provider: "cpu", label: "junk.onnx" }),
    (e: unknown) => e instanceof ModelLoadError && /junk\.onnx/.test((e as Error).message),
  );
  await assert.rejects(() => createSession(doubler(), { provider: "tpu" as never }), ValidationError);
  await assert.rejects(() => createSession(doubler(), { intraOpNumThreads: 0 }), ValidationError);
});

Deno.test("RuntimeSession.run() reports a wrong input shape as InferenceError naming the model", async () => {
  const s = await createSession(doubler(), { provider: "cpu", label: "doubler" });
  await assert.rejects(
    () => s.run({ x: { data: new Float32Array(3), dims: [1, 3] } }),
    (e: unknown) => e instanceof InferenceError && /doubler/.test((e as Error).message),
  );
  await s.close();
});

Deno.test("RuntimeSession.run() gives each run's outputs in fresh buffers of their own size", async () => {
  const s = await createSession(doubler(), { provider: "cpu" });
  try {
    const first = await s.run({ x: { data: new Float32Array([1, 2]), dims: [1, 2] } });
    await s.run({ x: { data: new Float32Array([5, 6]), dims: [1, 2] } });
    assert.deepEqual(Array.from(first.y.data), [2, 4]);
    assert.equal(first.y.data.byteOffset, 0);
    assert.equal(first.y.data.buffer.byteLength, 2 * 4);
  } finally {
    await s.close();
  }
});
