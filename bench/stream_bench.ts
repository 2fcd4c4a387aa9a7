/**
 * Streaming benchmark (issue 3, speed and robustness): 640x480 JPEG frames of the simulated camera replayed at
 * 30 fps through the live pipeline (decode -> keyframes -> generic model -> exact index top-k -> place filter ->
 * loop detector), verification off, against a map of another traversal of the same loop.
 *
 * - `stream/replay_*`: received, processed and dropped frames and the p50/p99 latency from a frame entering
 *   the pipeline to its estimate leaving it (targets: 0 dropped, p99 <= 50 ms on the 2-core CPU), and
 *   `stream/replay_stage_<stage>_p50` (p90, p99 in the note): where the time goes, from the pipeline's
 *   `onTiming` (`wait` = waiting for the backpressure gate).
 * - `stream/soak_*`: the same replay for `soakMinutes` (default 10, env `WAYMARK_SOAK_MINUTES`), resident
 *   memory growth from the end of the warm-up (the first 10% of the soak, at least 10 s) to the end (target
 *   < 50 MB), with the soak's drops and p99.
 *
 * Run alone: `deno run -A bench/stream_bench.ts` (about 30 s plus the soak; `WAYMARK_REPLAY_SECONDS` changes
 * the replay's 20 s). Frames come from the simulator: no shared data needed.
 * @module
 */
import { Subject } from "rxjs";
import type { BenchResult } from "./_types.ts";
import { summarize } from "./_stats.ts";
import { BruteForceIndex } from "../src/index/brute_force_index.ts";
import { createSimulator } from "../src/io/simulator/simulator.ts";
import { encodeImage } from "../src/io/simulator/encode.ts";
import { loadGenericModel } from "../src/model/generic_model.ts";
import { localize } from "../src/pipeline/localize_pipeline.ts";
import type { PlaceMap } from "../src/pipeline/search_stage.ts";
import { decodeImage } from "../src/image/decode.ts";
import type { CameraFrame, DescriptorModel, StatsEvent } from "../src/types.ts";

/** Options of {@link bench}. */
export interface StreamBenchOptions {
  /** Frames per traversal of the simulated loop (map and replayed frames). Default 120. */
  frames?: number;
  /** Replay rate, frames per second. Default 30. */
  fps?: number;
  /** Length of the latency replay, seconds. Default 20. */
  replaySeconds?: number;
  /** Soak length in minutes (0 skips). Default `WAYMARK_SOAK_MINUTES`, else 10. */
  soakMinutes?: number;
  /** Progress lines on stderr. Default true when run alone. */
  verbose?: boolean;
}

interface RunResult {
  stats: StatsEvent;
  latencies: number[];
  /** Keyframes of the run that joined the session map (not explained by the map). */
  sessionKeyframes: number;
  /** Per-stage times (ms) of every frame, `wait` = waiting for the gate. */
  stages: Map<string, number[]>;
  rss: { t: number; bytes: number }[];
}

/** Replay `jpegs` cyclically at `fps` for `seconds` through the pipeline; sample RSS every second. */
async function replay(
  model: DescriptorModel,
  map: PlaceMap,
  jpegs: Uint8Array[],
  fps: number,
  seconds: number,
  log: (m: string) => void,
): Promise<RunResult> {
  const frames$ = new Subject<CameraFrame>();
  const stages = new Map<string, number[]>();
  let sessionKeyframes = 0;
  const put = (name: string, ms: number) => {
    let a = stages.get(name);
    if (!a) stages.set(name, a = []);
    a.push(ms);
  };
  const { events$ } = localize(frames$, {
    model,
    map,
    loops: true,
    onKeyframe: () => void sessionKeyframes++,
    onTiming: (t) => {
      put("wait", t.waitMs);
      for (const [name, ms] of Object.entries(t.stages)) put(name, ms);
    },
  });
  const latencies: number[] = [];
  const rss: { t: number; bytes: number }[] = [];
  let last: StatsEvent | null = null;
  const done = new Promise<void>((resolve, reject) =>
    events$.subscribe({
      next: (e) => {
        if (e.kind === "estimate") latencies.push(e.latencyMs);
        else if (e.kind === "stats") {
          last = e;
          rss.push({ t: performance.now(), bytes: Deno.memoryUsage().rss });
          if (rss.length % 30 === 0) {
            log(
              `  ${rss.length} s: received ${e.received} dropped ${e.dropped} rss ${
                (rss.at(-1)!.bytes / 2 ** 20).toFixed(0)
              } MB`,
            );
          }
        }
      },
      error: reject,
      complete: resolve,
    })
  );
  const total = Math.round(seconds * fps);
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / fps; // drift-free schedule; a late frame goes at once
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    frames$.next({
      seq: i,
      stamp: due / 1000,
      frameId: "bench",
      image: { kind: "encoded", format: "jpeg", data: jpegs[i % jpegs.length] },
    });
  }
  frames$.complete();
  await done;
  return { stats: last!, latencies, rss, stages, sessionKeyframes };
}

/** Run the streaming benchmark (see the module doc). */
export async function bench(options: StreamBenchOptions = {}): Promise<BenchResult[]> {
  const frames = options.frames ?? 120;
  const fps = options.fps ?? 30;
  const envReplay = Deno.env.get("WAYMARK_REPLAY_SECONDS");
  const replaySeconds = options.replaySeconds ?? (envReplay !== undefined ? Number(envReplay) : 20);
  if (!(replaySeconds > 0)) throw new Error(`stream bench: replay seconds must be > 0, got ${envReplay}`);
  const envSoak = Deno.env.get("WAYMARK_SOAK_MINUTES");
  const soakMinutes = options.soakMinutes ?? (envSoak !== undefined ? Number(envSoak) : 10);
  if (!(soakMinutes >= 0)) throw new Error(`stream bench: soak minutes must be >= 0, got ${envSoak}`);
  const log = options.verbose ? (m: string) => console.error(m) : () => {};

  // Two traversals of the same loop: the first is the map, the second (other noise and jitter) the camera.
  const sim = createSimulator({ seed: 11, width: 640, height: 480, frames });
  const model = await loadGenericModel({ provider: "cpu" });
  const index = new BruteForceIndex(model.info.descriptorDim);
  const descriptors = new Float32Array(frames * model.info.descriptorDim);
  const places = [];
  const mapPoses = sim.path({ index: 0 });
  for (let i = 0; i < mapPoses.length; i++) {
    const jpeg = await encodeImage(sim.render(mapPoses[i]), "jpeg", 85);
    const px = await decodeImage(jpeg, { channels: model.info.inputChannels });
    const d = (await model.describe(px)).global;
    index.add(i, d);
    descriptors.set(d, i * d.length);
    places.push({ placeId: i, image: `sim/t0_${i}`, position: { x: mapPoses[i].x, y: mapPoses[i].y } });
  }
  const map: PlaceMap = { index, places, descriptors };
  const jpegs: Uint8Array[] = [];
  for (const pose of sim.path({ index: 1 })) {
    jpegs.push(await encodeImage(sim.render(pose, { noiseSeed: pose.seq }), "jpeg", 85));
  }
  const kb = jpegs.reduce((s, j) => s + j.length, 0) / jpegs.length / 1024;
  log(
    `stream bench: map of ${frames} places; replaying ${jpegs.length} JPEGs (${
      kb.toFixed(0)
    } KB avg) at ${fps} fps`,
  );

  const results: BenchResult[] = [];
  const note = `640x480 JPEG (${kb.toFixed(0)} KB) at ${fps} fps, verification off, generic model on CPU, ` +
    `map ${frames} places (exact index), ${navigator.hardwareConcurrency} cores`;
  try {
    const r = await replay(model, map, jpegs, fps, replaySeconds, log);
    const lat = summarize(r.latencies);
    results.push(
      {
        name: "stream/replay_received",
        value: r.stats.received,
        unit: "frames",
        note: `${replaySeconds} s; ${note}`,
      },
      { name: "stream/replay_processed", value: r.stats.processed, unit: "frames" },
      { name: "stream/replay_dropped", value: r.stats.dropped, unit: "frames", note: "target 0" },
      { name: "stream/replay_latency_p50", value: lat.p50, unit: "ms", note: "frame in to estimate out" },
      { name: "stream/replay_latency_p99", value: lat.p99, unit: "ms", note: "target <= 50 ms" },
    );
    for (const [name, ms] of r.stages) {
      const st = summarize(ms);
      results.push({
        name: `stream/replay_stage_${name}_p50`,
        value: st.p50,
        unit: "ms",
        note: `p90 ${st.p90.toFixed(1)} ms, p99 ${st.p99.toFixed(1)} ms`,
      });
    }
    log(
      `replay: received ${r.stats.received} processed ${r.stats.processed} dropped ${r.stats.dropped} ` +
        `p50 ${lat.p50.toFixed(1)} ms p99 ${lat.p99.toFixed(1)} ms; stages p50/p99 ms: ` +
        [...r.stages].map(([n, ms]) => {
          const st = summarize(ms);
          return `${n} ${st.p50.toFixed(1)}/${st.p99.toFixed(1)}`;
        }).join(", "),
    );
    if (soakMinutes > 0) {
      const seconds = soakMinutes * 60;
      log(`soak: ${soakMinutes} min at ${fps} fps`);
      const s = await replay(model, map, jpegs, fps, seconds, log);
      const warmEnd = s.rss[0].t + Math.max(10, seconds * 0.1) * 1000;
      const warm = s.rss.find((x) => x.t >= warmEnd) ?? s.rss[0];
      const peakAfter = Math.max(...s.rss.filter((x) => x.t >= warm.t).map((x) => x.bytes));
      const end = s.rss.at(-1)!;
      const mb = (b: number) => b / 2 ** 20;
      const slat = summarize(s.latencies);
      results.push(
        {
          name: "stream/soak_rss_growth",
          value: mb(end.bytes - warm.bytes),
          unit: "MB",
          note: `${soakMinutes} min; resident memory at the end minus after warm-up (${
            mb(warm.bytes).toFixed(0)
          } MB); peak after warm-up ${mb(peakAfter).toFixed(0)} MB; target < 50 MB`,
        },
        {
          name: "stream/soak_dropped",
          value: s.stats.dropped,
          unit: "frames",
          note: `of ${s.stats.received}`,
        },
        { name: "stream/soak_latency_p99", value: slat.p99, unit: "ms" },
        {
          name: "stream/soak_session_keyframes",
          value: s.sessionKeyframes,
          unit: "keyframes",
          note: "joined the bounded session map (not explained by the map; at most 512 kept)",
        },
      );
      log(
        `soak: rss growth ${
          mb(end.bytes - warm.bytes).toFixed(1)
        } MB, dropped ${s.stats.dropped}/${s.stats.received}, ` +
          `p99 ${slat.p99.toFixed(1)} ms, ${s.sessionKeyframes} session keyframes`,
      );
    }
  } finally {
    await model.close();
  }
  return results;
}

if (import.meta.main) {
  for (const r of await bench({ verbose: true })) {
    console.log(
      `${r.name.padEnd(28)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${r.note ? `  (${r.note})` : ""}`,
    );
  }
}
