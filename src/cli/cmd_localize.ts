/**
 * `waymark localize --map <dir> --source <spec>`: live localization against a prior map, with the events
 * served to downstream clients (WebSocket server, rosbridge topics, JSON-lines file).
 * @module
 */
import { type Observable, share, type Subscription, tap } from "rxjs";
import { invalid } from "../errors.ts";
import { JsonlSink } from "../io/jsonl_sink.ts";
import { openFrameSource, type OpenFrameSourceOptions } from "../io/open_source.ts";
import type { BackpressurePolicy } from "../pipeline/backpressure.ts";
import { RosbridgeSink, type RosbridgeSinkOptions } from "../io/rosbridge_sink.ts";
import { parsePublishUrl, WebSocketSink } from "../io/websocket_sink.ts";
import { loadMap } from "../map/map_loader.ts";
import { fleetMapView } from "../map/map_fleet.ts";
import { closeCliFleet, openCliFleet, robotWithoutFleet } from "./_fleet.ts";
import { fullScanScanner } from "../pipeline/search_stage.ts";
import { localize } from "../pipeline/localize_pipeline.ts";
import { withSourceEvents } from "../pipeline/with_source.ts";
import { loadPipelineVerifier } from "../pipeline/verifier_loader.ts";
import type { WaymarkEvent } from "../types.ts";
import { EXIT_OK, intOption, parseCommand, providerOption } from "./_common.ts";
import { describeRate, sourceOptions, streamPolicy } from "./_replay_options.ts";
import { RunSummary } from "./_run_summary.ts";
import { StampBook, TumSink } from "../io/tum_sink.ts";
import { LoopsSink } from "../io/loops_sink.ts";
import { openFoxglove } from "./_foxglove.ts";
import {
  ROS_OPTIONS,
  ROS_SOURCE_HELP,
  rosbridgeSourceOptions,
  type RosOptionValues,
  rosPublishUrl,
  rosSinkOptions,
  withOptionalRosPublish,
} from "./_ros_options.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "live localization against a map from a camera source; events to WebSocket/rosbridge/JSONL";

const HELP = `waymark localize --map <dir> --source <spec> [options]

Run the live pipeline (decode, keyframes, global descriptor, index top-k, temporal place filter, loop
closures, optional verification) on frames from --source, against the map in --map. Prints estimates
(at most --print-hz lines a second, plus every status change), loop closures and errors; serves every event.
Stops when the source ends or on Ctrl-C.

Sources (--source):
  ws://host:port/path              a WebSocket camera (binary JPEG/PNG or JSON envelopes)
  rosbridge://host:port/topic      a rosbridge topic (sensor_msgs/Image or CompressedImage)
  dataset:<dir>[#list]             replay a dataset list at its recorded rate; list: #queries,
                                   #database, #sequence or #folder (default: the first found)
  bag:<file.bag>[#topic]           replay a ROS 1 bag's image topic (the only one when omitted)
  mcap:<file.mcap>[#topic]         replay an MCAP image topic (sensor_msgs ros1/cdr, foxglove.CompressedImage)
  sim                              the simulated camera

Options:
  --map DIR            the map (built with 'waymark map build' or 'waymark slam')           required
  --source SPEC         see above                                                            required
  --publish URL        serve events on a WebSocket server, e.g. ws://127.0.0.1:8765 (port 0: any free;
                       ws://[::1]:PORT for IPv6); an interface that is not loopback needs a token
  --token T            bearer token clients must present to --publish (visible in the process list:
                       prefer --token-file or the WAYMARK_TOKEN environment variable)
  --token-file FILE    read the token from FILE (first line)
  --allow-origin O     let web pages from origin O (e.g. http://localhost:3000; * any) connect to
                       --publish; repeatable. Default: no web page (programs send no Origin)
  --ros-publish [URL]  publish events (std_msgs/String) and poses to rosbridge (no URL: the source's bridge;
                       see README "Use with ROS")
  --jsonl FILE         append every event as one JSON line
  --tum FILE           write the estimates with a position as a TUM trajectory (exact stamps for bag:/mcap:)
  --loops-csv FILE     write loop closures with both stamps (CSV; JSON lines when FILE ends in .jsonl)
  --foxglove URL       serve a Foxglove live view (camera, estimates, loops, map scene) on URL, e.g.
                       ws://127.0.0.1:8765; not loopback: needs the WAYMARK_TOKEN environment variable
  --backpressure P     latest | drop-newest[:N] | queue:N             default latest (queue with --rate max)
  --rate R             replayed sources: recorded | max | Nx (N times recorded) | frames/s  default recorded
  --top-k K            map candidates per frame                                             default 50
  --full-scan N        maps of up to N places: every keyframe is compared with every place and the
                       filter observes the whole map; above, the index's top-k (0: off, except maps
                       of up to 256 places)                   default 8388608 / dim (1024 places at 8192-d)
  --no-loops           do not detect loop closures
  --verify             geometric verification off the fast path (DELF-style)
  --provider P         auto | cpu | cuda                                                    default auto
  --print-hz N         estimate lines per second on stdout (0: none)                       default 5
  --robot ID           a fleet map (built with --index pglite:|postgres://): the robot whose local cache
                       of the shared table answers (never waiting on the network)  default: the map's builder
  -h, --help           this help

${ROS_SOURCE_HELP}
`;

/** Sinks a streaming command serves events to. */
export interface EventSinks {
  attach(events$: Observable<WaymarkEvent>): Subscription[];
  close(): Promise<void>;
  describe(): string[];
}

/** The event sinks a streaming command was asked for, checked (see {@link sinkSettings}). */
export interface SinkSettings {
  /** --publish: where to serve, with the token (flag, file or WAYMARK_TOKEN) and the allowed origins. */
  publish?: { host: string; port: number; token?: string; allowedOrigins: string[] };
  rosPublish?: string;
  /** Topics, frames and ROS version of the rosbridge sink (see `rosSinkOptions`). */
  rosSink?: RosbridgeSinkOptions;
  jsonl?: string;
}

/** Environment variable holding the --publish token (kept out of the process list). */
export const TOKEN_ENV = "WAYMARK_TOKEN";

/**
 * Check the sink flags before anything is loaded: the --publish URL (brackets of an IPv6 address stripped),
 * the token (--token, --token-file or WAYMARK_TOKEN; the flags only with --publish, and not both), the
 * allowed origins, and that --jsonl does not name a folder. Throws `ValidationError` (a usage error).
 */
export async function sinkSettings(
  action: string,
  v: {
    publish?: string;
    token?: string;
    "token-file"?: string;
    "allow-origin"?: string[];
    "ros-publish"?: string;
    jsonl?: string;
  },
): Promise<SinkSettings> {
  const out: SinkSettings = {};
  if (v.publish === undefined) {
    for (const f of ["token", "token-file", "allow-origin"] as const) {
      if (v[f] !== undefined && !(Array.isArray(v[f]) && v[f].length === 0)) {
        throw invalid(action, f, "given only with --publish (it configures the --publish server)", v[f]);
      }
    }
  } else {
    const { host, port } = parsePublishUrl(v.publish);
    if (v.token !== undefined && v["token-file"] !== undefined) {
      throw invalid(action, "token", "given once: --token or --token-file, not both", "both");
    }
    let token = v.token;
    if (v["token-file"] !== undefined) {
      let text: string;
      try {
        text = await Deno.readTextFile(v["token-file"]);
      } catch (err) {
        throw invalid(action, "token-file", `a readable file (${(err as Error).message})`, v["token-file"]);
      }
      token = text.split(/\r?\n/)[0].trim();
      if (token === "") {
        throw invalid(action, "token-file", "a file whose first line is the token", v["token-file"]);
      }
    }
    if (token === undefined) {
      try {
        token = Deno.env.get(TOKEN_ENV) || undefined;
      } catch { /* no env permission: no token from the environment */ }
    }
    out.publish = { host, port, allowedOrigins: v["allow-origin"] ?? [] };
    if (token !== undefined) out.publish.token = token;
  }
  if (v["ros-publish"] !== undefined) out.rosPublish = v["ros-publish"];
  if (v.jsonl !== undefined) {
    const st = await Deno.stat(v.jsonl).catch(() => null);
    if (st?.isDirectory) throw invalid(action, "jsonl", "a file to write, not a folder", v.jsonl);
    out.jsonl = v.jsonl;
  }
  return out;
}

/** The checked source and sink flags of a streaming command (see {@link streamSettings}). */
export interface StreamSettings {
  /** --backpressure, with a note when --rate max chose it. */
  policy: BackpressurePolicy;
  policyNote?: string;
  /** Options of `openFrameSource`: --rate and the rosbridge source flags. */
  source: OpenFrameSourceOptions;
  /** The sinks, --ros-publish resolved (`rosSink` is the command's to add). */
  sinks: SinkSettings;
}

/**
 * Check the flags every streaming command (`localize`, `slam`) shares, before anything is loaded: --rate and
 * --backpressure, the rosbridge source flags, and the sinks ({@link sinkSettings}, with --ros-publish).
 * Throws `ValidationError` (a usage error).
 */
export async function streamSettings(
  action: string,
  v: Parameters<typeof sinkSettings>[1] & RosOptionValues & { backpressure?: string; rate?: string },
): Promise<StreamSettings> {
  const { policy, note } = streamPolicy(v.backpressure, v.rate);
  const source = { ...sourceOptions(action, v.rate), rosbridge: rosbridgeSourceOptions(action, v) };
  const sinks = await sinkSettings(action, v);
  sinks.rosPublish = rosPublishUrl(action, v);
  return { policy, policyNote: note, source, sinks };
}

/** Open the sinks of {@link sinkSettings}; if one fails, those already open are closed. */
export async function openSinks(o: SinkSettings): Promise<EventSinks> {
  const ws: WebSocketSink[] = [], ros: RosbridgeSink[] = [], jl: JsonlSink[] = [];
  try {
    if (o.publish) ws.push(await WebSocketSink.listen(o.publish));
    if (o.rosPublish) ros.push(new RosbridgeSink(o.rosPublish, o.rosSink));
    if (o.jsonl) jl.push(await JsonlSink.open(o.jsonl));
  } catch (err) {
    for (const s of [...ws, ...ros, ...jl]) await s.close().catch(() => {});
    throw err;
  }
  return {
    attach: (events$) => [...ws, ...ros, ...jl].map((s) => s.attach(events$)),
    async close() {
      for (const s of [...ws, ...ros, ...jl]) await s.close();
    },
    describe: () => [
      ...ws.map((s) => `serving events on ${s.url}`),
      ...ros.map(() => `publishing to rosbridge ${o.rosPublish}`),
      ...jl.map(() => `writing events to ${o.jsonl}`),
    ],
  };
}

/** A compact one-line rendering of an event. */
export function formatEvent(e: WaymarkEvent): string {
  switch (e.kind) {
    case "estimate": {
      const s = e.estimate;
      const pos = s.position ? ` (${s.position.x.toFixed(1)}, ${s.position.y.toFixed(1)})` : "";
      return `#${s.seq} t=${s.stamp.toFixed(2)} ${s.status.padEnd(9)} place ${s.placeId ?? "-"}${pos} conf ${
        s.confidence.toFixed(2)
      } ${e.latencyMs.toFixed(1)} ms`;
    }
    case "loop":
      return `LOOP #${e.query.seq} -> place ${e.match.placeId}${
        e.match.image ? ` (${e.match.image})` : ""
      } conf ${e.confidence.toFixed(2)}${e.inliers !== undefined ? ` inliers ${e.inliers}` : ""}`;
    case "stats":
      return `stats received ${e.received} processed ${e.processed} dropped ${e.dropped} errors ${e.errors}${
        e.errors > 0 && e.errorsByCause
          ? ` (${Object.entries(e.errorsByCause).map(([c, n]) => `${c} ${n}`).join(", ")})`
          : ""
      }${e.lostUpstream ? ` lost upstream ${e.lostUpstream}` : ""}${
        e.latencyMs ? ` p50 ${e.latencyMs.p50.toFixed(1)} ms p99 ${e.latencyMs.p99.toFixed(1)} ms` : ""
      }`;
    case "error":
      return `${e.cause === "warning" ? "warning" : "error"} ${e.error}${
        e.seq !== undefined ? ` #${e.seq}` : ""
      }: ${e.message}`;
    case "connection":
      return `${e.source}: ${e.state}${e.attempt ? ` (attempt ${e.attempt})` : ""}`;
    case "verification":
      return `verified #${e.seq}: ${e.results.map((r) => `${r.placeId}:${r.result.inliers}`).join(" ")}`;
  }
}

/** Wait for the stream to end or for Ctrl-C; returns true when interrupted. */
export function runUntilDone(
  events$: Observable<WaymarkEvent>,
  onEvent: (e: WaymarkEvent) => void,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let sub: Subscription | null = null;
    const onSignal = () => {
      sub?.unsubscribe();
      Deno.removeSignalListener("SIGINT", onSignal);
      resolve(true);
    };
    Deno.addSignalListener("SIGINT", onSignal);
    sub = events$.subscribe({
      next: onEvent,
      error: (err) => {
        Deno.removeSignalListener("SIGINT", onSignal);
        reject(err);
      },
      complete: () => {
        Deno.removeSignalListener("SIGINT", onSignal);
        resolve(false);
      },
    });
  });
}

export { withSourceEvents } from "../pipeline/with_source.ts";

/** `parseArgs` options shared by the streaming commands (`localize`, `slam`). */
export const STREAM_OPTIONS = {
  source: { type: "string" },
  publish: { type: "string" },
  token: { type: "string" },
  "token-file": { type: "string" },
  "allow-origin": { type: "string", multiple: true },
  ...ROS_OPTIONS,
  jsonl: { type: "string" },
  backpressure: { type: "string" },
  rate: { type: "string" },
  verify: { type: "boolean", default: false },
  provider: { type: "string" },
  robot: { type: "string" },
} as const;

/** Print an event line: stats and connection changes to stderr, everything else to stdout. */
export function printEvent(e: WaymarkEvent): void {
  if (e.kind === "stats" || e.kind === "connection") console.error(formatEvent(e));
  else console.log(formatEvent(e));
}

/** Run `waymark localize`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(withOptionalRosPublish(args), {
    name: "localize",
    help: HELP,
    required: ["map", "source"],
    options: {
      ...STREAM_OPTIONS,
      map: { type: "string" },
      "top-k": { type: "string" },
      "full-scan": { type: "string" },
      "no-loops": { type: "boolean", default: false },
      "print-hz": { type: "string", default: "5" },
      tum: { type: "string" },
      "loops-csv": { type: "string" },
      foxglove: { type: "string" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const action = "localize";
  const { policy, policyNote, source: srcOptions, sinks: sinkFlags } = await streamSettings(action, values);
  const printHz = Number(values["print-hz"]);
  if (!(printHz >= 0)) throw invalid(action, "print-hz", "a number >= 0", values["print-hz"]);
  const topK = intOption(action, "top-k", values["top-k"], 50);
  const fullScanPlaces = values["full-scan"] === undefined ? undefined : Number(values["full-scan"]);
  if (fullScanPlaces !== undefined && !(Number.isInteger(fullScanPlaces) && fullScanPlaces >= 0)) {
    throw invalid(action, "full-scan", "an integer >= 0 (places)", values["full-scan"]);
  }
  const loaded = await loadMap(values.map, { provider: providerOption(action, values.provider) });
  if (values.robot !== undefined && !loaded.manifest.fleet) {
    await loaded.model.close();
    throw robotWithoutFleet(action, values.robot);
  }
  // A fleet map: its places come from the robot's cache of the shared table (see map_fleet.ts).
  const fleet = loaded.manifest.fleet
    ? await openCliFleet(values.map, loaded.manifest, { robot: values.robot }).catch(async (err) => {
      await loaded.model.close();
      throw err;
    })
    : undefined;
  const view = fleet ? fleetMapView(loaded, fleet) : undefined;
  if (view?.missing) {
    console.error(
      `waymark: the robot's cache lacks ${view.missing} of the map's places (never synced): using the map's own index`,
    );
  }
  const map = view
    ? { ...loaded, places: view.places, descriptors: view.descriptors, index: view.index }
    : loaded;
  // Maps too big for the JS whole-map scan but within the scanner's budget get an ONNX Runtime scanner, so
  // that the place filter still observes every place (see the search stage).
  const dim = map.index.dim;
  const fullScan = fullScanPlaces === undefined ? undefined : fullScanPlaces * dim;
  const scanner = await fullScanScanner(map.descriptors, dim, {
    budget: fullScan,
    log: (l) => console.error(`waymark: ${l}`),
  });
  if (scanner) {
    console.error(`waymark: whole-map scan of ${map.places.length} places with ${scanner.backend}`);
  }
  // Map candidates are verified against the map's stored local features (or, for an older map, its images).
  const verifier = values.verify ? await loadPipelineVerifier({ map }) : undefined;
  const source = await openFrameSource(values.source, srcOptions);
  const stamps = new StampBook();
  const exports: (TumSink | LoopsSink)[] = [];
  const sinks = await openSinks({ ...sinkFlags, rosSink: rosSinkOptions(action, values, map.places) }).then(
    async (s) => {
      try {
        if (values.tum) exports.push(await TumSink.create(values.tum, stamps));
        if (values["loops-csv"]) exports.push(await LoopsSink.create(values["loops-csv"], stamps));
      } catch (err) {
        await s.close();
        throw err;
      }
      return s;
    },
  ).catch(async (err) => {
    for (const x of exports) await x.close().catch(() => {});
    await source.close();
    await scanner?.close();
    await map.model.close();
    if (fleet) await closeCliFleet(fleet);
    throw err;
  });
  for (const line of sinks.describe()) console.error(`waymark: ${line}`);
  console.error(`waymark: localizing against ${map.dir} (${map.places.length} places) from ${source.name}`);
  const fox = await openFoxglove(values.foxglove, map.places).catch(async (err) => {
    await source.close();
    await sinks.close();
    for (const x of exports) await x.close().catch(() => {});
    await scanner?.close();
    await map.model.close();
    if (fleet) await closeCliFleet(fleet);
    throw err;
  });
  const rateLine = describeRate(values.source, values.rate);
  if (rateLine) console.error(`waymark: ${rateLine}`);
  if (policyNote) console.error(`waymark: ${policyNote}`);
  const { events$ } = localize(source.frames().pipe(tap((f) => (stamps.observe(f), fox?.frame(f)))), {
    model: map.model,
    map: scanner ? { ...map, scanner } : map,
    backpressure: policy,
    topK,
    // Places -> the pipeline's budget in multiply-adds (places x dimension).
    fullScan,
    loops: !values["no-loops"],
    verifier,
  });
  const all$ = withSourceEvents(source, events$).pipe(share());
  const subs = sinks.attach(all$);
  let lastPrint = 0;
  let lastStatus = "";
  const summary = new RunSummary();
  try {
    const interrupted = await runUntilDone(all$, (e) => {
      summary.observe(e);
      for (const x of exports) x.write(e);
      fox?.event(e);
      if (e.kind === "stats" && !summary.statsDue()) return;
      if (e.kind === "estimate") {
        const now = performance.now();
        const changed = e.estimate.status !== lastStatus;
        lastStatus = e.estimate.status;
        if (printHz === 0 || (!changed && now - lastPrint < 1000 / printHz)) return;
        lastPrint = now;
      }
      printEvent(e);
    });
    if (interrupted) console.error("waymark: interrupted");
    const lastStats = summary.unprintedStats();
    if (lastStats) printEvent(lastStats);
    for (const line of summary.lines()) console.error(`waymark: ${line}`);
  } finally {
    for (const s of subs) s.unsubscribe();
    await source.close();
    await sinks.close();
    await fox?.close();
    for (const x of exports) {
      await x.close();
      if (x instanceof TumSink) {
        console.error(
          `waymark: wrote ${x.poses} poses to ${values.tum}${
            x.skipped ? ` (${x.skipped} estimates without a position left out)` : ""
          }`,
        );
      } else console.error(`waymark: wrote ${x.loops} loop closures to ${values["loops-csv"]}`);
    }
    await scanner?.close();
    await map.model.close();
    if (fleet) await closeCliFleet(fleet);
  }
  return EXIT_OK;
}
