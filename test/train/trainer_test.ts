import assert from "node:assert/strict";
import { syntheticProblem } from "../../src/train/synthetic.ts";
import { initHead } from "../../src/train/init_head.ts";
import { trainHead, type TrainHeadOptions } from "../../src/train/trainer.ts";
import {
  gradTensors,
  headBackward,
  headForward,
  type HeadParams,
  paramTensors,
  zeroGradients,
} from "../../src/train/netvlad_grad.ts";
import { rankingLoss, rankingLossWithGradients } from "../../src/train/ranking_loss.ts";
import { createOptimizer } from "../../src/train/optim.ts";
import { TrainingError } from "../../src/errors.ts";

const problem = syntheticProblem({ places: 40, nuisance: 0.5, seed: 3 });
const features = { database: problem.database, queries: problem.queries };

Deno.test("a few Adam steps on a tiny synthetic problem reduce the ranking loss of fixed tuples", () => {
  const head = initHead(problem.database, { clusters: 6, whitenDim: 8, seed: 1 });
  // fixed tuples: query i, positive = database i, negatives = database places far away
  const tuples = Array.from(
    { length: 12 },
    (_, i) => ({ q: i, p: i, n: [(i + 10) % 40, (i + 20) % 40, (i + 30) % 40] }),
  );
  const total = (h: HeadParams) =>
    tuples.reduce((s, t) => {
      const d = (f: typeof problem.database[0]) => headForward(h, f).output;
      return s +
        rankingLoss(
          d(problem.queries[t.q]),
          [d(problem.database[t.p])],
          t.n.map((n) => d(problem.database[n])),
        ).loss;
    }, 0);
  const before = total(head);
  const opt = createOptimizer(paramTensors(head), { kind: "adam", lr: 1e-2 });
  for (let step = 0; step < 10; step++) {
    const g = zeroGradients(head);
    for (const t of tuples) {
      const fq = headForward(head, problem.queries[t.q]);
      const fp = headForward(head, problem.database[t.p]);
      const fn = t.n.map((n) => headForward(head, problem.database[n]));
      const lg = rankingLossWithGradients(fq.output, [fp.output], fn.map((f) => f.output));
      headBackward(head, problem.queries[t.q], fq, lg.dq, g);
      headBackward(head, problem.database[t.p], fp, lg.dp, g);
      t.n.forEach((n, j) => headBackward(head, problem.database[n], fn[j], lg.dn[j], g));
    }
    opt.step(paramTensors(head), gradTensors(g));
  }
  const after = total(head);
  assert.ok(before > 0.1, `the problem must start with a real loss (${before})`);
  assert.ok(after < 0.5 * before, `loss ${before} -> ${after}`);
});

const opts: TrainHeadOptions = {
  epochs: 4,
  valFraction: 0.3,
  optimizer: { kind: "adam", lr: 1e-2 },
  patience: 0,
  seed: 5,
  negativePool: 20,
  hardNegatives: 5,
};

for (const seed of [1, 2]) {
  Deno.test(`trainHead() raises held-out Recall@1 on the synthetic changed-condition problem (seed ${seed})`, async () => {
    const big = syntheticProblem({ places: 120, nuisance: 0.6, seed });
    const head = initHead(big.database, { clusters: 8, whitenDim: 16, seed });
    const r = await trainHead(big.dataset, { database: big.database, queries: big.queries }, head, {
      epochs: 3,
      valFraction: 0.3,
      optimizer: { lr: 1e-2 },
      seed,
    });
    assert.equal(r.history.length, 3);
    assert.ok(r.validationQueries === 36 && r.tuples > 60);
    assert.ok(r.history[2].loss < r.history[0].loss, "training loss falls");
    assert.ok(r.bestRecallAt1 >= r.initialRecallAt1 + 0.1, `R@1 ${r.initialRecallAt1} -> ${r.bestRecallAt1}`);
  });
}

function sameParams(a: HeadParams, b: HeadParams): boolean {
  const ta = paramTensors(a), tb = paramTensors(b);
  return ta.length === tb.length &&
    ta.every((t, i) => t.length === tb[i].length && t.every((v, j) => v === tb[i][j]));
}

Deno.test("checkpoint and resume give bit-identical results to an uninterrupted run", async () => {
  const head = initHead(problem.database, { clusters: 6, whitenDim: 8, seed: 4 });
  const full = await trainHead(problem.dataset, features, head, opts);
  const dir = await Deno.makeTempDir({ prefix: "waymark_train_" });
  try {
    const part = await trainHead(problem.dataset, features, head, {
      ...opts,
      checkpointDir: dir,
      stopAfterEpochs: 2,
    });
    assert.equal(part.history.length, 2);
    assert.ok(!sameParams(part.last, full.last), "an interrupted run has not reached the end");
    const resumed = await trainHead(problem.dataset, features, head, {
      ...opts,
      checkpointDir: dir,
      resume: true,
    });
    assert.equal(resumed.history.length, 4);
    assert.ok(sameParams(resumed.last, full.last), "resumed parameters equal the uninterrupted run's");
    assert.ok(sameParams(resumed.best, full.best));
    assert.deepEqual(
      resumed.history.map((h) => [h.loss, h.recallAt1]),
      full.history.map((h) => [h.loss, h.recallAt1]),
    );
    // a checkpoint from other options is refused
    await assert.rejects(
      () =>
        trainHead(problem.dataset, features, head, { ...opts, seed: 6, checkpointDir: dir, resume: true }),
      TrainingError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainHead() stops early after `patience` epochs without a Recall@1 gain", async () => {
  const head = initHead(problem.database, { clusters: 6, seed: 4 });
  // a learning rate so small that nothing changes: R@1 never improves
  const r = await trainHead(problem.dataset, features, head, {
    ...opts,
    epochs: 10,
    patience: 2,
    optimizer: { lr: 1e-12 },
  });
  assert.ok(r.earlyStopped);
  assert.equal(r.history.length, 2);
  assert.equal(r.bestEpoch, 0);
});

Deno.test("trainHead() rejects bad options and mismatched features", async () => {
  const head = initHead(problem.database, { clusters: 6, seed: 4 });
  await assert.rejects(() => trainHead(problem.dataset, features, head, { epochs: -1 }), /epochs/);
  await assert.rejects(() => trainHead(problem.dataset, features, head, { resume: true }), /checkpointDir/);
  await assert.rejects(
    () => trainHead(problem.dataset, { database: problem.database.slice(1), queries: problem.queries }, head),
    TrainingError,
  );
});

Deno.test("trainHead() with SGD (momentum) also lowers the training loss and raises held-out Recall@1", async () => {
  const big = syntheticProblem({ places: 120, nuisance: 0.6, seed: 1 });
  const head = initHead(big.database, { clusters: 8, whitenDim: 16, seed: 1 });
  const r = await trainHead(big.dataset, { database: big.database, queries: big.queries }, head, {
    epochs: 3,
    valFraction: 0.3,
    optimizer: { kind: "sgd", lr: 0.01 },
    patience: 0,
    seed: 1,
  });
  assert.ok(r.history[2].loss < r.history[0].loss, `loss ${r.history.map((h) => h.loss)}`);
  assert.ok(r.bestRecallAt1 > r.initialRecallAt1, `R@1 ${r.initialRecallAt1} -> ${r.bestRecallAt1}`);
});

Deno.test("trainHead() is deterministic for a seed, and the seed matters", async () => {
  const head = initHead(problem.database, { clusters: 6, whitenDim: 8, seed: 4 });
  const a = await trainHead(problem.dataset, features, head, { ...opts, epochs: 2 });
  const b = await trainHead(problem.dataset, features, head, { ...opts, epochs: 2 });
  const c = await trainHead(problem.dataset, features, head, { ...opts, epochs: 2, seed: 99 });
  assert.ok(sameParams(a.last, b.last), "same seed, same parameters");
  assert.deepEqual(a.history.map((h) => h.loss), b.history.map((h) => h.loss));
  assert.ok(!sameParams(a.last, c.last), "another seed shuffles and mines differently");
});

Deno.test("the best head is chosen by Recall@1, ties broken by separation; never worse than the initial", async () => {
  const { betterScores } = await import("../../src/train/trainer.ts");
  assert.ok(betterScores({ recallAt1: 0.6, separation: -1 }, { recallAt1: 0.5, separation: 1 }));
  assert.ok(!betterScores({ recallAt1: 0.5, separation: 1 }, { recallAt1: 0.6, separation: -1 }));
  assert.ok(betterScores({ recallAt1: 0.5, separation: 0.2 }, { recallAt1: 0.5, separation: 0.1 }));
  assert.ok(!betterScores({ recallAt1: 0.5, separation: 0.1 + 1e-6 }, { recallAt1: 0.5, separation: 0.1 }));
  assert.ok(betterScores({ recallAt1: NaN, separation: NaN }, { recallAt1: NaN, separation: NaN }));
  const head = initHead(problem.database, { clusters: 6, whitenDim: 8, seed: 4 });
  const r = await trainHead(problem.dataset, features, head, { ...opts, epochs: 3 });
  assert.ok(r.bestRecallAt1 >= r.initialRecallAt1);
  const best = r.bestEpoch === 0 ? r.initialRecallAt1 : r.history[r.bestEpoch - 1].recallAt1;
  assert.equal(best, r.bestRecallAt1);
  for (const h of r.history) assert.ok(h.recallAt1 <= r.bestRecallAt1);
});
