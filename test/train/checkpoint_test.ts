import assert from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint, saveCheckpoint, type TrainingState } from "../../src/train/checkpoint.ts";
import { TrainingError } from "../../src/errors.ts";

function state(epoch: number): TrainingState {
  const head = {
    K: 2,
    C: 3,
    weight: Float64Array.from({ length: 6 }, (_, i) => i * 0.1 + epoch),
    bias: new Float64Array([1, -1]),
    centres: new Float64Array(6).fill(0.5),
    powerNorm: true,
    whitening: {
      outDim: 2,
      matrix: Float64Array.from({ length: 12 }, (_, i) => i),
      mean: new Float64Array(6),
    },
  };
  return {
    epoch,
    params: head,
    best: head,
    bestRecallAt1: 0.5,
    bestSeparation: 0.125,
    bestEpoch: epoch,
    initialRecallAt1: NaN,
    epochsWithoutImprovement: 0,
    optimizer: { kind: "adam", step: 7, m: [new Float64Array([1, 2])], v: [new Float64Array([3, 4])] },
    rngState: [1, 2, 3, 4],
    history: [{ epoch, loss: 0.25, recallAt1: NaN, seconds: 1 }],
    stopped: false,
    fingerprint: "fp",
  };
}

Deno.test("saveCheckpoint() then loadCheckpoint() round-trips every tensor and counter, keeping one bin file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await loadCheckpoint(dir), null);
    await saveCheckpoint(dir, state(1));
    await saveCheckpoint(dir, state(2));
    const s = (await loadCheckpoint(dir))!;
    const want = state(2);
    assert.deepEqual([...s.params.weight], [...want.params.weight]);
    assert.deepEqual([...s.params.whitening!.matrix], [...want.params.whitening!.matrix]);
    assert.deepEqual(s.optimizer.m.map((a) => [...a]), [[1, 2]]);
    assert.equal(s.optimizer.step, 7);
    assert.equal(s.params.powerNorm, true);
    assert.deepEqual(s.rngState, [1, 2, 3, 4]);
    assert.ok(Number.isNaN(s.initialRecallAt1) && Number.isNaN(s.history[0].recallAt1));
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(files, ["checkpoint-2.bin", "checkpoint.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadCheckpoint() refuses a truncated tensor file with a TrainingError naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await saveCheckpoint(dir, state(3));
    const bin = join(dir, "checkpoint-3.bin");
    await Deno.writeFile(bin, (await Deno.readFile(bin)).slice(0, 40));
    await assert.rejects(
      () => loadCheckpoint(dir),
      (e: Error) => e instanceof TrainingError && /checkpoint-3\.bin/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
