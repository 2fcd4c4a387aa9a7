/**
 * Aliased loop-closure datasets: sequences in which distinct places that look alike come back at the moments a
 * revisit could be expected, written in the loop layout of `docs/dataset_format.md` (`sequence.csv` +
 * `loops.csv`, JPEG images under `images/`) so that `waymark eval loops` and the robustness suite can score a
 * detector where a look-alike match is the easy mistake.
 *
 * Two kinds, one call: {@link writeAliasedLoopDataset}`(kind, dir, options)`.
 *
 * - `"sim"`: the simulated building with a high share of look-alike wall segments (`aliasing`, default 0.6).
 *   One full lap (which passes the look-alike copies of earlier segments: the bait), then a later partial
 *   traversal (default 0.6 of a lap, under a changed condition and a small lateral shift) that truly revisits the
 *   start of the route. Ground truth from the poses (`loopPairs`: same place within `radius` metres and 30
 *   degrees of heading, the earlier frame at least `excludeSeconds` older), as `waymark sim export` does.
 * - `"real"`: the shared rtabmap corridor images (`source`: the `rtabmap_samples_loop` folder, whose `gt.csv`
 *   lists every true pair of its two passes), resized (default 160x120) and arranged so that look-alike places
 *   come first where revisits later come (the source frames by number; pass 1 is frames 1..40, pass 2 frames
 *   41..80 over the same places in the same order, about 40 frames later):
 *   1. A: pass 1, frames 1..20 (places 1..20, first seen);
 *   2. B: pass 2, frames 64..76 (places 24..36, first seen here: the same building's corridors, a different
 *      stretch of it; any loop event here is false);
 *   3. M (`mirror`, default on): frames 3..18 mirrored left to right: the textures, doors and lights of A in a
 *      layout that exists nowhere (a symmetric corridor's look-alike; no true loop);
 *   4. C: pass 2, frames 41..60: true revisits of A;
 *   5. D: pass 1, frames 24..36: true revisits of B.
 *   Two frames show the same place when `gt.csv` pairs them (in either order), or when they are within 2 frame
 *   numbers of each other in the same pass; the pair is a loop when the frames are at least `minGap` positions
 *   apart in the new sequence (recent frames are not loops, as in the shared set's `loops.csv`).
 *
 * `transform` (e.g. a night-like degradation) is applied to the resized frames before they are encoded; it
 * learns whether a frame is a revisit, so that only the revisits can be degraded (a map by day, a return at
 * night). No other degradation is built in.
 *
 * @module
 */
import { join } from "node:path";
import { readCsvFile } from "../dataset/csv.ts";
import { DatasetError, invalid } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import { resizePixels } from "../image/resize.ts";
import { type ConditionName, traversalSetup } from "../io/simulator/conditions.ts";
import { encodeImage } from "../io/simulator/encode.ts";
import { loopPairs } from "../io/simulator/ground_truth.ts";
import { createSimulator, type SimPose } from "../io/simulator/simulator.ts";
import type { PixelImage } from "../types.ts";

/** The kinds of aliased loop dataset. */
export type AliasedLoopKind = "sim" | "real";

/** What {@link AliasedLoopOptions.transform} learns about a frame. */
export interface AliasedFrameInfo {
  /** Position in the written sequence (0-based). */
  index: number;
  /** True when the frame revisits a place shown earlier in the sequence (it has a true loop). */
  revisit: boolean;
}

/** Options of {@link writeAliasedLoopDataset}; each field says which kind reads it. All optional but `source`
 * for `"real"`. */
export interface AliasedLoopOptions {
  /** Image size, pixels. Default 160 x 120 (the low-resolution corridor the issue describes). */
  width?: number;
  height?: number;
  /** JPEG quality 1..100. Default 90. */
  quality?: number;
  /** Applied to every frame after resizing (must keep its size and channels). Default none. */
  transform?: (image: PixelImage, frame: AliasedFrameInfo) => PixelImage | Promise<PixelImage>;
  /** real: the `rtabmap_samples_loop` folder (with `frames.csv` and `gt.csv`). Required for `"real"`. */
  source?: string;
  /** real: add the mirrored look-alike segment M. Default true. */
  mirror?: boolean;
  /** real: positions in the new sequence a loop's frames are at least apart. Default 10. */
  minGap?: number;
  /** sim: seed of the building and noise. Default 5. */
  seed?: number;
  /** sim: share of wall segments that copy an earlier one (0..1). Default 0.6. */
  aliasing?: number;
  /** sim: frames per lap. Default 150. */
  framesPerLap?: number;
  /** sim: laps of the revisiting traversal (0 < x <= 1). Default 0.6. */
  revisitLaps?: number;
  /** sim: condition change of the revisit (`src/io/simulator/conditions.ts`). Default "lighting". */
  condition?: ConditionName;
  /** sim: same-place radius (metres) and loop exclusion window (seconds). Defaults 2.5 and 20. */
  radius?: number;
  excludeSeconds?: number;
}

/** What {@link writeAliasedLoopDataset} wrote. */
export interface AliasedLoopSummary {
  dir: string;
  kind: AliasedLoopKind;
  frames: number;
  /** Rows of `loops.csv`. */
  loops: number;
  /** Frames that have at least one true loop. */
  loopFrames: number;
  /** Image size written. */
  width: number;
  height: number;
}

const ACTION = "write an aliased loop dataset";

interface PlannedFrame {
  name: string;
  stamp: number;
  position?: { x: number; y: number };
  /** Produces the frame's pixels at the requested size. */
  render: () => PixelImage | Promise<PixelImage>;
}

/**
 * Write an aliased loop-closure dataset of `kind` into `dir`, a folder the caller created (it must exist and be
 * empty). The CSV files are written last, so an interrupted call leaves no readable dataset.
 *
 * @example
 * ```ts ignore
 * import { writeAliasedLoopDataset } from "./aliased_loops.ts";
 * const dir = await Deno.makeTempDir();
 * const s = await writeAliasedLoopDataset("sim", dir, { framesPerLap: 120 });
 * console.log(s.frames, s.loopFrames); // then: waymark eval loops <dir>
 * ```
 */
export async function writeAliasedLoopDataset(
  kind: AliasedLoopKind,
  dir: string,
  options: AliasedLoopOptions = {},
): Promise<AliasedLoopSummary> {
  if (kind !== "sim" && kind !== "real") throw invalid(ACTION, "kind", '"sim" or "real"', kind);
  const width = options.width ?? 160, height = options.height ?? 120;
  for (const [f, v] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 4096) throw invalid(ACTION, f, "an integer in [16, 4096]", v);
  }
  const quality = options.quality ?? 90;
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw invalid(ACTION, "quality", "an integer in [1, 100]", quality);
  }
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new DatasetError(`Cannot ${ACTION} to '${dir}': the folder does not exist (create it first)`, {
        context: { file: dir },
      });
    }
    throw err;
  }
  if (entries.length > 0) {
    throw new DatasetError(`Cannot ${ACTION} to '${dir}': the folder is not empty`, {
      context: { file: dir },
    });
  }
  const plan = kind === "sim" ? planSim(options, width, height) : await planReal(options, width, height);
  const revisit = new Set(plan.loops.map(([q]) => q));

  await Deno.mkdir(join(dir, "images"));
  for (let i = 0; i < plan.frames.length; i++) {
    const f = plan.frames[i];
    let image = await f.render();
    if (options.transform) {
      const out = await options.transform(image, { index: i, revisit: revisit.has(i) });
      if (out.width !== image.width || out.height !== image.height || out.channels !== image.channels) {
        throw invalid(ACTION, "transform", "a function that keeps the frame's size and channels", out);
      }
      image = out;
    }
    await Deno.writeFile(join(dir, f.name), await encodeImage(image, "jpeg", quality));
  }
  const fmt = (v: number) => (Math.round(v * 1000) / 1000).toString();
  const withPos = plan.frames.every((f) => f.position !== undefined);
  const seq = plan.frames.map((f) =>
    withPos
      ? `${f.name},${fmt(f.stamp)},${fmt(f.position!.x)},${fmt(f.position!.y)}`
      : `${f.name},${fmt(f.stamp)}`
  );
  const loops = plan.loops.map(([q, m]) => `${plan.frames[q].name},${plan.frames[m].name}`);
  await Deno.writeTextFile(
    join(dir, "sequence.csv"),
    [withPos ? "image,stamp,x,y" : "image,stamp", ...seq].join("\n") + "\n",
  );
  await Deno.writeTextFile(join(dir, "loops.csv"), ["query,match", ...loops].join("\n") + "\n");
  return {
    dir,
    kind,
    frames: plan.frames.length,
    loops: plan.loops.length,
    loopFrames: revisit.size,
    width,
    height,
  };
}

interface Plan {
  frames: PlannedFrame[];
  /** (later, earlier) sequence positions of every true loop. */
  loops: [number, number][];
}

function planSim(options: AliasedLoopOptions, width: number, height: number): Plan {
  const aliasing = options.aliasing ?? 0.6;
  const revisitLaps = options.revisitLaps ?? 0.6;
  if (!(revisitLaps > 0 && revisitLaps <= 1)) {
    throw invalid(ACTION, "revisitLaps", "a number in (0, 1]", revisitLaps);
  }
  const sim = createSimulator({
    seed: options.seed ?? 5,
    width,
    height,
    aliasing,
    frames: options.framesPerLap ?? 150,
  });
  const first = traversalSetup(0, "none");
  const second = traversalSetup(1, options.condition ?? "lighting");
  // The revisit starts a minute after the first lap ends, shifted sideways (a different viewpoint).
  const lap1 = sim.path({ ...first.traversal, laps: 1 });
  const lapTime = sim.plan.routeLength / sim.options.speed;
  const lap2 = sim.path({
    lateralOffset: 0.25,
    headingJitterDeg: 2,
    ...second.traversal,
    laps: revisitLaps,
    startStamp: lapTime + 60,
  });
  const steps: { pose: SimPose; cond: typeof first.conditions }[] = [
    ...lap1.map((pose) => ({ pose, cond: first.conditions })),
    ...lap2.map((pose) => ({ pose, cond: second.conditions })),
  ];
  const frames: PlannedFrame[] = steps.map(({ pose, cond }, i) => ({
    name: `images/f${String(i).padStart(5, "0")}.jpg`,
    stamp: pose.stamp,
    position: { x: pose.x, y: pose.y },
    render: () => sim.render(pose, { ...cond, noiseSeed: (cond.noiseSeed ?? 0) + pose.seq }),
  }));
  const loops = loopPairs(steps.map((s) => s.pose), {
    radius: options.radius ?? 2.5,
    excludeSeconds: options.excludeSeconds ?? 20,
  });
  return { frames, loops };
}

/** Segments of the real arrangement (source frame numbers; see the module doc). */
const REAL_SEGMENTS: { frames: [number, number]; mirror?: boolean }[] = [
  { frames: [1, 20] },
  { frames: [64, 76] },
  { frames: [3, 18], mirror: true },
  { frames: [41, 60] },
  { frames: [24, 36] },
];

/** Pass of a source frame: 1..40 first, 41..80 second, later frames the final return. */
function passOf(frame: number): number {
  return frame <= 40 ? 1 : frame <= 80 ? 2 : 3;
}

async function planReal(options: AliasedLoopOptions, width: number, height: number): Promise<Plan> {
  const source = options.source;
  if (typeof source !== "string" || source === "") {
    throw invalid(ACTION, "source", "the rtabmap_samples_loop folder (frames.csv, gt.csv)", source);
  }
  const minGap = options.minGap ?? 10;
  if (!Number.isInteger(minGap) || minGap < 1) throw invalid(ACTION, "minGap", "an integer >= 1", minGap);
  const framesTable = await readCsvFile(join(source, "frames.csv"));
  const gtTable = await readCsvFile(join(source, "gt.csv"));
  const col = (t: typeof framesTable, name: string) => {
    const i = t.header.indexOf(name);
    if (i < 0) {
      throw new DatasetError(`${t.file}:1: column '${name}' is missing`, {
        context: { file: t.file, line: 1 },
      });
    }
    return i;
  };
  const fi = col(framesTable, "frame"), ii = col(framesTable, "image");
  const imageOf = new Map<number, string>();
  for (const r of framesTable.rows) imageOf.set(Number(r.fields[fi]), r.fields[ii]);
  const qi = col(gtTable, "query_frame"), mi = col(gtTable, "match_frame");
  const same = new Set<string>();
  for (const r of gtTable.rows) {
    const a = Number(r.fields[qi]), b = Number(r.fields[mi]);
    same.add(`${Math.min(a, b)},${Math.max(a, b)}`);
  }
  const samePlace = (a: number, b: number) =>
    same.has(`${Math.min(a, b)},${Math.max(a, b)}`) || (passOf(a) === passOf(b) && Math.abs(a - b) <= 2);

  const mirror = options.mirror ?? true;
  const order: { frame: number; mirror: boolean }[] = [];
  for (const seg of REAL_SEGMENTS) {
    if (seg.mirror && !mirror) continue;
    for (let f = seg.frames[0]; f <= seg.frames[1]; f++) {
      order.push({ frame: f, mirror: seg.mirror ?? false });
    }
  }
  const frames: PlannedFrame[] = order.map(({ frame, mirror }, i) => {
    const rel = imageOf.get(frame);
    if (rel === undefined) {
      throw new DatasetError(`${framesTable.file}: frame ${frame} is missing`, {
        context: { file: framesTable.file },
      });
    }
    return {
      name: `images/s${String(i).padStart(3, "0")}_${mirror ? "m" : "f"}${frame}.jpg`,
      stamp: i,
      render: async () => {
        const path = join(source, rel);
        const img = resizePixels(
          await decodeImage(await Deno.readFile(path), { source: path }),
          width,
          height,
        );
        return mirror ? mirrorPixels(img) : img;
      },
    };
  });
  const loops: [number, number][] = [];
  for (let q = 0; q < order.length; q++) {
    if (order[q].mirror) continue;
    for (let m = 0; m + minGap <= q; m++) {
      if (!order[m].mirror && samePlace(order[q].frame, order[m].frame)) loops.push([q, m]);
    }
  }
  return { frames, loops };
}

/** The image mirrored left to right. */
function mirrorPixels(img: PixelImage): PixelImage {
  const { width, height, channels } = img;
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (y * width + x) * channels, d = (y * width + (width - 1 - x)) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = img.data[s + c];
    }
  }
  return { width, height, channels, data: out };
}
