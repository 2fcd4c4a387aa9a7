/**
 * Sparse-map check for the place filter: maps thinned to every k-th place (a map sparser than the frames:
 * 2 to 5 frames a place), derived from the shared rtabmap set with degraded queries or map, and optionally
 * from a simulated route (`--sim DIR`, e.g. a route the robustness suite rendered). None of them is a suite row
 * or a calibration route. Each one's similarity cache is stored (`scripts/filter_tune.ts dump`), then the
 * filter is replayed over it as `eval stream` runs it.
 *
 * Run: `deno run -A scripts/sparse_maps.ts OUT_DIR [--sim SIM_DIR] [--night-sim SIM_DIR] [--sim-hard SIM_DIR]
 * [--only NAME,...]`. OUT_DIR must not exist (it is created). Prints one line per set: single-frame and smoothed
 * Recall@1, ECE. The first nine sets are those of `bench/results/2026-12-02-filter-speed.md` section 2c, the
 * next ten those of section 2e (derived after the filter changes had landed), the last five were added for
 * `bench/results/2026-12-02-small-map-vocabulary.md`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { deriveRetrievalDataset, type RetrievalDerivation } from "../src/eval/derive.ts";
import { fileExists } from "../src/_fs.ts";
import { dumpCache, readCache, replay } from "./filter_tune.ts";

const RTABMAP = new URL("../../shared/data/rtabmap_samples_loop", import.meta.url).pathname;

/** The thinned sets: name, source ("rtabmap", "sim" or "night-sim") and the derivation. */
export const SPARSE_SETS: [string, "rtabmap" | "sim" | "night-sim" | "sim-hard", RetrievalDerivation][] = [
  ["rt-every2", "rtabmap", { mapEvery: 2 }],
  ["rt-every3", "rtabmap", { mapEvery: 3 }],
  ["rt-night-every3", "rtabmap", { queries: "night", mapEvery: 3 }],
  ["rt-crop-every2", "rtabmap", { queries: "crop:0.1-0.2:random", mapEvery: 2 }],
  ["rt-jpeg-every5", "rtabmap", { queries: "jpeg:30", mapEvery: 5 }],
  ["rt-nightmap-every3", "rtabmap", { map: "night+down:160x120", queries: "down:160x120", mapEvery: 3 }],
  ["sim-every2", "sim", { mapEvery: 2 }],
  ["sim-every3", "sim", { mapEvery: 3 }],
  ["simnight-every2", "night-sim", { mapEvery: 2 }],
  ["rt-darker-every4", "rtabmap", { queries: "darker:0.3", mapEvery: 4 }],
  ["rt-cropjpeg-every3", "rtabmap", { queries: "crop:0.1-0.2:random+jpeg:30", mapEvery: 3 }],
  ["rt160-every2", "rtabmap", { map: "down:160x120", queries: "down:160x120", mapEvery: 2 }],
  ["rt-nightblur-every4", "rtabmap", { queries: "night:1", mapEvery: 4 }],
  ["rt64-every3", "rtabmap", { map: "down:64x48", queries: "down:64x48", mapEvery: 3 }],
  ["simhard-every2", "sim-hard", { mapEvery: 2 }],
  ["simhard-every3", "sim-hard", { mapEvery: 3 }],
  ["simhard-every4", "sim-hard", { mapEvery: 4 }],
  ["sim-every4", "sim", { mapEvery: 4 }],
  ["sim-jpeg-every3", "sim", { queries: "jpeg:30", mapEvery: 3 }],
  // Added for the small-map vocabulary measurement (bench/results/2026-12-02-small-map-vocabulary.md): maps
  // thinned from another place than the first, and two more night-like simulated maps.
  ["rt-nightmap-every4-o1", "rtabmap", { map: "night", mapEvery: 4, mapOffset: 1 }],
  ["rt-every4-o2", "rtabmap", { mapEvery: 4, mapOffset: 2 }],
  ["simnight-every3", "night-sim", { mapEvery: 3 }],
  ["simnight-every4-o2", "night-sim", { mapEvery: 4, mapOffset: 2 }],
  ["simhard-every5-o1", "sim-hard", { mapEvery: 5, mapOffset: 1 }],
];

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      sim: { type: "string" },
      "night-sim": { type: "string" },
      "sim-hard": { type: "string" },
      only: { type: "string" },
    },
    allowPositionals: true,
  });
  const out = positionals[0];
  if (!out) {
    throw new Error(
      "usage: sparse_maps.ts OUT_DIR [--sim SIM_DIR] [--night-sim SIM_DIR] [--sim-hard SIM_DIR] [--only NAME,...]",
    );
  }
  const only = values.only ? new Set(values.only.split(",").map((x) => x.trim())) : null;
  for (const name of only ?? []) {
    if (!SPARSE_SETS.some(([n]) => n === name)) {
      throw new Error(
        `sparse_maps: --only: no set named "${name}" (sets: ${SPARSE_SETS.map(([n]) => n).join(", ")})`,
      );
    }
  }
  if (await fileExists(out)) throw new Error(`sparse_maps: ${out} already exists; give a new folder`);
  if (!(await fileExists(join(RTABMAP, "database.csv")))) {
    throw new Error(`sparse_maps: the shared rtabmap set is missing at ${RTABMAP}`);
  }
  await Deno.mkdir(out, { recursive: true });
  const sources = {
    rtabmap: RTABMAP,
    sim: values.sim,
    "night-sim": values["night-sim"],
    "sim-hard": values["sim-hard"],
  };
  for (const [name, from, how] of SPARSE_SETS) {
    const src = sources[from];
    if (!src || (only && !only.has(name))) continue;
    await deriveRetrievalDataset(src, join(out, `${name}-ds`), how);
    await dumpCache(join(out, `${name}-ds`), join(out, name));
    const r = replay(await readCache(join(out, name)), {}, false);
    console.log(
      `${name.padEnd(20)} single ${r.single.toFixed(3)} smoothed ${r.smoothed.toFixed(3)} ece ${
        r.ece.toFixed(3)
      }`,
    );
  }
}
