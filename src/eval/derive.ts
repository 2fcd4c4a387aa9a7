/**
 * Derived datasets for the robustness suite: a dataset's images degraded (`src/eval/degrade.ts`) and written
 * in the standard layout of `docs/dataset_format.md`, so that every evaluation command reads them unchanged.
 *
 * A retrieval dataset keeps its map and query lists, stamps and positions; its ground truth is written as
 * explicit pairs (`matches.csv`), whatever it came from. A loop dataset keeps `sequence.csv` and writes
 * `loops.csv`. Degraded images are PNG (lossless: a `jpeg:Q` step is already inside the pixels); an image of
 * a side with no degradation is copied byte for byte. Image `i` of a side draws its noise from a seed made of
 * the run seed, the side and `i`, so a derived dataset is the same bytes on every run.
 *
 * @module
 */
import { join } from "node:path";
import { invalid } from "../errors.ts";
import { readLoopDataset } from "../dataset/loop_dataset.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import type { DatasetImage, LoopDataset, RetrievalDataset } from "../dataset/types.ts";
import { decodeImage } from "../image/decode.ts";
import { encodeImage } from "../io/simulator/encode.ts";
import { type Degradation, degrade, parseDegradations } from "./degrade.ts";

/** What to do to a retrieval dataset. Empty or absent specs leave that side unchanged. */
export interface RetrievalDerivation {
  /** Degradation of the map images (`database.csv`), e.g. `down:160x120`. */
  map?: string;
  /** Degradation of the query images, e.g. `night+down:160x120`. */
  queries?: string;
  /**
   * Keep only every `mapEvery`-th map image (from `mapOffset`), and only the queries whose true matches include
   * a kept one (a small map: few places to fit a vocabulary on and to rank). Default 1: every image.
   */
  mapEvery?: number;
  /**
   * With `mapEvery`: the first map image kept (0 to `mapEvery` - 1), so that the same map thinned from another
   * place can be measured. Default 0.
   */
  mapOffset?: number;
  /** Run seed. Default 1. */
  seed?: number;
}

/** What to do to a loop dataset. */
export interface LoopDerivation {
  /** Degradation of every frame. */
  frames?: string;
  /** Run seed. Default 1. */
  seed?: number;
}

const SIDE_SEED = { database: 0x1000, queries: 0x2000, frames: 0x3000 } as const;

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function imageListCsv(images: DatasetImage[], names: string[]): string {
  const withPos = images.every((i) => i.position);
  const header = withPos ? "image,stamp,x,y" : "image,stamp";
  const rows = images.map((img, k) => {
    const cells = [csvField(names[k]), String(img.stamp)];
    if (withPos) cells.push(String(img.position!.x), String(img.position!.y));
    return cells.join(",");
  });
  return [header, ...rows].join("\n") + "\n";
}

async function writeSide(
  images: DatasetImage[],
  dir: string,
  sub: string,
  steps: Degradation[],
  seed: number,
): Promise<string[]> {
  await Deno.mkdir(join(dir, "images", sub), { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < images.length; i++) {
    const img = images[i];
    const bytes = await Deno.readFile(img.path);
    if (steps.length === 0) {
      const ext = img.path.slice(img.path.lastIndexOf(".")).toLowerCase() || ".img";
      const name = `images/${sub}/${String(i).padStart(5, "0")}${ext}`;
      await Deno.writeFile(join(dir, name), bytes);
      names.push(name);
      continue;
    }
    const px = await decodeImage(bytes, { channels: 3, source: img.path });
    const out = await degrade(px, steps, (seed * 0x10000 + i) >>> 0);
    const name = `images/${sub}/${String(i).padStart(5, "0")}.png`;
    await Deno.writeFile(join(dir, name), await encodeImage(out, "png"));
    names.push(name);
  }
  return names;
}

async function prepareOut(outDir: string): Promise<void> {
  await Deno.mkdir(outDir, { recursive: true });
  for await (const _ of Deno.readDir(outDir)) {
    throw invalid("write a derived dataset", "outDir", "an empty or new folder", outDir);
  }
}

/** Every `every`-th map image from `offset`, and the queries that still have a true match among them. */
function subsetMap(ds: RetrievalDataset, every: number, offset: number): RetrievalDataset {
  if (every === 1) return ds;
  const keep = new Map<number, number>();
  ds.database.forEach((_, i) => {
    if (i % every === offset) keep.set(i, keep.size);
  });
  const database = ds.database.filter((_, i) => keep.has(i));
  const queries: DatasetImage[] = [], truth: number[][] = [];
  ds.queries.forEach((q, k) => {
    const t = ds.truth[k].filter((d) => keep.has(d)).map((d) => keep.get(d)!);
    if (t.length === 0) return;
    queries.push(q);
    truth.push(t);
  });
  if (queries.length === 0) {
    throw invalid(
      "derive a retrieval dataset",
      "mapEvery",
      "a step that keeps a true match of some query",
      every,
    );
  }
  return { ...ds, database, queries, truth };
}

/**
 * Write `source` (a retrieval dataset, or its folder) degraded as `how` says into `outDir` (created; must be
 * empty). Returns the derived dataset as read back from disk.
 *
 * @example
 * ```ts ignore
 * const ds = await deriveRetrievalDataset("../shared/data/rtabmap_samples_loop", "/tmp/night", { queries: "night" });
 * console.log(ds.queries.length);
 * ```
 */
export async function deriveRetrievalDataset(
  source: RetrievalDataset | string,
  outDir: string,
  how: RetrievalDerivation,
): Promise<RetrievalDataset> {
  const mapSteps = parseDegradations(how.map ?? ""), querySteps = parseDegradations(how.queries ?? "");
  const every = how.mapEvery ?? 1;
  if (!Number.isInteger(every) || every < 1) {
    throw invalid("derive a retrieval dataset", "mapEvery", "a whole number >= 1", every);
  }
  const offset = how.mapOffset ?? 0;
  if (!Number.isInteger(offset) || offset < 0 || offset >= every) {
    throw invalid(
      "derive a retrieval dataset",
      "mapOffset",
      `a whole number in [0, mapEvery - 1 = ${every - 1}]`,
      offset,
    );
  }
  const ds = subsetMap(
    typeof source === "string" ? await readRetrievalDataset(source) : source,
    every,
    offset,
  );
  const seed = how.seed ?? 1;
  await prepareOut(outDir);
  const dbNames = await writeSide(ds.database, outDir, "db", mapSteps, seed * 16 + SIDE_SEED.database);
  const qNames = await writeSide(ds.queries, outDir, "q", querySteps, seed * 16 + SIDE_SEED.queries);
  const pairs: string[] = ["query,database"];
  ds.truth.forEach((t, q) => t.forEach((d) => pairs.push(`${csvField(qNames[q])},${csvField(dbNames[d])}`)));
  // CSVs last: an interrupted derivation is not a readable dataset.
  await Deno.writeTextFile(join(outDir, "matches.csv"), pairs.join("\n") + "\n");
  await Deno.writeTextFile(join(outDir, "queries.csv"), imageListCsv(ds.queries, qNames));
  await Deno.writeTextFile(join(outDir, "database.csv"), imageListCsv(ds.database, dbNames));
  return await readRetrievalDataset(outDir);
}

/** Write `source` (a loop dataset, or its folder) degraded into `outDir` (created; must be empty). */
export async function deriveLoopDataset(
  source: LoopDataset | string,
  outDir: string,
  how: LoopDerivation,
): Promise<LoopDataset> {
  const steps = parseDegradations(how.frames ?? "");
  const ds = typeof source === "string" ? await readLoopDataset(source) : source;
  const seed = how.seed ?? 1;
  await prepareOut(outDir);
  const names = await writeSide(ds.frames, outDir, "seq", steps, seed * 16 + SIDE_SEED.frames);
  const pairs: string[] = ["query,match"];
  ds.loops.forEach((t, q) => t.forEach((m) => pairs.push(`${csvField(names[q])},${csvField(names[m])}`)));
  await Deno.writeTextFile(join(outDir, "loops.csv"), pairs.join("\n") + "\n");
  await Deno.writeTextFile(join(outDir, "sequence.csv"), imageListCsv(ds.frames, names));
  return await readLoopDataset(outDir);
}
