/**
 * Export a simulated route as a place dataset in both layouts of `docs/dataset_format.md`: retrieval
 * (`database.csv` = traversal 1, `queries.csv` = later traversals, `matches.csv`) and loop closure
 * (`sequence.csv` = every traversal in order, `loops.csv`), JPEG images under `images/`, plus `poses.csv`
 * (headings) and `sim.json` (the options that reproduce it).
 * @module
 */
import { DatasetError, invalid } from "../../errors.ts";
import { traversalSetup } from "./conditions.ts";
import { encodeImage } from "./encode.ts";
import { loopPairs, retrievalMatches } from "./ground_truth.ts";
import { planRoute, type RouteOptions } from "./route.ts";
import type { SimPose } from "./simulator.ts";

/** Options of a dataset export. */
export interface ExportOptions extends RouteOptions {
  /** JPEG quality 1..100. Default 90. */
  quality?: number;
  /** Same-place radius for matches and loops, metres. Default 2.5. */
  radius?: number;
  /** Same-place heading tolerance, degrees. Default 30. */
  headingDeg?: number;
  /** Loops exclude matches younger than this, seconds. Default 20. */
  excludeSeconds?: number;
  /** Write into a non-empty folder (replacing files of the same name). Default false. */
  overwrite?: boolean;
  /** Called after each frame is written. */
  onProgress?: (done: number, total: number) => void;
}

/** What an export wrote. */
export interface ExportSummary {
  dir: string;
  frames: number;
  database: number;
  queries: number;
  matches: number;
  loops: number;
  /** Queries with at least one true match. */
  queriesWithMatch: number;
  /** Frames that are the later frame of at least one loop. */
  loopQueries: number;
  routeLength: number;
}

const fmt = (v: number) => (Math.round(v * 1000) / 1000).toString();

/**
 * Render and write a simulated dataset to `dir` (created when absent; refused when non-empty unless
 * `overwrite`). The CSV files are written last, so an interrupted export is not a readable dataset.
 *
 * @example
 * ```ts ignore
 * import { exportSimDataset } from "./export.ts";
 * const summary = await exportSimDataset("/tmp/sim", { frames: 200, traversals: 2, condition: "all" });
 * console.log(summary.matches);
 * ```
 */
export async function exportSimDataset(dir: string, options: ExportOptions = {}): Promise<ExportSummary> {
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw invalid("export a simulated dataset", "quality", "an integer in [1, 100]", quality);
  }
  const radius = options.radius ?? 2.5, headingDeg = options.headingDeg ?? 30;
  if (!(radius > 0)) throw invalid("export a simulated dataset", "radius", "a positive number", radius);
  if (!(headingDeg > 0 && headingDeg <= 180)) {
    throw invalid("export a simulated dataset", "headingDeg", "a number in (0, 180]", headingDeg);
  }
  const excludeSeconds = options.excludeSeconds ?? 20;
  const { simulator, traversals } = planRoute(options);

  try {
    const entries = [...Deno.readDirSync(dir)];
    if (entries.length > 0 && !options.overwrite) {
      throw new DatasetError(
        `Cannot export a simulated dataset to '${dir}': the folder is not empty (use overwrite)`,
        {
          context: { file: dir },
        },
      );
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(`${dir}/images`, { recursive: true });

  const names: string[][] = traversals.map((steps, t) =>
    steps.map((s) => `images/t${t}_${String(s.pose.seq).padStart(5, "0")}.jpg`)
  );
  const total = names.reduce((a, l) => a + l.length, 0);
  let done = 0;
  // Render here while sharp encodes and writes the previous frames (at most 4 in flight).
  const inFlight: Promise<void>[] = [];
  try {
    await renderAll();
  } catch (err) {
    await Promise.allSettled(inFlight);
    throw err;
  }
  async function renderAll() {
    for (let t = 0; t < traversals.length; t++) {
      for (let i = 0; i < traversals[t].length; i++) {
        const { pose, conditions } = traversals[t][i];
        const image = simulator.render(pose, conditions);
        const path = `${dir}/${names[t][i]}`;
        const job = encodeImage(image, "jpeg", quality).then((bytes) => Deno.writeFile(path, bytes)).then(
          () => {
            options.onProgress?.(++done, total);
          },
        );
        job.catch(() => {}); // a failure surfaces when the job is awaited, not as an unhandled rejection
        inFlight.push(job);
        if (inFlight.length >= 4) await inFlight.shift();
      }
    }
    await Promise.all(inFlight);
  }

  const row = (name: string, p: SimPose) => `${name},${fmt(p.stamp)},${fmt(p.x)},${fmt(p.y)}`;
  const header = "image,stamp,x,y";
  const dbPoses = traversals[0].map((s) => s.pose);
  const qPoses: SimPose[] = [], qNames: string[] = [];
  for (let t = 1; t < traversals.length; t++) {
    traversals[t].forEach((s, i) => {
      qPoses.push(s.pose);
      qNames.push(names[t][i]);
    });
  }
  const matches = retrievalMatches(qPoses, dbPoses, { radius, headingDeg });
  const seqPoses = traversals.flatMap((steps) => steps.map((s) => s.pose));
  const seqNames = names.flat();
  const loops = loopPairs(seqPoses, { radius, headingDeg, excludeSeconds });

  const write = (name: string, lines: string[]) =>
    Deno.writeTextFile(`${dir}/${name}`, lines.join("\n") + "\n");
  await write("poses.csv", [
    "image,traversal,seq,stamp,x,y,heading_deg",
    ...seqPoses.map((p, i) =>
      `${seqNames[i]},${p.traversal},${p.seq},${fmt(p.stamp)},${fmt(p.x)},${fmt(p.y)},${
        fmt((p.heading * 180) / Math.PI)
      }`
    ),
  ]);
  await write(
    "sim.json",
    [JSON.stringify(
      {
        generator: "waymark sim export",
        options: {
          ...simulator.options,
          traversals: traversals.length,
          condition: options.condition ?? "all",
          strength: options.strength ?? 1,
        },
        ground_truth: { radius, headingDeg, excludeSeconds },
        traversals: traversals.map((_, t) => {
          const setup = traversalSetup(t, options.condition ?? "all", options.strength ?? 1);
          return { ...setup.traversal, ...setup.conditions, frames: traversals[t].length };
        }),
      },
      null,
      2,
    )],
  );
  await write("database.csv", [header, ...dbPoses.map((p, i) => row(names[0][i], p))]);
  if (qPoses.length > 0) {
    await write("queries.csv", [header, ...qPoses.map((p, i) => row(qNames[i], p))]);
    await write("matches.csv", ["query,database", ...matches.map(([q, d]) => `${qNames[q]},${names[0][d]}`)]);
  }
  await write("sequence.csv", [header, ...seqPoses.map((p, i) => row(seqNames[i], p))]);
  await write("loops.csv", ["query,match", ...loops.map(([q, m]) => `${seqNames[q]},${seqNames[m]}`)]);

  return {
    dir,
    frames: total,
    database: dbPoses.length,
    queries: qPoses.length,
    matches: matches.length,
    loops: loops.length,
    queriesWithMatch: new Set(matches.map(([q]) => q)).size,
    loopQueries: new Set(loops.map(([q]) => q)).size,
    routeLength: simulator.plan.routeLength,
  };
}
