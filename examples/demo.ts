/**
 * Waymark demo: live visual localization from a WebSocket camera.
 *
 *   1. Render two traversals of a simulated indoor loop (`src/io/simulator/`), the second under other lighting.
 *   2. Build a map from the first traversal with the shipped generic model (cached under `.waymark-cache/`).
 *   3. Serve the second traversal as a local WebSocket camera (binary JPEG frames at 10 fps).
 *   4. Run the live pipeline on that camera, with geometric verification on: print estimates and verified loop
 *      closures, and serve every event on a WebSocket server (connect to the printed URL to watch them).
 *   5. Print a summary against the simulator's ground truth.
 *
 * Run: `deno task demo` (options: --frames N per traversal, --fps F, --size WxH, --cache DIR, --seed S).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { take } from "rxjs";
import { WebSocketServer } from "ws";
import { exportSimDataset } from "../src/io/simulator/export.ts";
import { websocketSource } from "../src/io/websocket_source.ts";
import { WebSocketSink } from "../src/io/websocket_sink.ts";
import { buildMap } from "../src/map/build_map.ts";
import { type LoadedMap, loadMap } from "../src/map/map_loader.ts";
import { GENERIC_MODEL_URL, readGenericModelBundle } from "../src/model/generic_model.ts";
import { createGeometricVerifier } from "../src/pipeline/geometric_verifier.ts";
import { localize } from "../src/pipeline/localize_pipeline.ts";
import type { Position, WaymarkEvent } from "../src/types.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    frames: { type: "string", default: "150" },
    fps: { type: "string", default: "10" },
    size: { type: "string", default: "320x240" },
    seed: { type: "string", default: "7" },
    cache: { type: "string", default: ".waymark-cache" },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(`deno task demo [-- options]

Simulated camera -> map of traversal 1 (cached) -> traversal 2 served as a WebSocket camera -> the live
pipeline with keyframe verification -> estimates and loop closures printed and served on a WebSocket.

Options:
  --frames N     frames per traversal                      default 150
  --fps F        camera frame rate                         default 10
  --size WxH     image size                                default 320x240
  --seed S       simulator seed                            default 7
  --cache DIR    where the rendered dataset and map are kept  default .waymark-cache
  -h, --help     this help`);
  Deno.exit(0);
}
const frames = Number(values.frames), fps = Number(values.fps), seed = Number(values.seed);
const [width, height] = values.size!.split("x").map(Number);
if (!(frames >= 20 && fps > 0 && width >= 64 && height >= 48)) {
  console.error("demo: --frames >= 20, --fps > 0 and --size of at least 64x48 are required");
  Deno.exit(2);
}
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- 1-2. the map (cached)

const cacheDir = `${values.cache}/demo-v2-${width}x${height}-${frames}-s${seed}`;
const datasetDir = `${cacheDir}/dataset`, mapDir = `${cacheDir}/map`;

/** The shipped generic model's id (its ONNX sha256): a cached map built with another model is stale. */
async function genericModelId(): Promise<string> {
  return (await readGenericModelBundle()).manifest.sha256;
}

async function prepareMap(): Promise<LoadedMap> {
  try {
    const map = await loadMap(mapDir, { provider: "cpu" });
    if (map.model.info.id === await genericModelId()) {
      console.log(`map: ${map.places.length} places from the cache (${mapDir})`);
      return map;
    }
    await map.model.close();
    console.log("map: the cached map was built with another generic model; rebuilding it");
  } catch { /* not cached yet (or unreadable): build it */ }
  console.log(`rendering 2 traversals of ${frames} frames (${width}x${height}) ...`);
  await exportSimDataset(datasetDir, {
    width,
    height,
    frames,
    traversals: 2,
    seed,
    condition: "lighting",
    overwrite: true,
  });
  console.log(`building the map of traversal 1 with the generic model ...`);
  await buildMap(datasetDir, mapDir, {
    modelDir: new URL(".", GENERIC_MODEL_URL).pathname,
    index: "exact",
    provider: "cpu",
    // The demo's own cache folder: a stale map of its own is replaced (written beside it, then renamed).
    replace: true,
    onWarning: (w) => console.warn(`demo: ${w}`),
  });
  const map = await loadMap(mapDir, { provider: "cpu" });
  console.log(`map: ${map.places.length} places built in ${elapsed()} (cached in ${mapDir})`);
  return map;
}

/** The second traversal: JPEG bytes and true positions, from the exported queries.csv. */
async function readQueries(): Promise<{ jpeg: Uint8Array; position: Position }[]> {
  const lines = (await Deno.readTextFile(`${datasetDir}/queries.csv`)).trim().split("\n").slice(1);
  return await Promise.all(lines.map(async (line) => {
    const [image, , x, y] = line.split(",");
    return { jpeg: await Deno.readFile(`${datasetDir}/${image}`), position: { x: Number(x), y: Number(y) } };
  }));
}

const map = await prepareMap();
const queries = await readQueries();

// ---------------------------------------------------------------- 3. the WebSocket camera

const camera = new WebSocketServer({ host: "127.0.0.1", port: 0 });
await new Promise<void>((resolve) => camera.once("listening", () => resolve()));
const cameraUrl = `ws://127.0.0.1:${(camera.address() as { port: number }).port}/camera`;
let sendTimer: ReturnType<typeof setInterval> | undefined;
camera.on("connection", (ws: { send(data: Uint8Array, o: { binary: boolean }): void }) => {
  if (sendTimer) return; // one traversal, to the first client
  let i = 0;
  sendTimer = setInterval(() => {
    if (i >= queries.length) return clearInterval(sendTimer);
    ws.send(queries[i++].jpeg, { binary: true });
  }, 1000 / fps);
});
console.log(`camera: serving ${queries.length} JPEG frames at ${fps} fps on ${cameraUrl}`);

// ---------------------------------------------------------------- 4. the live pipeline

const placePosition = new Map(map.places.map((p) => [p.placeId, p.position]));
const verifier = createGeometricVerifier({
  mapFeatures: map.localFeatures, // stored in the map at build time; the images below are the fallback
  mapImage: async (placeId) => {
    const image = map.places.find((p) => p.placeId === placeId)?.image;
    if (!image) return undefined;
    const { decodeImage } = await import("../src/image/decode.ts");
    return await decodeImage(await Deno.readFile(`${datasetDir}/${image}`), { channels: 1 });
  },
});
const source = websocketSource(cameraUrl);
const { events$ } = localize(source.frames().pipe(take(queries.length)), {
  model: map.model,
  map,
  verifier,
});
const output = await WebSocketSink.listen({ host: "127.0.0.1", port: 0 });
const served = output.attach(events$);
console.log(`events: serving every event as JSON on ${output.url}`);

const summary = {
  estimates: 0,
  localized: 0,
  correct: 0,
  loops: 0,
  verifiedLoops: 0,
  correctLoops: 0,
  dropped: 0,
  errors: 0,
};
const seqOfStamp = new Map<number, number>(); // frames of this run (a loop may match one of them)
let lastPrint = 0;
const onEvent = (e: WaymarkEvent) => {
  switch (e.kind) {
    case "estimate": {
      const s = e.estimate;
      summary.estimates++;
      seqOfStamp.set(s.stamp, s.seq);
      const truth = queries[s.seq]?.position;
      const at = s.placeId != null ? placePosition.get(s.placeId) : undefined;
      const correct = truth && at ? Math.hypot(truth.x - at.x, truth.y - at.y) <= 2.5 : false;
      if (s.status === "localized") {
        summary.localized++;
        if (correct) summary.correct++;
      }
      if (performance.now() - lastPrint >= 1000) { // at most one estimate line a second
        lastPrint = performance.now();
        console.log(
          `frame ${String(s.seq).padStart(3)}  ${s.status.padEnd(9)} place ${
            String(s.placeId ?? "-").padStart(3)
          }` +
            `  confidence ${s.confidence.toFixed(2)}  ${correct ? "correct" : "wrong  "}  ${
              e.latencyMs.toFixed(0)
            } ms`,
        );
      }
      break;
    }
    case "loop": {
      summary.loops++;
      if (e.inliers !== undefined) summary.verifiedLoops++;
      // The match is a map place, or a keyframe of this run (ids after the map's).
      const ofRun = e.match.placeId >= map.places.length;
      const matchSeq = ofRun && e.match.stamp !== undefined ? seqOfStamp.get(e.match.stamp) : undefined;
      const at = ofRun ? queries[matchSeq ?? -1]?.position : placePosition.get(e.match.placeId);
      const truth = queries[e.query.seq]?.position;
      const off = truth && at ? Math.hypot(truth.x - at.x, truth.y - at.y) : NaN;
      const correct = off <= 2.5;
      if (correct) summary.correctLoops++;
      console.log(
        `LOOP frame ${e.query.seq} -> ${
          ofRun ? `frame ${matchSeq} of this run` : `map place ${e.match.placeId}`
        }` +
          `  confidence ${e.confidence.toFixed(2)}  ` +
          (e.inliers !== undefined ? `VERIFIED (${e.inliers} inliers)` : "(not verifiable)") +
          `  ${correct ? "correct" : Number.isFinite(off) ? `wrong (${off.toFixed(1)} m away)` : "wrong"}`,
      );
      break;
    }
    case "stats":
      summary.dropped = e.dropped;
      summary.errors = e.errors;
      break;
    case "error":
      console.log(`error: ${e.message}`);
      break;
    default:
  }
};
await new Promise<void>((resolve, reject) =>
  events$.subscribe({ next: onEvent, error: reject, complete: resolve })
);

// ---------------------------------------------------------------- 5. summary

served.unsubscribe();
clearInterval(sendTimer);
await source.close();
await output.close();
for (const ws of camera.clients) ws.terminate();
await new Promise((resolve) => camera.close(resolve));
await map.model.close();

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(0)}%` : "n/a");
console.log(`
summary
  frames        ${queries.length} sent, ${summary.estimates} estimated, ${summary.dropped} dropped (latest-wins)
  localized     ${summary.localized} (${pct(summary.localized, summary.estimates)} of estimates)
  correct       ${summary.correct} (${pct(summary.correct, summary.localized)} of localized, within 2.5 m)
  loop closures ${summary.loops} (${summary.verifiedLoops} verified, ${summary.correctLoops} correct)
  errors        ${summary.errors}
  time          ${elapsed()}`);
Deno.exit(summary.estimates > 0 ? 0 : 1);
