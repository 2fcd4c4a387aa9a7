import assert from "node:assert/strict";
import { createSimulator } from "../../src/io/simulator/simulator.ts";
import { convertChannels } from "../../src/image/resize.ts";
import {
  buildDefaultModelGraph,
  fitDefaultModel,
  FrontEnd,
  LOCAL_DIM,
  PCA_MIN_IMAGES,
  SMALL_MAP_PRIOR_IMAGES,
  VOCABULARY_MIN_IMAGES,
  vocabularyOf,
} from "../../src/model/default_model.ts";
import { readGenericModelBundle } from "../../src/model/generic_model.ts";
import { DENSE_SIFT_DEFAULTS, denseGrid, type DenseSiftOptions } from "../../src/model/dense_sift.ts";
import { loadModelBundle } from "../../src/model/onnx_model.ts";
import { netvladForward } from "../../src/model/netvlad.ts";
import { applyPca } from "../../src/model/pca.ts";
import { ValidationError } from "../../src/errors.ts";
import type { PixelImage } from "../../src/types.ts";
import { mulberry32 as seededRandom } from "../../src/_rng.ts";

const W = 160, H = 120;

function simImages(count: number, seed = 5): PixelImage[] {
  const sim = createSimulator({ seed, width: W, height: H });
  const path = sim.path({ index: 0 });
  const step = Math.max(1, Math.floor(path.length / count));
  const out: PixelImage[] = [];
  for (let i = 0; i < count; i++) out.push(convertChannels(sim.render(path[i * step]), 1));
  return out;
}

const images = simImages(10);
/** A small, quick fit (8 centres) of the default model on `images`. */
const SMALL_FIT = { clusters: 8, inputWidth: W, kmeansIterations: 5, samplesPerImage: 300 };

Deno.test("fitDefaultModel() builds a loadable model whose global and local outputs have the declared sizes", async () => {
  const bundle = await fitDefaultModel(images, SMALL_FIT);
  assert.equal(bundle.manifest.descriptorDim, 8 * LOCAL_DIM);
  assert.equal(bundle.manifest.input.height, H);
  const model = await loadModelBundle(bundle, { provider: "cpu" });
  try {
    const out = await model.describe(images[0], { local: true });
    assert.equal(out.global.length, 8 * LOCAL_DIM);
    assert.ok(Math.abs(Math.hypot(...out.global) - 1) < 1e-4);
    const grid = denseGrid(W, H, DENSE_SIFT_DEFAULTS);
    const local = out.local!;
    assert.deepEqual([local.gridWidth, local.gridHeight, local.dim], [
      grid.gridWidth,
      grid.gridHeight,
      LOCAL_DIM,
    ]);
    assert.deepEqual([local.stride, local.offset, local.imageWidth, local.imageHeight], [
      grid.stride,
      grid.offset,
      W,
      H,
    ]);
    assert.equal(local.descriptors.length, grid.gridWidth * grid.gridHeight * LOCAL_DIM);
    // A larger image of the same view is resized to the input and gives (almost) the same descriptor.
    const big = (await model.describe(simImages(1, 5).map((i) => i)[0])).global;
    let dot = 0;
    for (let i = 0; i < big.length; i++) dot += big[i] * out.global[i];
    assert.ok(dot > 0.999, `same image, dot ${dot}`);
  } finally {
    await model.close();
  }
});

Deno.test("the default model's ONNX global descriptor equals the TypeScript reference (NetVLAD, power norm, PCA)", async () => {
  const bundle = await fitDefaultModel(images, {
    clusters: 4,
    inputWidth: W,
    pcaDim: 6,
    pcaMinImages: 2,
    pcaCropsPerImage: 1,
    kmeansIterations: 5,
    samplesPerImage: 200,
  });
  const p = bundle.params;
  assert.equal(p.pca?.dim, 6);
  const model = await loadModelBundle(bundle, { provider: "cpu" });
  try {
    const out = await model.describe(images[3], { local: true });
    const local = out.local!;
    const plane = local.gridWidth * local.gridHeight;
    const chw = new Float32Array(plane * LOCAL_DIM);
    for (let q = 0; q < plane; q++) {
      for (let c = 0; c < LOCAL_DIM; c++) chw[c * plane + q] = local.descriptors[q * LOCAL_DIM + c];
    }
    const { vlad } = netvladForward(chw, p.netvlad, {
      n: 1,
      height: local.gridHeight,
      width: local.gridWidth,
    }, { weighted: true });
    let norm = 0;
    const pn = vlad.map((v) => Math.sign(v) * Math.sqrt(Math.abs(v)));
    for (const v of pn) norm += v * v;
    const ref = applyPca(p.pca!, pn.map((v) => v / Math.sqrt(norm)));
    for (let i = 0; i < ref.length; i++) {
      assert.ok(Math.abs(ref[i] - out.global[i]) < 2e-4, `dim ${i}: ${ref[i]} vs ${out.global[i]}`);
    }
  } finally {
    await model.close();
  }
});

Deno.test("fitDefaultModel() is deterministic for a seed", async () => {
  const opts = { clusters: 4, inputWidth: W, kmeansIterations: 3, samplesPerImage: 100, seed: 9 };
  const a = await fitDefaultModel(images.slice(0, 4), opts);
  const b = await fitDefaultModel(images.slice(0, 4), opts);
  assert.equal(a.manifest.sha256, b.manifest.sha256);
});

Deno.test("fitDefaultModel() validates its options and needs images", async () => {
  await assert.rejects(
    () => fitDefaultModel(images, { clusters: 0 }),
    /'clusters' must be a positive integer/,
  );
  await assert.rejects(() => fitDefaultModel(images, { variant: "vlad3" as never }), ValidationError);
  await assert.rejects(() => fitDefaultModel([], {}), /'images' must be at least one image/);
  await assert.rejects(
    () => fitDefaultModel(images, { kmeansRestarts: 0 }),
    /'kmeansRestarts' must be a positive integer/,
  );
});

Deno.test("buildDefaultModelGraph() rejects a PCA whose input is not K*128", async () => {
  const bundle = await fitDefaultModel(images.slice(0, 3), {
    clusters: 2,
    inputWidth: W,
    kmeansIterations: 2,
    samplesPerImage: 50,
  });
  const pca = {
    inputDim: 10,
    dim: 2,
    mean: new Float32Array(10),
    components: new Float32Array(20),
    eigenvalues: new Float32Array(2),
  };
  assert.throws(() => buildDefaultModelGraph({ ...bundle.params, pca }), /'pca.inputDim' must be K\*C = 256/);
});

Deno.test("the dense SIFT front end bins a vertical step edge into the 0-degree orientation", async () => {
  const data = new Uint8Array(64 * 64);
  for (let y = 0; y < 64; y++) for (let x = 32; x < 64; x++) data[y * 64 + x] = 200;
  const fe = await FrontEnd.create(64, 64);
  try {
    const [dense] = await fe.run([{ width: 64, height: 64, channels: 1, data }]);
    const bins = new Float64Array(8);
    let flat = 0;
    for (let q = 0; q < dense.gridWidth * dense.gridHeight; q++) {
      let norm = 0;
      for (let c = 0; c < LOCAL_DIM; c++) {
        bins[c % 8] += dense.descriptors[q * LOCAL_DIM + c];
        norm += dense.descriptors[q * LOCAL_DIM + c] ** 2;
      }
      if (norm < 1e-6) flat++;
      else assert.ok(Math.abs(norm - 1) < 1e-3, `unit RootSIFT, got ${norm}`);
    }
    assert.ok(flat > 0, "patches away from the edge have no gradient");
    assert.ok(bins[0] > 0 && bins[4] === 0 && bins[2] === 0 && bins[6] === 0, `bins ${Array.from(bins)}`);
  } finally {
    await fe.close();
  }
});

const small = { inputWidth: W, kmeansIterations: 4, samplesPerImage: 200 };

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

Deno.test("vocabularyOf() reads the generic model's NetVLAD parameters back: rebuilding gives the same graph", async () => {
  const bundle = await readGenericModelBundle();
  const v = vocabularyOf(bundle);
  const prov = bundle.manifest.provenance!;
  assert.equal(v.clusters, prov.clusters);
  assert.equal(v.dim, LOCAL_DIM);
  assert.equal(v.bias, null);
  const rebuilt = buildDefaultModelGraph({
    inputWidth: bundle.manifest.input.width,
    inputHeight: bundle.manifest.input.height,
    frontEnd: prov.frontEnd as DenseSiftOptions,
    netvlad: v,
    powerNorm: prov.powerNorm as boolean,
    pca: null,
  });
  assert.deepEqual(new Uint8Array(rebuilt), new Uint8Array(bundle.onnx));
});

Deno.test("vocabularyOf() refuses a bundle that is not a dsift-netvlad model", async () => {
  const bundle = await readGenericModelBundle();
  const other = { ...bundle, manifest: { ...bundle.manifest, provenance: { kind: "byo" } } };
  assert.throws(() => vocabularyOf(other), ValidationError);
});

Deno.test("fitDefaultModel() with a given vocabulary keeps it (no k-means) and still fits PCA on the images", async () => {
  const fitted = await fitDefaultModel(images.slice(0, 6), { ...small, clusters: 4 });
  assert.equal(fitted.manifest.provenance?.vocabulary, "fitted");
  const other = simImages(6, 9);
  const again = await fitDefaultModel(other, {
    ...small,
    vocabulary: fitted.params.netvlad,
    pcaDim: 3,
    pcaMinImages: 2,
  });
  assert.equal(again.manifest.provenance?.vocabulary, "given");
  assert.equal(again.params.netvlad, fitted.params.netvlad);
  assert.equal(again.params.pca?.dim, 3);
  assert.equal(again.manifest.descriptorDim, 3);
  await assert.rejects(
    () =>
      fitDefaultModel(images.slice(0, 6), { ...small, vocabulary: { ...fitted.params.netvlad, dim: 64 } }),
    /'vocabulary.dim' must be 128/,
  );
});

Deno.test("fitDefaultModel() with a prior blends: a heavy prior keeps its centres, no prior weight moves them", async () => {
  const start = await fitDefaultModel(simImages(6, 9), { ...small, clusters: 4 });
  const prior = start.params.netvlad.centroids;
  const heavy = await fitDefaultModel(images.slice(0, 6), {
    ...small,
    clusters: 4,
    prior: { centroids: prior, images: 1e9 },
  });
  assert.equal(heavy.manifest.provenance?.vocabulary, "blended");
  assert.ok(maxAbsDiff(heavy.params.netvlad.centroids, prior) < 1e-4);
  const none = await fitDefaultModel(images.slice(0, 6), {
    ...small,
    clusters: 4,
    prior: { centroids: prior, images: 0 },
  });
  const mid = await fitDefaultModel(images.slice(0, 6), {
    ...small,
    clusters: 4,
    prior: { centroids: prior, images: 6 },
  });
  const moved = maxAbsDiff(none.params.netvlad.centroids, prior);
  assert.ok(moved > 0.01, `the map's own descriptors move the centres (${moved})`);
  const half = maxAbsDiff(mid.params.netvlad.centroids, prior);
  assert.ok(half > 1e-4 && half < moved, `a prior as heavy as the map moves them less (${half} vs ${moved})`);
  await assert.rejects(
    () =>
      fitDefaultModel(images.slice(0, 6), {
        ...small,
        clusters: 4,
        prior: { centroids: prior.slice(1), images: 1 },
      }),
    /'prior.centroids.length' must be K\*C = 512/,
  );
  await assert.rejects(
    () =>
      fitDefaultModel(images.slice(0, 6), { ...small, clusters: 4, prior: { centroids: prior, images: -1 } }),
    ValidationError,
  );
});

/** A night-like copy: values x0.1 plus sensor noise (sigma 4 grey levels). */
function darkNoisy(img: PixelImage, seed = 7): PixelImage {
  const rand = seededRandom(seed);
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    const n = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    data[i] = Math.max(0, Math.min(255, Math.round(img.data[i] * 0.1 + 4 * n)));
  }
  return { ...img, data };
}

Deno.test("the default model's support is the mean weight of its local descriptors, and falls on a dark, noisy frame", async () => {
  const bundle = await fitDefaultModel(images, SMALL_FIT);
  const model = await loadModelBundle(bundle, { provider: "cpu" });
  try {
    const out = await model.describe(images[2], { local: true });
    const local = out.local!;
    let sum = 0;
    const count = local.gridWidth * local.gridHeight;
    for (let p = 0; p < count; p++) {
      let s = 0;
      for (let j = 0; j < local.dim; j++) s += local.descriptors[p * local.dim + j] ** 2;
      sum += Math.sqrt(s);
    }
    assert.ok(out.support !== undefined && out.support > 0 && out.support <= 1, `support ${out.support}`);
    assert.ok(
      Math.abs(out.support - sum / count) < 1e-4,
      `support ${out.support} vs mean length ${sum / count}`,
    );
    // Without local features the support is still there (a scalar per image).
    const dark = await model.describe(darkNoisy(images[2]));
    assert.ok(dark.support !== undefined);
    assert.ok(dark.support < 0.5 * out.support, `dark ${dark.support} vs clean ${out.support}`);
    // A frame with nothing above the noise floor (all black): no support and an all-zero descriptor, which the
    // map build reports and the place filter treats as a blind place.
    const black = await model.describe({ ...images[2], data: new Uint8Array(images[2].data.length) });
    assert.equal(black.support, 0);
    assert.ok(black.global.every((v) => v === 0), "all-zero global descriptor");
  } finally {
    await model.close();
  }
});

Deno.test("fitDefaultModel() keeps the raw VLAD when the map has fewer images than whitening needs, and says so", async () => {
  const six = images.slice(0, 6);
  assert.ok(six.length < PCA_MIN_IMAGES);
  const raw = await fitDefaultModel(six, { ...small, clusters: 4, pcaDim: 3 });
  assert.equal(raw.params.pca, null);
  assert.equal(raw.manifest.descriptorDim, 4 * LOCAL_DIM);
  assert.equal(raw.manifest.provenance?.whitening, "skipped: 6 images, fewer than the 32 whitening needs");
  assert.match(raw.manifest.description, /PCA whitening skipped: 6 images/);
  // The same images with the minimum lowered: whitened, and the manifest says nothing was skipped.
  const white = await fitDefaultModel(six, { ...small, clusters: 4, pcaDim: 3, pcaMinImages: 6 });
  assert.equal(white.params.pca?.dim, 3);
  assert.equal(white.manifest.provenance?.whitening, undefined);
  // One image cannot be whitened at all: with the minimum lowered that is an error, not a silent fallback.
  await assert.rejects(
    () =>
      fitDefaultModel(six.slice(3, 4), {
        ...small,
        vocabulary: raw.params.netvlad,
        pcaDim: 3,
        pcaMinImages: 0,
      }),
    /at least 2 for PCA whitening/,
  );
  await assert.rejects(
    () => fitDefaultModel(six, { ...small, clusters: 4, pcaDim: 3, pcaMinImages: -1 }),
    /'pcaMinImages' must be a non-negative integer/,
  );
});

Deno.test("fitDefaultModel() blends a small map's vocabulary with the small-map vocabulary, as a prior of 100 images", async () => {
  const small = { inputWidth: W, kmeansIterations: 4, samplesPerImage: 200, clusters: 4 };
  const other = (await fitDefaultModel(simImages(6, 9), { ...small, vocabularyMinImages: 0 })).params.netvlad;
  const six = images.slice(0, 6);
  assert.ok(six.length < VOCABULARY_MIN_IMAGES);
  const ruled = await fitDefaultModel(six, { ...small, smallMapVocabulary: other });
  assert.equal(ruled.manifest.provenance?.vocabulary, "blended");
  assert.match(String(ruled.manifest.provenance?.vocabularyRule), /^blended: 6 images, fewer than the 32/);
  assert.match(ruled.manifest.description ?? "", /blended vocabulary \(small map\), fitted on 6 images/);
  // Exactly the explicit blend with the same prior.
  const explicit = await fitDefaultModel(six, {
    ...small,
    prior: { centroids: other.centroids, images: SMALL_MAP_PRIOR_IMAGES },
  });
  assert.deepEqual(ruled.params.netvlad.centroids, explicit.params.netvlad.centroids);
  assert.equal(explicit.manifest.provenance?.vocabularyRule, undefined, "a caller's prior is not the rule");
  // The rule off, or a map as large as the threshold: the map's own vocabulary.
  const own = await fitDefaultModel(six, { ...small, smallMapVocabulary: other, vocabularyMinImages: 0 });
  assert.equal(own.manifest.provenance?.vocabulary, "fitted");
  assert.equal(own.manifest.provenance?.vocabularyRule, undefined);
  assert.ok(maxAbsDiff(own.params.netvlad.centroids, ruled.params.netvlad.centroids) > 1e-3);
  const atThreshold = await fitDefaultModel(six, {
    ...small,
    smallMapVocabulary: other,
    vocabularyMinImages: 6,
  });
  assert.deepEqual(atThreshold.params.netvlad.centroids, own.params.netvlad.centroids);
  // A small-map vocabulary of another K cannot be blended: the map's own, and the manifest says why.
  const eight =
    (await fitDefaultModel(simImages(6, 9), { ...small, clusters: 8, vocabularyMinImages: 0 })).params
      .netvlad;
  const mismatch = await fitDefaultModel(six, { ...small, smallMapVocabulary: eight });
  assert.equal(mismatch.manifest.provenance?.vocabulary, "fitted");
  assert.match(String(mismatch.manifest.provenance?.vocabularyRule), /has 8 clusters, not 4/);
  await assert.rejects(
    () => fitDefaultModel(six, { ...small, vocabularyMinImages: -1 }),
    /vocabularyMinImages/,
  );
});

Deno.test("fitDefaultModel() with K 64 on a small map blends with the shipped generic vocabulary by default", async () => {
  const generic = vocabularyOf(await readGenericModelBundle());
  const fit = { inputWidth: W, kmeansIterations: 4, samplesPerImage: 300 };
  const ruled = await fitDefaultModel(images.slice(0, 6), fit);
  assert.equal(ruled.manifest.provenance?.vocabulary, "blended");
  const own = await fitDefaultModel(images.slice(0, 6), { ...fit, vocabularyMinImages: 0 });
  // Six images weighed against a prior of 100: the centres stay much nearer the generic ones than the map's own.
  const toGeneric = maxAbsDiff(ruled.params.netvlad.centroids, generic.centroids);
  const ownToGeneric = maxAbsDiff(own.params.netvlad.centroids, generic.centroids);
  assert.ok(toGeneric < ownToGeneric / 2, `blended ${toGeneric} vs own ${ownToGeneric}`);
});
