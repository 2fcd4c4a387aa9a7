/**
 * Training benchmark: seconds per epoch of NetVLAD head + whitening training on a 1,000-image dataset
 * (500 database + 500 query images) with the default model's dimensions: K = 64 clusters over C = 128
 * dense-SIFT channels, 1,064 grid positions per image (the 320x240 front end's 76x56 grid on its stride-2
 * training sub-grid), power normalisation, PCA whitening to 256, batches of 4 tuples with 10 hard negatives
 * mined from a pool of 1000.
 *
 * The feature maps are generated (synthetic places, `src/train/synthetic.ts`), not rendered: an epoch only
 * touches cached features, so their origin does not change its cost. Feature extraction is timed apart on
 * generated 320x240 images through the real front end (once per image per training run, not per epoch).
 *
 * `WAYMARK_TRAIN_BENCH_IMAGES` overrides the image count (default 1000).
 *
 * @module
 */
import type { BenchResult } from "./_types.ts";
import { invalid } from "../src/errors.ts";
import { FrontEnd } from "../src/model/default_model.ts";
import { initHead } from "../src/train/init_head.ts";
import { kmeans, seededRandom } from "../src/train/kmeans.ts";
import { syntheticProblem } from "../src/train/synthetic.ts";
import { describeAll, trainHead } from "../src/train/trainer.ts";
import type { PixelImage } from "../src/types.ts";

/** Options of {@linkcode bench}. */
export interface TrainBenchOptions {
  /** Images in the dataset (half database, half queries). Default 1000 (or `WAYMARK_TRAIN_BENCH_IMAGES`). */
  images?: number;
}

/** Run the training benchmark. */
export async function bench(options: TrainBenchOptions = {}): Promise<BenchResult[]> {
  const images = options.images ?? Number(Deno.env.get("WAYMARK_TRAIN_BENCH_IMAGES") ?? 1000);
  if (!Number.isInteger(images) || images < 20) {
    throw invalid("run the training benchmark", "images", "an integer >= 20", images);
  }
  const places = Math.max(10, Math.floor(images / 2));
  const M = 1064;
  const out: BenchResult[] = [];
  const whiten = Math.min(256, places - 1);
  const note = `${places} database + ${places} query generated feature maps, K=64, C=128, M=${M}, ` +
    `power norm + whitening to ${whiten}; 2-core CPU shared with other jobs inflates times`;

  // front end: real dense SIFT ONNX on generated 320x240 images
  const fe = await FrontEnd.create(320, 240);
  try {
    let seed = 7;
    const img = (): PixelImage => {
      const data = new Uint8Array(320 * 240);
      for (let i = 0; i < data.length; i++) {
        seed = (seed * 1664525 + 1013904223) >>> 0;
        data[i] = (seed >>> 24) & 0xff;
      }
      return { width: 320, height: 240, channels: 1, data };
    };
    await fe.run([img()]);
    const n = 10;
    const t = performance.now();
    for (let i = 0; i < n; i++) await fe.run([img()]);
    out.push({
      name: "train/features_ms_per_image",
      value: (performance.now() - t) / n,
      unit: "ms",
      note:
        "dense SIFT front end (ONNX Runtime, CPU) on a generated 320x240 grey image; once per image per run",
    });
  } finally {
    await fe.close();
  }

  {
    // k-means alone at the size the training init clusters (moved here from a timed unit test).
    const rand = seededRandom(3);
    const data = new Float32Array(50000 * 128).map(() => rand());
    const t0 = performance.now();
    kmeans(data, 128, 64, { seed: 1, maxIterations: 6 });
    out.push({
      name: "train/kmeans_s/n=50000",
      value: (performance.now() - t0) / 1000,
      unit: "s",
      note: "k-means++ then 6 Lloyd iterations, 50,000 uniform points x 128 dims into 64 clusters",
    });
  }

  const problem = syntheticProblem({ places, channels: 128, positions: M, nuisance: 0.5, seed: 1 });
  let t = performance.now();
  const head = initHead(problem.database, {
    clusters: 64,
    whitenDim: Math.min(256, places - 1),
    seed: 1,
    samples: 20000,
  });
  head.powerNorm = true;
  out.push({
    name: "train/init_s",
    value: (performance.now() - t) / 1000,
    unit: "s",
    note: `k-means + initParams + PCA; ${note}`,
  });

  t = performance.now();
  describeAll(head, problem.database.slice(0, 50));
  out.push({
    name: "train/describe_ms_per_image",
    value: (performance.now() - t) / 50,
    unit: "ms",
    note: "head forward on cached features (descriptor-cache refresh cost per image)",
  });

  const r = await trainHead(problem.dataset, { database: problem.database, queries: problem.queries }, head, {
    epochs: 1,
    posRadius: 4,
    negRadius: 12,
    optimizer: { kind: "adam", lr: 1e-3 },
  });
  const e = r.history[0];
  out.push({
    name: "train/epoch_s/images=" + 2 * places,
    value: e.seconds,
    unit: "s",
    note: `${r.tuples} tuples; ${note}`,
  });
  out.push({
    name: "train/tuple_ms",
    value: (e.seconds * 1000) / r.tuples,
    unit: "ms",
    note: "per training tuple, epoch time / tuples (includes the per-epoch cache refresh and validation)",
  });
  return out;
}

if (import.meta.main) {
  for (const r of await bench()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}  (${r.note ?? ""})`);
}
