/**
 * How SLAM loop closure scales with the session: per-keyframe time of the loop stage and resident memory with
 * dense comparison (every eligible keyframe, float32 rows) and with the session index (HNSW, as the pipeline's
 * `sessionIndex: "auto"` past its dense limit), on random unit descriptors (D = 8192, the generic model's
 * dimension) whose last `window` keyframes before each size revisit earlier places (noisy copies).
 *
 *   deno run -A --v8-flags=--expose-gc scripts/slam_scale.ts [--n 2000,10000,20000] [--dim 8192]
 *     [--window 100] [--modes dense,index,auto,eager,prior] [--prior 6000] [--json]
 *   deno run -A scripts/slam_scale.ts --modes compact [--prior 6000]
 *
 * - `auto` (one process, sizes as checkpoints): a real session with the pipeline's `auto` settings (dense up
 *   to 4096 eligible keyframes, the index filled lazily from 2048 on). Timed: the `window` keyframes before
 *   each checkpoint; `max_all_ms` is the slowest keyframe of the whole run so far (a stall would show there).
 * - `eager`: the same with `indexFrom: 0` (every keyframe inserted as it joins: `auto` before it was lazy).
 * - `prior` (startup of a multi-session run extending a saved map of `--prior` places, default 6000): the
 *   parent builds the prior's HNSW index with the map defaults (what `waymark map build` / compaction
 *   write) and saves it; one process starts the stage without it (every prior keyframe inserted before the
 *   first search, as the limit is already crossed), one loads the saved index and starts from it (as
 *   `waymark slam` does). `startup_ms`: subscription plus the first keyframe; `load_ms`: reading the saved
 *   index (`loadMap` reads it either way); then `window` keyframes timed.
 *
 * - `compact` (alone): the end of a first `waymark slam` session of `--prior` keyframes: the journal folded
 *   into a map whose index is the session index (`compactMap`'s `reuseIndex`) vs rebuilt from
 *   descriptors.f32; prints the build time of the session index (spread over the run in slam), both
 *   compaction times, and on 50 revisit queries how often each map's index returns the true place first and
 *   its recall of the exact top 10.
 * - `dense` at size N (one process per N): the session's first N - window keyframes are given as prior
 *   keyframes (the SLAM stage compares prior and session rows alike, densely), so the expensive part, growing
 *   the session keyframe by keyframe at O(N) each, is skipped; the timed keyframes are the last `window`.
 * - `index` (one process, sizes as checkpoints): a real session, keyframe by keyframe, with the index from the
 *   first keyframe (`denseLimit: 0`: what `auto` does once past 4096 eligible keyframes; below, `auto` costs
 *   the dense time plus one insert). Timed: the last `window` keyframes before each checkpoint, every
 *   keyframe's insert included (and the index's capacity doublings when they fall in the window).
 * - RSS: the process's resident memory after a GC at the end of the window (the dense rows, or the index and
 *   what the stage keeps; the descriptors given as prior are dropped by the script once the stage holds them).
 * - loops: revisit keyframes whose loop event matched a keyframe of the same place / of another place.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { HNSW_DEFAULTS, HnswIndex } from "../src/index/hnsw_index.ts";
import type { FrameWork } from "../src/pipeline/frame_work.ts";
import { SESSION_DENSE_LIMIT, SESSION_HNSW } from "../src/pipeline/localize_pipeline.ts";
import { loopStage } from "../src/pipeline/loop_stage.ts";
import { compactMap } from "../src/map/compact.ts";
import { KeyframeJournal } from "../src/map/journal.ts";
import { createStageRunner } from "../src/pipeline/stage_runner.ts";

interface Row {
  mode: "dense" | "index" | "auto" | "eager" | "prior-fresh" | "prior-reuse";
  n: number;
  window: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  rss_mb: number;
  loops_true: number;
  loops_false: number;
  seconds: number;
  max_all_ms?: number;
  /** The three slowest keyframes of the run so far (`auto`, `eager`): "keyframe:ms". */
  slowest?: string[];
  startup_ms?: number;
  load_ms?: number;
}

/** Place `id`'s descriptor: uniform noise from a per-id xorshift, L2-normalised. */
function placeVector(id: number, dim: number, out = new Float32Array(dim)): Float32Array {
  let s = (id * 2654435761 + 1) >>> 0 || 1;
  let n = 0;
  for (let i = 0; i < dim; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    const v = s / 2 ** 31 - 1;
    out[i] = v;
    n += v * v;
  }
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) out[i] /= n;
  return out;
}

/** A revisit view of place `id` (visit `k`): its descriptor plus noise of relative size 0.5 (similarity ~ 0.9). */
function revisitVector(id: number, k: number, dim: number): Float32Array {
  const v = placeVector(id, dim), e = placeVector(id + 1e9 + k * 1e6, dim);
  for (let i = 0; i < dim; i++) v[i] += 0.5 * e[i];
  let n = 0;
  for (let i = 0; i < dim; i++) n += v[i] * v[i];
  n = Math.sqrt(n);
  for (let i = 0; i < dim; i++) v[i] /= n;
  return v;
}

/** The place keyframe t views: the `window` before each checkpoint revisit places 100, 101, ... */
function placeOf(t: number, checkpoints: number[], window: number): number {
  for (const c of checkpoints) if (t >= c - window && t < c) return 100 + (t - (c - window));
  return t;
}

/** Keyframe t of a session with checkpoints (see `placeOf`). */
function keyframe(t: number, checkpoints: number[], window: number, dim: number) {
  const place = placeOf(t, checkpoints, window);
  return { v: place === t ? placeVector(t, dim) : revisitVector(place, t, dim), place };
}

function work(seq: number, v: Float32Array): FrameWork {
  return {
    frame: {
      seq,
      stamp: seq,
      frameId: "cam",
      image: { kind: "encoded", format: "jpeg", data: new Uint8Array() },
    },
    receivedAt: 0,
    keyframe: true,
    descriptor: { global: v },
  };
}

const pct = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function rssMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().rss / 2 ** 20;
}

function summarise(mode: Row["mode"], n: number, times: number[], loops: [number, number], t0: number): Row {
  const s = [...times].sort((a, b) => a - b);
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return {
    mode,
    n,
    window: times.length,
    p50_ms: r2(pct(s, 0.5)),
    p99_ms: r2(pct(s, 0.99)),
    max_ms: r2(s[s.length - 1]),
    rss_mb: Math.round(rssMb()),
    loops_true: loops[0],
    loops_false: loops[1],
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/** Dense loop stage at session size n (prior-seeded, the last `window` keyframes timed). */
async function runDense(n: number, window: number, dim: number): Promise<Row[]> {
  const t0 = performance.now();
  const P = n - window;
  const prior: { placeId: number; descriptor?: Float32Array }[] = [];
  for (let i = 0; i < P; i++) prior.push({ placeId: i, descriptor: placeVector(i, dim) });
  const runner = createStageRunner(loopStage({ prior }));
  for (const p of prior) delete p.descriptor; // the stage holds its own rows now
  const times: number[] = [], loops: [number, number] = [0, 0];
  for (let t = 0; t < window; t++) {
    const { v, place } = keyframe(P + t, [n], window, dim);
    const a = performance.now();
    const out = await runner.push(work(t, v));
    times.push(performance.now() - a);
    if (out.error) throw new Error(out.error.message);
    if (out.loop) loops[out.loop.match.placeId === place ? 0 : 1]++; // prior place id i views place i
  }
  const row = summarise("dense", n, times, loops, t0);
  runner.close();
  return [row];
}

/**
 * A real session with the pipeline's `auto` settings (`eager`: the index from the first keyframe on, as
 * `auto` did before the lazy fill; `index`: the index answers from the first keyframe, no dense phase); a row
 * per checkpoint.
 */
async function runAuto(mode: "auto" | "eager" | "index", checkpoints: number[], window: number, dim: number) {
  const t0 = performance.now();
  const runner = createStageRunner(
    loopStage(
      mode === "index" ? { index: () => new HnswIndex(dim, SESSION_HNSW), denseLimit: 0 } : {
        // As the pipeline: created with the capacity the stage asks for (no doubling around the switch).
        index: (capacity) => new HnswIndex(dim, { ...SESSION_HNSW, maxElements: capacity }),
        denseLimit: SESSION_DENSE_LIMIT,
        ...(mode === "eager" ? { indexFrom: 0 } : {}),
      },
    ),
  );
  const rows: Row[] = [];
  let times: number[] = [], loops: [number, number] = [0, 0], maxAll = 0;
  const slow: [number, number][] = [];
  const last = Math.max(...checkpoints);
  for (let t = 0; t < last; t++) {
    const { v, place } = keyframe(t, checkpoints, window, dim);
    const a = performance.now();
    const out = await runner.push(work(t, v));
    const dt = performance.now() - a;
    maxAll = Math.max(maxAll, dt);
    slow.push([t, dt]);
    slow.sort((x, y) => y[1] - x[1]);
    slow.length = Math.min(slow.length, 3);
    if (out.error) throw new Error(out.error.message);
    if (checkpoints.some((c) => t >= c - window && t < c)) {
      times.push(dt);
      if (out.loop) loops[placeOf(out.loop.match.placeId, checkpoints, window) === place ? 0 : 1]++;
    }
    if (checkpoints.includes(t + 1)) {
      const row = summarise(mode, t + 1, times, loops, t0);
      row.max_all_ms = Math.round(maxAll * 100) / 100;
      row.slowest = slow.map(([k, ms]) => `${k}:${Math.round(ms)}`);
      rows.push(row);
      console.error(JSON.stringify(row));
      times = [];
      loops = [0, 0];
    }
  }
  runner.close();
  return rows;
}

/** Startup of a session extending a prior of `P` keyframes, with or without the saved index (see the doc). */
async function runPrior(
  mode: "prior-fresh" | "prior-reuse",
  P: number,
  path: string,
  window: number,
  dim: number,
) {
  const prior: { placeId: number; descriptor: Float32Array }[] = [];
  for (let i = 0; i < P; i++) prior.push({ placeId: i, descriptor: placeVector(i, dim) });
  const t0 = performance.now();
  let loadMs: number | undefined;
  let index = (capacity: number) => new HnswIndex(dim, { ...SESSION_HNSW, maxElements: capacity });
  if (mode === "prior-reuse") {
    const loaded = await HnswIndex.load(path);
    loadMs = performance.now() - t0;
    loaded.efSearch = SESSION_HNSW.efSearch!;
    index = () => loaded;
  }
  const s0 = performance.now();
  const runner = createStageRunner(loopStage({ prior, index, denseLimit: SESSION_DENSE_LIMIT }));
  const times: number[] = [], loops: [number, number] = [0, 0];
  let startup = 0;
  for (let t = 0; t < window; t++) {
    const { v, place } = keyframe(P + t, [P + window], window, dim);
    const a = performance.now();
    const out = await runner.push(work(t, v));
    const dt = performance.now() - a;
    if (out.error) throw new Error(out.error.message);
    if (t === 0) startup = performance.now() - s0;
    else times.push(dt);
    if (out.loop) loops[out.loop.match.placeId === place ? 0 : 1]++;
  }
  const row = summarise(mode, P, times, loops, t0);
  row.startup_ms = Math.round(startup);
  if (loadMs !== undefined) row.load_ms = Math.round(loadMs);
  runner.close();
  return [row];
}

/**
 * End-of-run compaction of a first session of `P` keyframes (`waymark slam`): the journal folded into a new
 * map whose index is the session's (reused) or rebuilt from descriptors.f32 with the map defaults.
 */
async function runCompact(P: number, dim: number): Promise<void> {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/a`);
    const journal = await KeyframeJournal.open(`${root}/a/journal.wal`, {
      dim,
      modelId: "scale",
      fsync: "never",
    });
    // The session index as the pipeline builds it over the run (here at once; not part of the compaction).
    const b0 = performance.now();
    const session = new HnswIndex(dim, { ...SESSION_HNSW, maxElements: P });
    for (let i = 0; i < P; i++) {
      const v = placeVector(i, dim);
      await journal.append({ placeId: i, stamp: i, meta: {}, descriptor: v });
      session.add(i, v);
    }
    await journal.close();
    const buildS = (performance.now() - b0) / 1000;
    await Deno.mkdir(`${root}/b`);
    await Deno.copyFile(`${root}/a/journal.wal`, `${root}/b/journal.wal`);
    const model = { name: "scale", id: "scale", dim, bundled: false };
    const c0 = performance.now();
    const reused = await compactMap(`${root}/a`, {
      model,
      reuseIndex: session,
      onNotice: (m) => console.error(m),
    });
    const reuseS = (performance.now() - c0) / 1000;
    const c1 = performance.now();
    await compactMap(`${root}/b`, { model });
    const rebuildS = (performance.now() - c1) / 1000;
    // Quality of the two maps' indexes on revisit queries: the true place first, and recall of the exact top 10
    // (random places: ranks 2..10 are near-ties, so the two graphs' top 10 differ there by chance).
    const [a, b] = await Promise.all([readMapIndex(`${root}/a`), readMapIndex(`${root}/b`)]);
    const all = new Float32Array(P * dim);
    for (let i = 0; i < P; i++) placeVector(i, dim, all.subarray(i * dim, (i + 1) * dim));
    const hits = [0, 0], recall = [0, 0], Q = 50;
    for (let q = 0; q < Q; q++) {
      const place = Math.floor((q * P) / Q), query = revisitVector(place, 1, dim);
      const sims = new Float32Array(P);
      for (let i = 0; i < P; i++) {
        let d = 0;
        for (let k = 0, o = i * dim; k < dim; k++) d += query[k] * all[o + k];
        sims[i] = d;
      }
      const exact = new Set([...sims.keys()].sort((x, y) => sims[y] - sims[x]).slice(0, 10));
      [a, b].forEach((ix, m) => {
        const top = ix.search(query, 10).map((h) => h.id);
        if (top[0] === place) hits[m]++;
        recall[m] += top.filter((id) => exact.has(id)).length / 10 / Q;
      });
    }
    const row = {
      mode: "compact",
      places: P,
      index_reused: reused.indexReused,
      session_index_build_s: Math.round(buildS * 10) / 10,
      compact_reuse_s: Math.round(reuseS * 10) / 10,
      compact_rebuild_s: Math.round(rebuildS * 10) / 10,
      top1_true_reuse: hits[0] / Q,
      top1_true_rebuild: hits[1] / Q,
      recall10_reuse: Math.round(recall[0] * 1000) / 1000,
      recall10_rebuild: Math.round(recall[1] * 1000) / 1000,
    };
    console.log(JSON.stringify(row));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

/** A saved map's HNSW index (no model needed). */
async function readMapIndex(dir: string): Promise<HnswIndex> {
  return await HnswIndex.load(`${dir}/index.hnsw`);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      n: { type: "string", default: "2000,10000,20000" },
      dim: { type: "string", default: "8192" },
      window: { type: "string", default: "100" },
      modes: { type: "string", default: "dense,index" },
      prior: { type: "string", default: "6000" },
      "prior-index": { type: "string" },
      child: { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  const ns = values.n.split(",").map(Number), dim = Number(values.dim), window = Number(values.window);
  if (ns.some((n) => !Number.isInteger(n) || n <= window + 20) || !(dim > 0) || !(window >= 10)) {
    throw new Error(
      `slam_scale: --n must be integers above --window + 20 (${values.n}), --dim and --window positive`,
    );
  }
  const P = Number(values.prior);
  if (!Number.isInteger(P) || P < 1) throw new Error(`slam_scale: --prior must be a positive integer`);
  if (values.modes === "compact") await runCompact(P, dim);
  else if (values.child) {
    const c = values.child;
    const rows = c === "dense"
      ? await runDense(ns[0], window, dim)
      : c === "prior-fresh" || c === "prior-reuse"
      ? await runPrior(c, P, values["prior-index"]!, window, dim)
      : await runAuto(c as "auto" | "eager" | "index", ns, window, dim);
    console.log(JSON.stringify(rows));
  } else {
    // One process per measurement, so that each RSS is that configuration's alone.
    const jobs: { mode: string; n: string }[] = [];
    const modes = values.modes.split(",");
    if (modes.includes("dense")) { for (const n of ns) jobs.push({ mode: "dense", n: String(n) }); }
    if (modes.includes("index")) jobs.push({ mode: "index", n: ns.join(",") });
    for (const m of ["auto", "eager"]) if (modes.includes(m)) jobs.push({ mode: m, n: ns.join(",") });
    let priorDir: string | undefined;
    if (modes.includes("prior")) {
      // The saved map's index: the map defaults (efConstruction 200), as a map build or compaction writes it.
      priorDir = await Deno.makeTempDir();
      const b0 = performance.now();
      const saved = new HnswIndex(dim, { ...HNSW_DEFAULTS, maxElements: P });
      for (let i = 0; i < P; i++) saved.add(i, placeVector(i, dim));
      await saved.save(`${priorDir}/index.hnsw`);
      console.error(
        `slam_scale: prior index of ${P} built and saved in ${
          ((performance.now() - b0) / 1000).toFixed(1)
        } s`,
      );
      jobs.push({ mode: "prior-fresh", n: ns.join(",") }, { mode: "prior-reuse", n: ns.join(",") });
    }
    const rows: Row[] = [];
    for (const job of jobs) {
      const args = [
        "run",
        "-A",
        "--v8-flags=--expose-gc",
        fileURLToPath(import.meta.url),
        "--child",
        job.mode,
      ];
      args.push("--n", job.n, "--dim", String(dim), "--window", String(window), "--prior", String(P));
      if (priorDir) args.push("--prior-index", `${priorDir}/index.hnsw`);
      const out = await new Deno.Command(Deno.execPath(), { args, stderr: "inherit" }).output();
      if (!out.success) throw new Error(`slam_scale: ${job.mode} at ${job.n} failed`);
      const got: Row[] = JSON.parse(new TextDecoder().decode(out.stdout));
      rows.push(...got);
      if (!values.json) { for (const r of got) console.error(JSON.stringify(r)); }
    }
    if (priorDir) await Deno.remove(priorDir, { recursive: true });
    if (values.json) console.log(JSON.stringify(rows, null, 2));
    else {
      console.log(
        "mode         N      p50 ms  p99 ms  max ms  RSS MB  loops ok/wrong  (window)  s      extra",
      );
      for (const r of rows) {
        const extra = [
          r.max_all_ms !== undefined ? `max over run ${r.max_all_ms} ms` : "",
          r.slowest ? `slowest keyframe:ms ${r.slowest.join(" ")}` : "",
          r.load_ms !== undefined ? `load ${r.load_ms} ms` : "",
          r.startup_ms !== undefined ? `startup+1st keyframe ${r.startup_ms} ms` : "",
        ].filter((x) => x).join(", ");
        console.log(
          `${r.mode.padEnd(12)} ${String(r.n).padEnd(6)} ${String(r.p50_ms).padStart(6)}  ${
            String(r.p99_ms).padStart(6)
          }  ${String(r.max_ms).padStart(6)}  ${String(r.rss_mb).padStart(6)}  ${
            `${r.loops_true}/${r.loops_false}`.padStart(14)
          }  ${String(r.window).padStart(8)}  ${String(r.seconds).padEnd(6)} ${extra}`,
        );
      }
    }
  }
}
