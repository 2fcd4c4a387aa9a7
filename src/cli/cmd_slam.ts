/**
 * `waymark slam --source <spec> --out <map-dir>`: loop-closure detection with no prior map (the map grows
 * online), every new keyframe journaled before it is acknowledged, the map saved at the end; a later run on
 * the same folder extends it (multi-session).
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { share, tap } from "rxjs";
import { LoopsSink } from "../io/loops_sink.ts";
import { StampBook } from "../io/tum_sink.ts";
import { openFoxglove } from "./_foxglove.ts";
import { invalid } from "../errors.ts";
import { openFrameSource } from "../io/open_source.ts";
import { compactMap } from "../map/compact.ts";
import { MAP_FILES } from "../map/format.ts";
import { type FsyncPolicy, type JournalMeta, KeyframeJournal } from "../map/journal.ts";
import { acquireMapLock } from "../map/lock.ts";
import { loadMap, mapExists } from "../map/map_loader.ts";
import type { FleetMap } from "../map/fleet_map.ts";
import { closeCliFleet, openCliFleet, robotWithoutFleet } from "./_fleet.ts";
import { checkMapTarget } from "../map/map_writer.ts";
import { GENERIC_MODEL_URL, loadGenericModel } from "../model/generic_model.ts";
import { HnswIndex } from "../index/hnsw_index.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import { loadModel } from "../model/onnx_model.ts";
import { localize } from "../pipeline/localize_pipeline.ts";
import { loadPipelineVerifier } from "../pipeline/verifier_loader.ts";
import { DEFAULT_MIN_CONFIDENCE, DEFAULT_UNVERIFIED_MIN_CONFIDENCE } from "../localize/loop_gate.ts";
import type { DescriptorModel } from "../types.ts";
import { EXIT_OK, parseCommand, providerOption } from "./_common.ts";
import {
  openSinks,
  printEvent,
  runUntilDone,
  STREAM_OPTIONS,
  streamSettings,
  withSourceEvents,
} from "./cmd_localize.ts";
import { ROS_SOURCE_HELP, rosSinkOptions, withOptionalRosPublish } from "./_ros_options.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "SLAM loop closure: grow a map online from a camera source, journal keyframes, save the map";

const HELP = `waymark slam --source <spec> --out <map-dir> [options]

Detect loop closures with no prior map: every keyframe joins the map and is compared with the earlier ones
(the recent window excluded); an event needs a consistent sequence of matches that advances over several
places of the map, and geometric verification: a loop that cannot be verified (textureless frames) is not
emitted unless --unverified-loops is given. With --no-verify, loops are emitted on the detector's word, only
above a higher confidence (fewer loops; see the README's loop-closure section for the operating point). Each new keyframe is appended to <map-dir>/journal.wal before its frame completes
(a crash loses no committed keyframe); at the end the journal is folded into the map. When <map-dir> already
holds a map (or a journal left by a crash), the run extends it with the same model (multi-session).

Vocabulary with no prior map: the shipped generic one (models/waymark-generic: the default dense-SIFT
NetVLAD fitted on varied generic imagery), so that descriptors are comparable from the first frame; fitting
online would change the descriptor space while the map grows. --model uses another model folder.

Options:
  --source SPEC        ws://..., rosbridge://host:port/topic, dataset:<dir>[#sequence], sim,      required
                       bag:<file.bag>[#topic], mcap:<file.mcap>[#topic] (see waymark localize --help)
  --out DIR            the map folder to create or extend                                       required
  --model DIR          model folder for a new map                               default the generic model
  --fsync P            journal fsync: always | never | <ms> (interval)                          default always
  --min-interval S     seconds between keyframes                                                default 0
  --min-change X       mean thumbnail change for a keyframe, 0..1                               default 0
  --exclude N          recent keyframes never loop candidates                                   default 10
  --session-index M    auto | dense | hnsw: how keyframes are compared with the map (prior
                       keyframes included). auto: dense comparison up to 4096 eligible keyframes,
                       then an HNSW index's top 100, with only the recent window and a background
                       sample kept in memory; the index is filled a few keyframes at a time from
                       2048 on (nothing for a small session). Extending a saved HNSW map starts
                       from the map's own index (its places are not inserted again). hnsw: the
                       index from the first keyframe. dense: no index. When the session
                       index holds every place at the end (auto past 4096, hnsw), it is saved as
                       the map's index instead of rebuilding it (6,000 places: ~80 s)           default auto
  --publish URL        serve events on a WebSocket server (ws://127.0.0.1:8765; not loopback: needs a token)
  --token T            bearer token for --publish (or --token-file FILE, or WAYMARK_TOKEN in the env)
  --allow-origin O     web page origin allowed to connect to --publish (repeatable; * any)
  --ros-publish [URL]  publish events and loop closures to rosbridge (no URL: the source's bridge;
                       see README "Use with ROS")
  --jsonl FILE         append every event as one JSON line
  --loops-csv FILE     write loop closures with both stamps (CSV; JSON lines when FILE ends in .jsonl)
  --foxglove URL       serve a Foxglove live view (camera, estimates, loops) on URL (ws://127.0.0.1:8765)
  --backpressure P     latest | drop-newest[:N] | queue:N                 default latest (queue with --rate max)
  --rate R             replayed sources (dataset:, bag:, mcap:, sim): recorded | max | Nx | frames/s
                                                                                                default recorded
  --verify             gate loops on geometric verification                                     default on
  --no-verify          no geometric verification: loops need detector confidence >= ${DEFAULT_UNVERIFIED_MIN_CONFIDENCE}
  --unverified-loops   emit loops the verifier cannot check on the detector's word (old behaviour)
  --min-confidence X   confidence a verified loop needs (higher: fewer, surer loops)           default 0.58
  --provider P         auto | cpu | cuda                                                        default auto
  --robot ID           a fleet map (built with --index pglite:|postgres://): each new keyframe is also
                       added to the shared table as this robot's (with this run's session and its
                       stamp), queued in <map-dir>/fleet/<robot>/ while the database is down
                                                                           default: the map's builder
  -h, --help           this help

${ROS_SOURCE_HELP}
`;

/** Run `waymark slam`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(withOptionalRosPublish(args), {
    name: "slam",
    help: HELP,
    required: ["source", "out"],
    options: {
      ...STREAM_OPTIONS,
      out: { type: "string" },
      model: { type: "string" },
      fsync: { type: "string", default: "always" },
      "min-interval": { type: "string", default: "0" },
      "min-change": { type: "string", default: "0" },
      exclude: { type: "string" },
      "session-index": { type: "string", default: "auto" },
      "no-verify": { type: "boolean", default: false },
      "unverified-loops": { type: "boolean", default: false },
      "min-confidence": { type: "string" },
      "loops-csv": { type: "string" },
      foxglove: { type: "string" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const action = "run slam";
  const { policy, policyNote, source: srcOptions, sinks: sinkFlags } = await streamSettings(action, values);
  const provider = providerOption(action, values.provider);
  const fsync: FsyncPolicy = values.fsync === "always" || values.fsync === "never"
    ? values.fsync
    : { intervalMs: Number(values.fsync) };
  if (typeof fsync === "object" && !(fsync.intervalMs > 0)) {
    throw invalid(action, "fsync", "always, never or a positive number of ms", values.fsync);
  }
  const minConfidence = values["min-confidence"] === undefined
    ? DEFAULT_MIN_CONFIDENCE
    : Number(values["min-confidence"]);
  if (!(minConfidence >= 0 && minConfidence <= 1)) {
    throw invalid(action, "min-confidence", "a number in [0, 1]", values["min-confidence"]);
  }
  const minInterval = Number(values["min-interval"]), minChange = Number(values["min-change"]);
  if (!(minInterval >= 0)) throw invalid(action, "min-interval", "a number >= 0", values["min-interval"]);
  if (!(minChange >= 0 && minChange <= 1)) {
    throw invalid(action, "min-change", "a number in [0, 1]", values["min-change"]);
  }
  const exclude = values.exclude === undefined ? 10 : Number(values.exclude);
  if (!Number.isInteger(exclude) || exclude < 0) {
    throw invalid(action, "exclude", "an integer >= 0", values.exclude);
  }
  const sessionIndex = values["session-index"];
  if (sessionIndex !== "auto" && sessionIndex !== "dense" && sessionIndex !== "hnsw") {
    throw invalid(action, "session-index", "auto, dense or hnsw", sessionIndex);
  }
  if (policyNote) console.error(`waymark: ${policyNote}`);
  const out = values.out;
  // Only a new path, an empty folder or a Waymark map (extended); one writer at a time, released on any exit.
  await checkMapTarget(out, { extend: true, action: "run slam" });
  await using lock = await acquireMapLock(out, { command: "waymark slam" });
  await Deno.mkdir(out, { recursive: true });

  // Prior session: an existing map (its model), plus any journal a crashed run left.
  let model: DescriptorModel;
  let modelSource: string | undefined;
  const prior: { placeId: number; stamp?: number; image?: string; descriptor: Float32Array }[] = [];
  // The saved map's HNSW index (ids = place ids = rows of descriptors.f32, inner product): the session index
  // starts from it. It lives in memory; at the end compaction saves the session index when it holds every place.
  let priorIndex: VectorIndex | undefined;
  let mapKind: "hnsw" | "exact" = "hnsw";
  let fleet: FleetMap | undefined;
  const hasMap = await mapExists(out);
  if (!hasMap && values.robot !== undefined) throw robotWithoutFleet(action, values.robot);
  if (hasMap) {
    const map = await loadMap(out, { provider, modelDir: values.model });
    model = map.model;
    // A fleet map: new keyframes also go to the shared table (through the robot's outbox, never waiting).
    if (map.manifest.fleet) fleet = await openCliFleet(out, map.manifest, { robot: values.robot });
    else if (values.robot !== undefined) {
      await model.close();
      throw robotWithoutFleet(action, values.robot);
    }
    mapKind = map.manifest.index.kind;
    const dim = map.index.dim;
    map.places.forEach((p, i) =>
      prior.push({ ...p, descriptor: map.descriptors.subarray(i * dim, (i + 1) * dim) })
    );
    if (sessionIndex !== "dense" && map.index instanceof HnswIndex) priorIndex = map.index;
    console.error(
      `waymark: extending ${out}: ${map.places.length} places (generation ${map.manifest.generation})`,
    );
    if (priorIndex) {
      console.error(`waymark: the session index starts from the map's (${priorIndex.size} places)`);
    }
  } else if (values.model) {
    model = await loadModel(values.model, { provider });
    modelSource = values.model;
  } else {
    model = await loadGenericModel({ provider });
    modelSource = fileURLToPath(GENERIC_MODEL_URL);
  }
  const journal = await KeyframeJournal.open(join(out, MAP_FILES.journal), {
    dim: model.info.descriptorDim,
    modelId: model.info.id,
    fsync,
    lock,
  });
  if (journal.recoveredBytes > 0) {
    console.error(
      `waymark: dropped an incomplete last journal record (${journal.recoveredBytes} B) left by a crash: it was never acknowledged`,
    );
  }
  for (const r of journal.replayed) {
    if (r.placeId >= prior.length) {
      prior.push({ placeId: r.placeId, stamp: r.stamp, image: r.meta.image, descriptor: r.descriptor });
    }
  }
  if (journal.replayed.length > 0) {
    console.error(`waymark: replayed ${journal.replayed.length} journaled keyframes`);
  }
  const verifier = values["no-verify"] ? undefined : await loadPipelineVerifier({});
  const source = await openFrameSource(values.source, srcOptions);
  const sinks = await openSinks({ ...sinkFlags, rosSink: rosSinkOptions(action, values) });
  // --loops-csv: loop closures with both stamps (exact for bag:/mcap: sources).
  const stamps = new StampBook();
  const loopsFile = values["loops-csv"] ? await LoopsSink.create(values["loops-csv"], stamps) : undefined;
  const fox = await openFoxglove(values.foxglove, []);
  for (const line of sinks.describe()) console.error(`waymark: ${line}`);
  let added = 0;
  let runIndex: VectorIndex | undefined; // the run's session index (auto past 4096, hnsw)
  const { events$ } = localize(source.frames().pipe(tap((f) => (stamps.observe(f), fox?.frame(f)))), {
    model,
    backpressure: policy,
    keyframes: { minInterval, minChange },
    loops: { excludeRecent: exclude },
    priorKeyframes: prior,
    sessionIndex,
    priorKeyframesIndex: priorIndex,
    onSessionIndex: (index) => void (runIndex = index),
    verifier,
    loopGate: { minConfidence, keepUnverifiable: values["unverified-loops"] },
    onKeyframe: async (kf) => {
      const meta: JournalMeta = {};
      if (kf.image !== undefined) meta.image = kf.image;
      // The exact stamp travels into places.jsonl (compaction keeps every meta field).
      if (kf.time !== undefined) meta.time = kf.time;
      if (kf.position) meta.position = kf.position;
      if (fleet) {
        // The place's key in the shared table, kept with the map's place (see fleetMapView).
        const p = fleet.addPlace(kf.descriptor, kf.stamp ?? kf.placeId);
        meta.fleet = `${p.robot}/${p.seq}`;
      }
      await journal.append({ placeId: kf.placeId, stamp: kf.stamp, meta, descriptor: kf.descriptor });
      added++;
    },
  });
  const all$ = withSourceEvents(source, events$).pipe(share());
  const subs = sinks.attach(all$);
  let loops = 0;
  try {
    const interrupted = await runUntilDone(all$, (e) => {
      if (e.kind === "loop") loops++;
      loopsFile?.write(e);
      fox?.event(e);
      printEvent(e);
    });
    if (interrupted) console.error("waymark: interrupted");
  } finally {
    for (const s of subs) s.unsubscribe();
    await source.close();
    await sinks.close();
    await fox?.close();
    if (loopsFile) {
      await loopsFile.close();
      console.error(`waymark: wrote ${loopsFile.loops} loop closures to ${values["loops-csv"]}`);
    }
    await journal.close();
    await model.close();
    // Closed before compaction, which carries the fleet folder (outbox, cache) into the rewritten map.
    if (fleet) await closeCliFleet(fleet);
  }
  // The map's index: the session index when it holds every place (compaction checks the ids and a few vectors
  // and rebuilds, with a notice, when they differ), else rebuilt from descriptors.f32.
  const places = prior.length + added;
  let reuseIndex: VectorIndex | undefined;
  if (runIndex && mapKind === "hnsw" && runIndex.size === places) reuseIndex = runIndex;
  else if (runIndex && mapKind === "hnsw") {
    console.error(
      `waymark: building the saved map's index from all ${places} places (normal at the end of a session; ` +
        `the in-memory session index held ${runIndex.size} of them)`,
    );
  }
  const t0 = performance.now();
  const result = await compactMap(out, {
    lock,
    reuseIndex,
    onNotice: (message) => console.error(`waymark: ${message}`),
    model: {
      name: model.info.name,
      id: model.info.id,
      dim: model.info.descriptorDim,
      bundled: false,
      source: modelSource,
    },
    modelBundleDir: hasMap ? undefined : modelSource,
  });
  if (result.folded > 0) {
    console.error(
      `waymark: map saved in ${((performance.now() - t0) / 1000).toFixed(1)} s (index ${
        result.indexReused ? "reused from the session" : "rebuilt"
      })`,
    );
  }
  console.log(
    `map ${out}: ${result.manifest.counts.places} places (${added} new keyframes, generation ${result.manifest.generation}), ${loops} loop closures`,
  );
  return EXIT_OK;
}
