/**
 * Held-out data for the place filter's calibration (`scripts/fit_calibration.ts`): renders simulated routes
 * (`waymark sim export`'s renderer, the robustness suite's size: 60 frames a lap, 2 laps, 320x240) with seeds
 * the suite does not use, under changed conditions and with degraded queries (`src/eval/degrade.ts`: night-like,
 * darker, JPEG), and stores each one's similarity cache (`scripts/filter_tune.ts dump`), scored as
 * `eval stream` scores it (a true match within the simulator's ground-truth radius and heading).
 *
 * Run: `deno run -A scripts/calibration_sims.ts OUT_DIR` (prints the cache paths, one a line), then
 * `deno run -A scripts/fit_calibration.ts $(cat OUT_DIR/caches.txt) > src/localize/calibration_params.ts`.
 * `--sparse` renders the sparse-map check routes instead (`SPARSE_CHECK_ROUTES`, listed in
 * `OUT_DIR/sparse.txt`): held out from the fit, to measure the filter where the map is sparser than the frames.
 *
 * @module
 */
import { join } from "node:path";
import { exportSimDataset } from "../src/io/simulator/export.ts";
import { deriveRetrievalDataset } from "../src/eval/derive.ts";
import { fileExists } from "../src/_fs.ts";
import { dumpCache } from "./filter_tune.ts";

/** One calibration route: simulator settings and the queries' degradation (none: as rendered). */
export interface CalibrationRoute {
  seed: number;
  strength: number;
  aliasing: number;
  queries?: string;
  /** Keep every k-th map image (a map sparser than the frames; `deriveRetrievalDataset`'s `mapEvery`). */
  mapEvery?: number;
}

/** The routes (the suite's simulated rows use seeds 1 and 2: these never do). */
export const CALIBRATION_ROUTES: CalibrationRoute[] = [
  { seed: 11, strength: 1, aliasing: 0.3 },
  { seed: 12, strength: 1, aliasing: 0.3, queries: "night" },
  { seed: 13, strength: 2, aliasing: 0.6 },
  { seed: 14, strength: 1.5, aliasing: 0.45, queries: "darker:0.3" },
  { seed: 15, strength: 2, aliasing: 0.6, queries: "night" },
  { seed: 16, strength: 1, aliasing: 0.6, queries: "jpeg:30" },
  { seed: 17, strength: 2, aliasing: 0.3 },
  { seed: 18, strength: 1, aliasing: 0.6, queries: "night:1" },
  { seed: 19, strength: 1.5, aliasing: 0.3, queries: "night" },
  { seed: 20, strength: 2, aliasing: 0.45, queries: "jpeg:30" },
  { seed: 21, strength: 1, aliasing: 0.45 },
  { seed: 22, strength: 2.5, aliasing: 0.6 },
];

/** Sparse maps (a place every 3 or 4 frames of the map's traversal), never fitted on: a check of the filter. */
export const SPARSE_CHECK_ROUTES: CalibrationRoute[] = [
  { seed: 23, strength: 1, aliasing: 0.3, mapEvery: 3 },
  { seed: 24, strength: 1.5, aliasing: 0.45, queries: "night", mapEvery: 4 },
  { seed: 25, strength: 2, aliasing: 0.6, mapEvery: 4 },
  { seed: 26, strength: 1, aliasing: 0.6, queries: "jpeg:30", mapEvery: 3 },
];

function routeName(r: CalibrationRoute): string {
  return `sim-s${r.seed}-x${r.strength}-a${r.aliasing}${
    r.queries ? `-${r.queries.replace(/[^a-z0-9]/gi, "")}` : ""
  }${r.mapEvery ? `-every${r.mapEvery}` : ""}`;
}

if (import.meta.main) {
  const sparse = Deno.args.includes("--sparse");
  const out = Deno.args.find((a) => !a.startsWith("--"));
  if (!out) {
    console.error("usage: calibration_sims.ts OUT_DIR [--sparse]");
    Deno.exit(2);
  }
  await Deno.mkdir(out, { recursive: true });
  const caches: string[] = [];
  for (const route of sparse ? SPARSE_CHECK_ROUTES : CALIBRATION_ROUTES) {
    const name = routeName(route);
    const cache = join(out, name, "cache");
    caches.push(cache);
    if (await fileExists(`${cache}.json`)) continue; // already rendered and dumped (a re-run adds new routes only)
    const simDir = join(out, name, "sim");
    await exportSimDataset(simDir, {
      frames: 60,
      width: 320,
      height: 240,
      traversals: 2,
      seed: route.seed,
      condition: "all",
      strength: route.strength,
      aliasing: route.aliasing,
      overwrite: true,
    });
    let dataset = simDir;
    if (route.queries || route.mapEvery) {
      dataset = join(out, name, "ds");
      await deriveRetrievalDataset(simDir, dataset, { queries: route.queries, mapEvery: route.mapEvery });
    }
    const r = await dumpCache(dataset, cache);
    console.error(
      `${name}: recall@1 ${r.recall1.toFixed(3)}, smoothed ${r.smoothedRecall1.toFixed(3)}, ECE ${
        r.ece.toFixed(3)
      }`,
    );
  }
  await Deno.writeTextFile(join(out, sparse ? "sparse.txt" : "caches.txt"), caches.join("\n") + "\n");
  console.log(caches.join("\n"));
}
