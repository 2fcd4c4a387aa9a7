/**
 * The SLAM loop stage with a session index (`index`, `denseLimit`): past the limit the index's top-k replaces
 * dense comparison (the recent window filtered out, ids mapped back to detector ordinals, the background from
 * a sample of every eligible keyframe) and the loops found are those of the dense path.
 */
import assert from "node:assert/strict";
import { from, lastValueFrom, toArray } from "rxjs";
import { HnswIndex } from "../../src/index/hnsw_index.ts";
import type { SearchHit, SearchOptions, VectorIndex } from "../../src/index/vector_index.ts";
import type { FrameWork } from "../../src/pipeline/frame_work.ts";
import { createLocalizer, localize } from "../../src/pipeline/localize_pipeline.ts";
import { loopStage, type LoopStageOptions } from "../../src/pipeline/loop_stage.ts";
import { createStageRunner } from "../../src/pipeline/stage_runner.ts";
import type { LoopClosureEvent } from "../../src/types.ts";
import { codeFrame, codeVector, fakeModel, syncDecode } from "./_fakes.ts";

const D = 128;

/** Deterministic standard normal draws. */
function gaussian(seed: number): () => number {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

/**
 * A route: `first` new places, then 30 views of one new place (standing still: its own earlier keyframes
 * leave the recent window and must still not close a loop), then a revisit of places 20..69.
 */
function route(first = 120) {
  const g = gaussian(7);
  const place = (): Float32Array => unit(Float32Array.from({ length: D }, g));
  const view = (p: Float32Array, noise: number) => unit(p.map((x) => x + (noise * g()) / Math.sqrt(D)));
  const places = Array.from({ length: first }, place);
  const still = place();
  const frames: { place: number; v: Float32Array }[] = [];
  for (let i = 0; i < first; i++) frames.push({ place: i, v: view(places[i], 0.3) });
  for (let i = 0; i < 30; i++) frames.push({ place: -1, v: view(still, 0.05) });
  for (let i = 20; i < 70; i++) frames.push({ place: i, v: view(places[i], 0.3) });
  return { places, frames, first };
}

function work(seq: number, v: Float32Array): FrameWork {
  return {
    frame: {
      seq,
      stamp: seq / 10,
      frameId: "cam",
      image: { kind: "encoded", format: "jpeg", data: new Uint8Array() },
    },
    receivedAt: 0,
    keyframe: true,
    descriptor: { global: v },
  };
}

/** An index that records, for each search, the ids returned and how many vectors it held then. */
class SpyIndex implements VectorIndex {
  searches: { size: number; hits: SearchHit[] }[] = [];
  constructor(readonly inner: VectorIndex) {}
  get dim() {
    return this.inner.dim;
  }
  get size() {
    return this.inner.size;
  }
  add(id: number, v: Float32Array) {
    this.inner.add(id, v);
  }
  search(q: Float32Array, k: number, options?: SearchOptions) {
    const hits = this.inner.search(q, k, options);
    this.searches.push({ size: this.inner.size, hits });
    return hits;
  }
  save(path: string) {
    return this.inner.save(path);
  }
}

async function run(vs: Float32Array[], options: LoopStageOptions): Promise<LoopClosureEvent[]> {
  const runner = createStageRunner(loopStage(options));
  const loops: LoopClosureEvent[] = [];
  for (let t = 0; t < vs.length; t++) {
    const out = await runner.push(work(t, vs[t]));
    assert.equal(out.error, undefined, out.error?.message);
    if (out.loop) loops.push(out.loop);
  }
  runner.close();
  return loops;
}

// Stricter than the defaults: with independent random places the default drift lets chance tracks among the
// 100+ candidates reach the threshold now and then (dense and index alike); true revisits have z ~ 10 here.
const detector = { excludeRecent: 5, minCandidates: 5, drift: 3, threshold: 5 };
const REVISIT = 150; // first revisit keyframe (after the 120 places and the standstill)

Deno.test("SLAM loop stage with an index past denseLimit still closes the revisit's loops, never with the recent window", async () => {
  const { frames, first } = route();
  const spy = new SpyIndex(new HnswIndex(D));
  const loops = await run(frames.map((f) => f.v), { detector, index: () => spy, denseLimit: 30, k: 10 });
  // No prior: place id = keyframe ordinal = seq. The index answered every keyframe past the limit.
  assert.equal(spy.size, frames.length, "every keyframe was added to the index");
  assert.equal(spy.searches.length, frames.length - 31 - detector.excludeRecent);
  for (const s of spy.searches) {
    assert.ok(s.hits.length > 0);
    for (const h of s.hits) {
      assert.ok(h.id < s.size - detector.excludeRecent, `hit ${h.id} inside the recent window at ${s.size}`);
    }
  }
  assert.equal(first + 30, REVISIT);
  const revisit = loops.filter((l) => l.query.seq >= REVISIT);
  assert.ok(revisit.length >= 45, `loops on the revisit: ${revisit.length} of 50`);
  assert.equal(loops.length, revisit.length, "no loop on the first pass nor while standing still");
  for (const l of revisit) {
    assert.equal(frames[l.match.placeId].place, frames[l.query.seq].place, "matched the same place");
    assert.ok(l.match.placeId <= l.query.seq - detector.excludeRecent - 1);
  }
});

Deno.test("SLAM loop stage: index and dense paths give the same loops when the top-k holds the true match", async () => {
  const { frames } = route();
  const vs = frames.map((f) => f.v);
  const dense = await run(vs, { detector });
  const indexed = await run(vs, { detector, index: () => new HnswIndex(D), denseLimit: 30, k: 10 });
  const hnswOnly = await run(vs, { detector, index: () => new HnswIndex(D), denseLimit: 0, k: 10 });
  assert.ok(dense.length >= 45);
  for (const other of [indexed, hnswOnly]) {
    assert.deepEqual(
      other.map((l) => [l.query.seq, l.match.placeId]),
      dense.map((l) => [l.query.seq, l.match.placeId]),
    );
    other.forEach((l, i) => {
      assert.ok(Math.abs(l.score - dense[i].score) < 1e-5, `score ${l.score} vs ${dense[i].score}`);
      assert.ok(Math.abs(l.confidence - dense[i].confidence) < 1e-4);
    });
  }
});

Deno.test("SLAM loop stage with prior keyframes (multi-session): the index maps place ids back to ordinals", async () => {
  const { frames, first } = route();
  // The first pass is a prior session with scattered place ids; this run is the revisit and the standstill.
  const prior = frames.slice(0, first).map((f, i) => ({ placeId: 3 * i + 7, stamp: i, descriptor: f.v }));
  const session = frames.slice(first).map((f) => f.v); // the standstill, then the revisit
  const spy = new SpyIndex(new HnswIndex(D));
  const joined: number[] = [];
  const opts = { detector, prior, onKeyframe: (kf: { placeId: number }) => void joined.push(kf.placeId) };
  const indexed = await run(session, { ...opts, index: () => spy, denseLimit: 30, k: 10 });
  const firstSession = 3 * (first - 1) + 7 + 1;
  assert.deepEqual(joined.slice(0, 2), [firstSession, firstSession + 1], "session ids follow the prior's");
  joined.length = 0;
  const dense = await run(session, opts);
  assert.equal(spy.size, first + session.length);
  // Ordinal of a place id: prior i -> i, session keyframe r -> first + r.
  const ordinal = (id: number) => id < firstSession ? (id - 7) / 3 : first + id - firstSession;
  for (const s of spy.searches) {
    for (const h of s.hits) assert.ok(ordinal(h.id) < s.size - detector.excludeRecent);
  }
  assert.ok(indexed.length >= 45, `loops: ${indexed.length}`);
  for (const l of indexed) {
    assert.ok(l.query.seq >= REVISIT - first, "no loop while standing still");
    assert.equal(
      l.match.placeId,
      3 * frames[first + l.query.seq].place + 7,
      "the prior keyframe of the place",
    );
    assert.equal(l.match.stamp, frames[first + l.query.seq].place);
  }
  assert.deepEqual(
    indexed.map((l) => [l.query.seq, l.match.placeId]),
    dense.map((l) => [l.query.seq, l.match.placeId]),
  );
});

Deno.test("SLAM pipeline: sessionIndex hnsw finds the loops of dense; bad values are rejected", async () => {
  const codes = [
    ...Array.from({ length: 25 }, (_, i) => i * 2),
    ...Array.from({ length: 20 }, (_, i) => i * 2),
  ];
  const frames = codes.map((c, i) => codeFrame(i, c));
  const loopsOf = (sessionIndex: "dense" | "hnsw" | "auto") =>
    lastValueFrom(
      localize(from(frames), {
        model: fakeModel(),
        decode: syncDecode,
        loops: { excludeRecent: 5 },
        loopGate: { unverifiedMinConfidence: 0 }, // every hypothesis: the paths are compared, not the policy
        sessionIndex,
      }).loops$.pipe(toArray()),
    );
  const dense = await loopsOf("dense");
  const hnsw = await loopsOf("hnsw");
  const auto = await loopsOf("auto");
  assert.ok(dense.length >= 15, `loops: ${dense.length}`);
  const key = (ls: LoopClosureEvent[]) => ls.map((l) => [l.query.seq, l.match.placeId]);
  assert.deepEqual(key(hnsw), key(dense));
  assert.deepEqual(auto, dense, "auto below the limit is the dense path");
  assert.throws(
    () => localize(from(frames), { model: fakeModel(), sessionIndex: "ivf" as "auto" }),
    /sessionIndex/,
  );
});

Deno.test("loop stage validates denseLimit, k and index", async () => {
  assert.throws(() => loopStage({ denseLimit: -1 }), /denseLimit/);
  assert.throws(() => loopStage({ k: 0 }), /k/);
  assert.throws(() => loopStage({ index: {} as VectorIndex }), /index/);
  const used = new HnswIndex(4);
  used.add(0, new Float32Array([1, 0, 0, 0]));
  const runner = createStageRunner(loopStage({ index: used }));
  await assert.rejects(runner.push(work(0, new Float32Array([0, 1, 0, 0]))), /empty index/);
  runner.close();
});

/** An index that records, after each keyframe, how many vectors it held (`marks`) and every id added. */
class CountingIndex extends SpyIndex {
  added: number[] = [];
  override add(id: number, v: Float32Array) {
    this.added.push(id);
    super.add(id, v);
  }
}

async function runCounting(vs: Float32Array[], options: LoopStageOptions, index: CountingIndex) {
  const runner = createStageRunner(loopStage({ ...options, index: () => index }));
  const loops: LoopClosureEvent[] = [], sizes: number[] = [];
  for (let t = 0; t < vs.length; t++) {
    const out = await runner.push(work(t, vs[t]));
    assert.equal(out.error, undefined, out.error?.message);
    if (out.loop) loops.push(out.loop);
    sizes.push(index.size);
  }
  runner.close();
  return { loops, sizes };
}

Deno.test("session index is filled lazily: nothing below indexFrom, a few inserts a keyframe, complete at denseLimit", async () => {
  const { frames } = route();
  const vs = frames.map((f) => f.v);
  const dense = await run(vs, { detector });
  const excl = detector.excludeRecent, denseLimit = 60, indexFrom = 30;
  const lazy = new CountingIndex(new HnswIndex(D));
  const { loops, sizes } = await runCounting(vs, { detector, denseLimit, indexFrom, k: 10 }, lazy);
  // Keyframe t has t - excl eligible; nothing is added before t = indexFrom + excl.
  for (let t = 0; t < indexFrom + excl; t++) assert.equal(sizes[t], 0, `keyframe ${t}`);
  assert.ok(sizes[indexFrom + excl] > 0);
  // Never more than a few inserts a keyframe (the backlog spread over the keyframes up to the crossing).
  const steps = sizes.map((s, t) => s - (t === 0 ? 0 : sizes[t - 1]));
  assert.ok(Math.max(...steps) <= 3, `inserts per keyframe: ${Math.max(...steps)}`);
  // The first search (keyframe denseLimit + excl + 1) found every earlier keyframe in the index.
  assert.equal(lazy.searches[0].size, denseLimit + excl + 1);
  assert.deepEqual(lazy.added, vs.map((_, i) => i), "keyframe order, each once");
  // The default start is denseLimit / 2; results are those of dense (and of an index from the first keyframe).
  const eager = new CountingIndex(new HnswIndex(D));
  const eagerRun = await runCounting(vs, { detector, denseLimit, indexFrom: 0, k: 10 }, eager);
  assert.deepEqual(eagerRun.sizes, vs.map((_, t) => t + 1), "indexFrom 0: every keyframe as it joins");
  const key = (ls: LoopClosureEvent[]) =>
    ls.map((l) => [l.query.seq, l.match.placeId, l.score, l.confidence]);
  assert.deepEqual(key(loops), key(eagerRun.loops), "same insert order: same graph, same loops");
  assert.deepEqual(
    loops.map((l) => [l.query.seq, l.match.placeId]),
    dense.map((l) => [l.query.seq, l.match.placeId]),
  );
  // A session that never reaches indexFrom adds nothing and is the dense path exactly.
  const small = new CountingIndex(new HnswIndex(D));
  const smallRun = await runCounting(vs, { detector, denseLimit: 1000, k: 10 }, small);
  assert.equal(small.added.length, 0);
  assert.deepEqual(smallRun.loops, dense);
  assert.throws(() => loopStage({ indexFrom: -1 }), /indexFrom/);
  assert.throws(() => loopStage({ index: () => new HnswIndex(D), maxSession: 100 }), /maxSession/);
});

Deno.test("session index with a prior near the limit spreads the prior's backlog; above the limit it is added at once", async () => {
  const { frames, first } = route();
  const prior = frames.slice(0, first).map((f, i) => ({ placeId: i, descriptor: f.v }));
  const session = frames.slice(first).map((f) => f.v);
  const excl = detector.excludeRecent;
  const dense = await run(session, { detector, prior });
  // Prior of 120, limit 150: the index takes over at session keyframe 150 + excl + 1 - 120 = 36.
  const near = new CountingIndex(new HnswIndex(D));
  const a = await runCounting(session, { detector, prior, denseLimit: 150, k: 10 }, near);
  const crossAt = 150 + excl + 1 - first;
  assert.ok(
    a.sizes[0] > 0 && a.sizes[0] <= Math.ceil((first + 1) / crossAt),
    `first keyframe: ${a.sizes[0]}`,
  );
  assert.equal(a.sizes[crossAt - 1], first + crossAt, "backlog done by the crossing");
  assert.equal(near.searches[0].size, first + crossAt);
  assert.deepEqual(
    a.loops.map((l) => [l.query.seq, l.match.placeId]),
    dense.map((l) => [l.query.seq, l.match.placeId]),
  );
  // Prior above the limit: the index answers from the first keyframe, so the prior is added before it.
  const above = new CountingIndex(new HnswIndex(D));
  const b = await runCounting(session, { detector, prior, denseLimit: 50, k: 10 }, above);
  assert.equal(above.searches[0].size, first);
  assert.equal(b.sizes[0], first + 1);
  assert.deepEqual(
    b.loops.map((l) => [l.query.seq, l.match.placeId]),
    dense.map((l) => [l.query.seq, l.match.placeId]),
  );
});

Deno.test("session index starting from a saved index of the prior: not re-added, grows past its capacity, the file is untouched", async () => {
  const { frames, first } = route();
  // Prior of 120 keyframes and 3 journal-replayed ones; the saved index holds the 120 (full: capacity 120).
  const prior = frames.slice(0, first + 3).map((f, i) => ({ placeId: i, descriptor: f.v }));
  const session = frames.slice(first + 3).map((f) => f.v);
  const saved = new HnswIndex(D, { maxElements: first });
  for (let i = 0; i < first; i++) saved.add(i, prior[i].descriptor);
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/index.hnsw`;
    await saved.save(path);
    const before = await Deno.readFile(path), beforeSide = await Deno.readTextFile(`${path}.json`);
    const loaded = await HnswIndex.load(path);
    assert.equal(loaded.capacity, first);
    const reused = new CountingIndex(loaded);
    const opts = { detector, prior, denseLimit: 50, k: 10 };
    const { loops } = await runCounting(session, opts, reused);
    assert.deepEqual(
      reused.added,
      [first, first + 1, first + 2, ...session.map((_, t) => first + 3 + t)],
      "only the journal-replayed and new keyframes are added",
    );
    assert.equal(loaded.size, first + 3 + session.length);
    assert.ok(loaded.capacity >= loaded.size);
    assert.deepEqual(await Deno.readFile(path), before, "the saved index file is unchanged");
    assert.equal(await Deno.readTextFile(`${path}.json`), beforeSide);
    const fresh = await run(session, { ...opts, index: () => new HnswIndex(D) });
    assert.ok(loops.length >= 40, `loops: ${loops.length}`);
    assert.deepEqual(
      loops.map((l) => [l.query.seq, l.match.placeId]),
      fresh.map((l) => [l.query.seq, l.match.placeId]),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // An index that is not a prefix of the prior is refused.
  const wrong = new HnswIndex(D);
  wrong.add(5, prior[5].descriptor);
  const runner = createStageRunner(loopStage({ detector, prior, index: wrong }));
  await assert.rejects(runner.push(work(0, session[0])), /id 5, not one of the first 1 prior place ids/);
  runner.close();
  const tooBig = new HnswIndex(D);
  for (let i = 0; i < 3; i++) tooBig.add(i, prior[i].descriptor);
  const r2 = createStageRunner(loopStage({ detector, prior: prior.slice(0, 2), index: tooBig }));
  await assert.rejects(r2.push(work(0, session[0])), /an index of 3 vectors \(2 prior keyframes\)/);
  r2.close();
});

Deno.test("SLAM pipeline: priorKeyframesIndex serves the first run, a later run builds its own", async () => {
  const codes = [
    ...Array.from({ length: 20 }, (_, i) => i * 2),
    ...Array.from({ length: 20 }, (_, i) => i * 2),
  ];
  const frames = codes.map((c, i) => codeFrame(i + 100, c));
  const prior = Array.from({ length: 30 }, (_, i) => ({ placeId: i, descriptor: codeVector(60 + i) }));
  const priorIndex = new HnswIndex(prior[0].descriptor.length);
  for (const p of prior) priorIndex.add(p.placeId, p.descriptor);
  const localizer = createLocalizer({
    model: fakeModel(),
    decode: syncDecode,
    loops: { excludeRecent: 5 },
    sessionIndex: "hnsw",
    priorKeyframes: prior,
    priorKeyframesIndex: priorIndex,
  });
  const first = await lastValueFrom(localizer.run(from(frames)).loops$.pipe(toArray()));
  assert.equal(
    priorIndex.size,
    prior.length + frames.length,
    "the run added its keyframes to the prior's index",
  );
  const second = await lastValueFrom(localizer.run(from(frames)).loops$.pipe(toArray()));
  assert.equal(priorIndex.size, prior.length + frames.length, "the second run did not touch it");
  assert.ok(first.length >= 15, `loops: ${first.length}`);
  assert.deepEqual(second, first);
  assert.throws(
    () => createLocalizer({ model: fakeModel(), priorKeyframesIndex: {} as VectorIndex }),
    /priorKeyframesIndex/,
  );
});

Deno.test("session index factory gets the expected capacity; onSessionIndex hands out the run's index, complete past the limit", async () => {
  const { frames } = route();
  const vs = frames.map((f) => f.v);
  const denseLimit = 60;
  const capacities: number[] = [], handed: VectorIndex[] = [];
  const made: HnswIndex[] = [];
  const options: LoopStageOptions = {
    detector,
    denseLimit,
    k: 10,
    index: (capacity) => {
      capacities.push(capacity);
      made.push(new HnswIndex(D, { maxElements: capacity }));
      return made.at(-1)!;
    },
    onSessionIndex: (ix) => handed.push(ix),
  };
  await run(vs, options);
  assert.deepEqual(capacities, [1024], "at least 1024 (twice the limit is 120)");
  assert.equal(handed.length, 1);
  assert.equal(handed[0], made[0]);
  assert.equal(made[0].capacity, 1024, "never grown");
  // Crossed the limit: every keyframe under its place id (= ordinal with no prior).
  assert.deepEqual(made[0].ids().sort((a, b) => a - b), vs.map((_, i) => i));
  // A prior: capacity = prior + 2 x denseLimit; a session below indexFrom hands out a partial (empty) index.
  const prior = vs.slice(0, 40).map((v, i) => ({ placeId: i, descriptor: v }));
  capacities.length = handed.length = 0;
  await run(vs.slice(40, 60), { ...options, prior, denseLimit: 1000 });
  assert.deepEqual(capacities, [2040]);
  assert.equal(handed[0].size, 0, "nothing added below indexFrom: compaction must not take it as complete");
});
