/**
 * `waymark map build <dataset|folder> --out <dir>`: build a map folder (descriptors, index, places, model).
 * @module
 */
import { invalid } from "../errors.ts";
import { buildMap, type BuildProgress } from "../map/build_map.ts";
import { acquireMapLock } from "../map/lock.ts";
import { readMapData } from "../map/map_loader.ts";
import { DEFAULT_MAP_ROBOT, isFleetTarget, mapFleetRef, publishMapPlaces } from "../map/map_fleet.ts";
import { isRecordingSpec, readRecordingImages } from "../io/recording_dataset.ts";
import { EXIT_OK, intOption, mapModelOptions, parseCommand, phaseProgress } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "build a map folder (descriptors, index, places, model) from a dataset or image folder";

const HELP = `waymark map build <dataset|folder|bag:<file>[#topic]|mcap:<file>[#topic]> --out <dir> [options]

Describe every image of a dataset (its database.csv, else its sequence.csv) or of a plain image folder
(natural order), index the descriptors and write a versioned map folder atomically: a crash part-way
leaves the previous map at <dir> loadable. Images that cannot be decoded are skipped with a warning and
counted in the manifest. By default the default model (dense RootSIFT + NetVLAD) is fitted on the map's
own images and stored in <dir>/model/. A bag:/mcap: recording gives the topic's frames in record order
(places named <topic>@<sec>.<nanosec>, the exact stamp; the frames are read into a temporary folder that
is removed afterwards, so keep the local features for --verify).

Options:
  --out DIR           map folder to write: a new path or an empty folder          required
  --force             replace a Waymark map already at --out (atomically: the new map is written
                      beside it and renamed into place). A file, or a folder holding anything but
                      a map, is never replaced
  --allow-absolute-paths  the dataset's CSVs may name images by absolute path outside the dataset
                      folder (refused by default; paths that climb out with .. always are)
  --model DIR         use this model folder instead of fitting the default one
  --index KIND        hnsw | exact | pglite:<dir>[?table=name] | postgres://user@host/db?table=name
                      default hnsw. A database target makes a fleet map: the map (with its local
                      HNSW index) is written as usual, the manifest records the target (never a
                      password: it comes from PGPASSWORD or ~/.pgpass), and every place is added
                      to the shared table (queued in <dir>/fleet/<robot>/ when the database is down)
  --robot ID          robot id of the map's places in the shared table            default map
  --preset NAME       default-model preset to fit: dsift-netvlad-64 (8192-d), dsift-netvlad-64-pca256
                      (PCA whitening learnt on the map, 256-d), dsift-netvlad-32-fast   default dsift-netvlad-64
  --clusters K        NetVLAD clusters of the fitted default model           default: the preset's (64)
  --pca D             PCA-whiten the fitted model to D dims (0 = none)        default: the preset's (0)
                      (at most map images - 1; a map of fewer than 32 images is not whitened)
  --provider P        auto | cpu | cuda                                      default auto
  --batch N           images per describe batch                              default 8
  --no-local-features do not store the places' local features for verification (--verify then
                      re-extracts them from the map's images, which must stay where they are)
  --json              print the result as one JSON object (last line of stdout)
  -h, --help          this help
`;

/** Run `waymark map build`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "map build",
    help: HELP,
    positionals: { count: 1, what: "one dataset or folder" },
    options: {
      out: { type: "string" },
      model: { type: "string" },
      index: { type: "string" },
      robot: { type: "string" },
      preset: { type: "string" },
      clusters: { type: "string" },
      pca: { type: "string" },
      provider: { type: "string" },
      batch: { type: "string" },
      "no-local-features": { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      "allow-absolute-paths": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const action = "build map";
  if (!values.out) throw invalid(action, "out", "a folder path (--out)", values.out);
  const fleet = isFleetTarget(values.index)
    ? mapFleetRef(values.index, values.robot ?? DEFAULT_MAP_ROBOT, `map-build-${new Date().toISOString()}`)
    : undefined;
  if (values.robot !== undefined && !fleet) {
    throw invalid(action, "robot", "given with a database --index", values.robot);
  }
  const progress = phaseProgress();
  await using recording = isRecordingSpec(positionals[0]) ? await readRecordingImages(positionals[0]) : null;
  const r = await buildMap(recording?.images ?? positionals[0], values.out, {
    // A fleet map's --index is the shared table; its own index is HNSW.
    ...mapModelOptions(action, { ...values, index: fleet ? "hnsw" : values.index }),
    fleet,
    batchSize: intOption(action, "batch", values.batch, 8),
    localFeatures: !values["no-local-features"],
    replace: values.force,
    allowAbsolutePaths: values["allow-absolute-paths"] || undefined,
    onProgress: (p: BuildProgress) => progress.update(p),
  });
  progress.end();
  const m = r.manifest;
  const shared = fleet ? await publishBuiltPlaces(r.dir) : null;
  const line = {
    map: r.dir,
    places: m.counts.places,
    skipped: m.counts.skipped,
    dim: m.counts.dim,
    index: m.index.kind,
    model: m.model.name,
    model_id: m.model.id,
    seconds: Math.round(r.seconds * 1000) / 1000,
    images_per_s: Math.round(r.imagesPerSecond * 100) / 100,
    describe_images_per_s: Math.round(r.describeImagesPerSecond * 100) / 100,
    local_features: r.localFeatures
      ? {
        stored: r.localFeatures.stored,
        seconds: r.localFeatures.seconds,
        bytes_per_place: r.localFeatures.bytesPerPlace,
        keypoints_per_place: r.localFeatures.keypointsPerPlace,
      }
      : null,
    ...(shared ? { fleet: shared } : {}),
  };
  if (values.json) console.log(JSON.stringify(line));
  else {
    console.log(
      `map ${r.dir}: ${m.counts.places} places (${m.counts.skipped} skipped), ${m.counts.dim}-d ${m.model.name}, ` +
        `${m.index.kind} index, ${r.seconds.toFixed(1)} s (${
          r.imagesPerSecond.toFixed(1)
        } images/s overall, ` +
        `${r.describeImagesPerSecond.toFixed(1)} images/s decode+describe)`,
    );
    const lf = r.localFeatures;
    if (lf) {
      console.log(
        lf.stored
          ? `local features: ${lf.keypointsPerPlace.toFixed(0)} keypoints and ${
            (lf.bytesPerPlace / 1024).toFixed(1)
          } KiB per place, ${lf.seconds.toFixed(1)} s of the build`
          : `local features: none stored (${lf.reason})`,
      );
    }
    if (shared) {
      console.log(
        `shared table ${shared.target}: ${shared.written} of ${m.counts.places} places written as robot ` +
          `'${shared.robot}', database ${shared.state}` +
          (shared.queued > 0 ? ` (${shared.queued} queued in the outbox until the database returns)` : ""),
      );
    }
  }
  return EXIT_OK;
}

/** Add a just-built fleet map's places to its shared table (under the map's lock); what happened. */
async function publishBuiltPlaces(dir: string) {
  await using _lock = await acquireMapLock(dir, { command: "waymark map build (shared table)" });
  const data = await readMapData(dir);
  const ref = data.manifest.fleet!;
  const stats = await publishMapPlaces(dir, data.manifest, data.places, data.descriptors, {
    onEvent: (e) => {
      if (e.type === "state" && e.state === "offline") {
        console.error(`waymark: shared table offline: ${e.error ?? ""}`);
      }
    },
  });
  return {
    target: ref.target,
    robot: ref.robot,
    session: ref.session,
    state: stats.state,
    written: stats.written,
    queued: stats.queued,
    ...(stats.lastError ? { error: stats.lastError } : {}),
  };
}
