/**
 * `waymark sim export <dir>`: render the simulated camera's route and write it as a place dataset (both
 * layouts of the dataset format).
 * @module
 */
import { invalid, ValidationError } from "../errors.ts";
import { fileExists } from "../_fs.ts";
import { CONDITION_NAMES, type ConditionName } from "../io/simulator/conditions.ts";
import { exportSimDataset } from "../io/simulator/export.ts";
import { checkOutputFolder, EXIT_OK, numberOption, parseCommand, ProgressBar } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary = "render the simulated camera's route as a dataset (retrieval + loop-closure layouts)";

const HELP = `waymark sim export <dir> [options]

Render a procedural indoor building (a corridor loop with side branches, textured walls, landmarks and
deliberate look-alike segments) along a camera route that revisits every place, and write it to <dir> as a
place dataset in both layouts: database.csv (traversal 1), queries.csv (later traversals, changed
conditions), matches.csv; sequence.csv (all traversals), loops.csv; JPEG images under images/; poses.csv
(with headings) and sim.json (the settings that reproduce it). Same seed, same bytes.

Options:
  --frames N          frames per traversal (one lap of the loop)            default 200
  --traversals N      traversals of the loop                                default 2
  --width W           image width in pixels                                 default 640
  --height H          image height in pixels                                default 480
  --seed S            seed of the building, textures, jitter and noise      default 1
  --condition C       change in later traversals: ${CONDITION_NAMES.join("|")}   default all
  --strength X        strength of the change (0 none, 1 nominal, up to 3)    default 1
  --aliasing P        probability that a wall segment copies another one     default 0.3
  --quality Q         JPEG quality 1..100                                   default 90
  --radius M          same-place radius for matches/loops, metres           default 2.5
  --heading DEG       same-place heading tolerance, degrees                 default 30
  --exclude S         loops ignore matches younger than S seconds           default 20
  --fps F             frame rate of the stamps                    default: frames per lap at 1 m/s
  --force             write over an earlier simulated dataset in <dir> (one with sim.json); a file, or a
                      folder holding anything else, is never written into
  -h, --help          this help
`;

const number = (name: string, value: string | undefined, fallback: number, integer = false) =>
  numberOption("export a simulated dataset", name, value, fallback, integer);

/** Entries a simulated dataset folder holds. */
const SIM_OUTPUTS = new Set([
  "images",
  "sim.json",
  "poses.csv",
  "database.csv",
  "queries.csv",
  "matches.csv",
  "sequence.csv",
  "loops.csv",
]);

/** Run `waymark sim export`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "sim export",
    help: HELP,
    positionals: { count: 1, what: "one output folder" },
    options: {
      frames: { type: "string" },
      traversals: { type: "string" },
      width: { type: "string" },
      height: { type: "string" },
      seed: { type: "string" },
      condition: { type: "string" },
      strength: { type: "string" },
      aliasing: { type: "string" },
      quality: { type: "string" },
      radius: { type: "string" },
      heading: { type: "string" },
      exclude: { type: "string" },
      fps: { type: "string" },
      force: { type: "boolean" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const condition = (values.condition ?? "all") as ConditionName;
  if (!CONDITION_NAMES.includes(condition)) {
    throw invalid(
      "export a simulated dataset",
      "condition",
      `one of ${CONDITION_NAMES.join(", ")}`,
      condition,
    );
  }
  const dir = positionals[0];
  const action = "export a simulated dataset";
  const what = await checkOutputFolder(dir, action, (n) => SIM_OUTPUTS.has(n));
  if (what === "ours" && !values.force) {
    throw new ValidationError(
      `Cannot ${action} to ${dir}: it already holds a simulated dataset; pass --force to write over it`,
      { context: { file: dir } },
    );
  }
  if (what === "ours" && !(await fileExists(`${dir}/sim.json`))) {
    throw new ValidationError(
      `Cannot ${action} to ${dir}: the folder is not a simulated dataset (no sim.json); choose a new path`,
      { context: { file: dir } },
    );
  }
  let bar: ProgressBar | null = null;
  const t0 = performance.now();
  const result = await exportSimDataset(dir, {
    frames: number("frames", values.frames, 200, true),
    traversals: number("traversals", values.traversals, 2, true),
    width: number("width", values.width, 640, true),
    height: number("height", values.height, 480, true),
    seed: number("seed", values.seed, 1, true),
    condition,
    strength: number("strength", values.strength, 1),
    aliasing: number("aliasing", values.aliasing, 0.3),
    quality: number("quality", values.quality, 90, true),
    radius: number("radius", values.radius, 2.5),
    headingDeg: number("heading", values.heading, 30),
    excludeSeconds: number("exclude", values.exclude, 20),
    fps: values.fps === undefined ? undefined : number("fps", values.fps, 10),
    overwrite: values.force ?? false,
    onProgress: (done, total) => {
      bar ??= new ProgressBar("sim export", total);
      bar.update(done);
    },
  });
  (bar as ProgressBar | null)?.done();
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `wrote ${result.frames} frames to ${dir} in ${secs.toFixed(1)} s: ` +
      `${result.database} database, ${result.queries} queries (${result.queriesWithMatch} with a true match, ` +
      `${result.matches} matches), ${result.loops} loop pairs over ${result.loopQueries} frames; ` +
      `route ${result.routeLength.toFixed(1)} m per lap`,
  );
  return EXIT_OK;
}
