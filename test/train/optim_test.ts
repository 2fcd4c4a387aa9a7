import assert from "node:assert/strict";
import { createOptimizer } from "../../src/train/optim.ts";
import { Rng } from "../../src/train/rng.ts";

function quadratic(kind: "sgd" | "adam", lr: number): number {
  const x = new Float64Array([3, -2]);
  const opt = createOptimizer([x], { kind, lr });
  for (let i = 0; i < 300; i++) opt.step([x], [new Float64Array([2 * x[0], 20 * x[1]])]);
  return Math.hypot(x[0], x[1]);
}

Deno.test("SGD with momentum and Adam both minimise a quadratic", () => {
  assert.ok(quadratic("sgd", 0.01) < 1e-3);
  assert.ok(quadratic("adam", 0.05) < 1e-2);
});

Deno.test("Adam's first step moves every coordinate by lr against the gradient sign", () => {
  const x = new Float64Array([1, 1]);
  const opt = createOptimizer([x], { kind: "adam", lr: 0.1 });
  opt.step([x], [new Float64Array([5, -0.001])]);
  assert.ok(Math.abs(x[0] - 0.9) < 1e-6 && Math.abs(x[1] - 1.1) < 1e-3);
});

Deno.test("an optimizer restored from its state continues exactly", () => {
  const run = (split: boolean) => {
    const x = new Float64Array([1, 2, 3]);
    let opt = createOptimizer([x], { kind: "adam", lr: 0.1 });
    for (let i = 0; i < 10; i++) {
      if (split && i === 5) {
        const s = opt.state();
        opt = createOptimizer([x], { kind: "adam", lr: 0.1 });
        opt.load({ ...s, m: s.m.map((a) => a.slice()), v: s.v.map((a) => a.slice()) });
      }
      opt.step([x], [x.map((v) => Math.sin(v))]);
    }
    return [...x];
  };
  assert.deepEqual(run(true), run(false));
});

Deno.test("createOptimizer() rejects a bad kind or learning rate", () => {
  assert.throws(() => createOptimizer([], { lr: 0 }), /lr/);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => createOptimizer([], { kind: "rmsprop" as any }), /kind/);
});

Deno.test("Rng is deterministic per seed and restorable from its state", () => {
  const a = new Rng(9), b = new Rng(9), c = new Rng(10);
  const sa = Array.from({ length: 5 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 5 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 5 }, () => c.nextU32()));
  const r = Rng.fromState(a.state());
  assert.equal(r.next(), a.next());
  const s = new Rng(1).sample([1, 2, 3, 4, 5], 3);
  assert.equal(new Set(s).size, 3);
});
