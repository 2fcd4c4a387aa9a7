/**
 * The robustness suite (issue 9 §2): retrieval, stream and loop-closure evaluation over a list of rows that are
 * not the shared set as it is: the shared rtabmap set native and degraded (`src/eval/degrade.ts`, written by
 * `src/eval/derive.ts`), simulated routes with changed conditions and look-alike segments, and aliased loop
 * sequences (`src/eval/aliased_loops.ts`). The classic recipe (`src/eval/classic.ts`) runs beside Waymark on
 * every retrieval row, and its single-frame loop baseline on every loop row.
 *
 * Each row reuses the project's evaluations unchanged: `evaluateRetrieval` (Recall@1/5), `evaluateStream`
 * (smoothed Recall@1 and ECE) and `evaluateLoops` (precision, recall, recall at 100% precision).
 *
 * Derived datasets, classic vocabularies and classic results are cached under a cache folder (default
 * `.waymark-cache/suite`), keyed by the source data, the row's definition and the code versions below; the
 * Waymark column is always computed (it is what changes between runs).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { readLoopDataset } from "../dataset/loop_dataset.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import type { DatasetImage, LoopDataset, RetrievalDataset } from "../dataset/types.ts";
import { invalid } from "../errors.ts";
import { exportSimDataset } from "../io/simulator/export.ts";
import { decodeImageFile } from "../map/build_map.ts";
import { fitDefaultModel } from "../model/default_model.ts";
import { loadModel, loadModelBundle } from "../model/onnx_model.ts";
import { DEFAULT_PRESET, getPreset } from "../model/registry.ts";
import { removeQuietly } from "../_fs.ts";
import { loadPipelineVerifier } from "../pipeline/verifier_loader.ts";
import type { Verifier } from "../pipeline/verification_hook.ts";
import type { DescriptorModel, PixelImage } from "../types.ts";
import { writeAliasedLoopDataset } from "./aliased_loops.ts";
import {
  classicLocalDescriptors,
  ClassicVladModel,
  type ClassicVocabulary,
  fitClassicVocabulary,
} from "./classic.ts";
import { deriveLoopDataset, deriveRetrievalDataset } from "./derive.ts";
import { degrade } from "./degrade.ts";
import { type ScoredLoopEvent, scoreLoops } from "./_metrics_stream.ts";
import { evaluateLoops } from "./loops.ts";
import { evaluateRetrieval } from "./retrieval.ts";
import { evaluateStream } from "./stream.ts";

/** Bump when derived data or the classic recipe's numbers would change (invalidates the caches). */
export const SUITE_DATA_VERSION = 1;
export const CLASSIC_VERSION = 1;

/** Frames a single-frame loop baseline ignores behind the query (the loop detector's default window). */
const LOOP_EXCLUDE = 10;

/** Where a row's data comes from. */
type Source =
  | { kind: "rtabmap"; map?: string; queries?: string; mapEvery?: number; mapOffset?: number }
  | { kind: "rtabmap-loops"; frames?: string }
  | { kind: "sim"; sim: SimSpec; queries?: string }
  | { kind: "sim-loops"; sim: SimSpec }
  | { kind: "aliased"; which: "sim" | "real"; revisits?: string }
  | { kind: "dir"; path: string };

interface SimSpec {
  condition: "all" | "lighting" | "none";
  strength: number;
  aliasing: number;
  seed: number;
}

/** One row of the suite. */
export interface SuiteRowDef {
  name: string;
  kind: "retrieval" | "loops";
  what: string;
  source: Source;
  /** Part of `--quick` (sim rows only: they need no shared data). */
  quick?: boolean;
}

const SIM: SimSpec = { condition: "all", strength: 1, aliasing: 0.3, seed: 1 };
const SIM_HARD: SimSpec = { condition: "all", strength: 2, aliasing: 0.6, seed: 2 };
const CROP = "crop:0.1-0.2:random";

/** The rows, in table order. */
export const SUITE_ROWS: readonly SuiteRowDef[] = [
  { name: "rtabmap", kind: "retrieval", what: "shared rtabmap set, native", source: { kind: "rtabmap" } },
  {
    name: "rtabmap-160x120",
    kind: "retrieval",
    what: "map and queries downscaled to 160x120",
    source: { kind: "rtabmap", map: "down:160x120", queries: "down:160x120" },
  },
  {
    name: "rtabmap-64x48",
    kind: "retrieval",
    what: "map and queries downscaled to 64x48",
    source: { kind: "rtabmap", map: "down:64x48", queries: "down:64x48" },
  },
  {
    name: "night",
    kind: "retrieval",
    what: "queries night-like (gamma 2.2, x0.35, cast, noise 0.02, JPEG 85)",
    source: { kind: "rtabmap", queries: "night" },
  },
  {
    name: "night-blur",
    kind: "retrieval",
    what: "queries night-like with blur sigma 1 px",
    source: { kind: "rtabmap", queries: "night:1" },
  },
  {
    name: "darker",
    kind: "retrieval",
    what: "queries x0.3",
    source: { kind: "rtabmap", queries: "darker:0.3" },
  },
  {
    name: "jpeg30",
    kind: "retrieval",
    what: "queries JPEG quality 30",
    source: { kind: "rtabmap", queries: "jpeg:30" },
  },
  {
    name: "crop",
    kind: "retrieval",
    what: "queries cropped 10-20% (random side), resized back",
    source: { kind: "rtabmap", queries: CROP },
  },
  {
    name: "night-160x120",
    kind: "retrieval",
    what: "night-like queries, map and queries at 160x120",
    source: { kind: "rtabmap", map: "down:160x120", queries: "night+down:160x120" },
  },
  {
    name: "crop-jpeg30",
    kind: "retrieval",
    what: "queries cropped 10-20% then JPEG 30",
    source: { kind: "rtabmap", queries: `${CROP}+jpeg:30` },
  },
  {
    name: "crop-160x120",
    kind: "retrieval",
    what: "map and queries at 160x120, queries cropped 10-20% first (viewpoint at low resolution)",
    source: { kind: "rtabmap", map: "down:160x120", queries: `${CROP}+down:160x120` },
  },
  {
    name: "night-map",
    kind: "retrieval",
    what: "map night-like, queries native (a night map, day queries)",
    source: { kind: "rtabmap", map: "night" },
  },
  {
    name: "night-map-160x120",
    kind: "retrieval",
    what: "map night-like, map and queries at 160x120",
    source: { kind: "rtabmap", map: "night+down:160x120", queries: "down:160x120" },
  },
  {
    name: "night-map-small",
    kind: "retrieval",
    what: "night-like map of every 4th place (10 images), native queries",
    source: { kind: "rtabmap", map: "night", mapEvery: 4 },
  },
  {
    name: "small-160x120",
    kind: "retrieval",
    what: "map of every 4th place (10 images), map and queries at 160x120, queries cropped 10-20%",
    source: { kind: "rtabmap", map: "down:160x120", queries: `${CROP}+down:160x120`, mapEvery: 4 },
  },
  ...[1, 2, 3].map((offset): SuiteRowDef => ({
    name: `night-map-small-o${offset}`,
    kind: "retrieval",
    what: `night-map-small's map thinned from place ${offset} (10 images)`,
    source: { kind: "rtabmap", map: "night", mapEvery: 4, mapOffset: offset },
  })),
  ...[1, 2, 3].map((offset): SuiteRowDef => ({
    name: `small-160x120-o${offset}`,
    kind: "retrieval",
    what: `small-160x120's map thinned from place ${offset} (10 images)`,
    source: {
      kind: "rtabmap",
      map: "down:160x120",
      queries: `${CROP}+down:160x120`,
      mapEvery: 4,
      mapOffset: offset,
    },
  })),
  {
    name: "sim",
    kind: "retrieval",
    what: "simulated route, all conditions changed (strength 1), aliasing 0.3",
    source: { kind: "sim", sim: SIM },
    quick: true,
  },
  {
    name: "sim-hard",
    kind: "retrieval",
    what: "simulated route, all conditions (strength 2), aliasing 0.6",
    source: { kind: "sim", sim: SIM_HARD },
  },
  {
    name: "sim-night",
    kind: "retrieval",
    what: "simulated route, queries also night-like",
    source: { kind: "sim", sim: SIM, queries: "night" },
    quick: true,
  },
  {
    name: "loops-rtabmap",
    kind: "loops",
    what: "shared rtabmap loop sequence, native",
    source: { kind: "rtabmap-loops" },
  },
  {
    name: "loops-rtabmap-160x120",
    kind: "loops",
    what: "shared rtabmap loop sequence at 160x120",
    source: { kind: "rtabmap-loops", frames: "down:160x120" },
  },
  {
    name: "loops-sim",
    kind: "loops",
    what: "simulated route as one sequence (2 laps, aliasing 0.3)",
    source: { kind: "sim-loops", sim: SIM },
    quick: true,
  },
  {
    name: "aliased-real",
    kind: "loops",
    what: "rtabmap corridor at 160x120, look-alike stretches before the revisits",
    source: { kind: "aliased", which: "real" },
  },
  {
    name: "aliased-real-night",
    kind: "loops",
    what: "aliased-real with night-like revisits",
    source: { kind: "aliased", which: "real", revisits: "night" },
  },
  {
    name: "aliased-sim",
    kind: "loops",
    what: "simulated lap past look-alike segments (aliasing 0.6), partial revisit",
    source: { kind: "aliased", which: "sim" },
  },
];

/** Options of {@link runSuite}. */
export interface SuiteOptions {
  /** Row names to run (default all; `quick` rows with `quick`). */
  rows?: string[];
  /**
   * Datasets of your own, each one more row (`retrieval` when the folder has `database.csv`, else `loops`).
   * Without `rows`, only these rows run.
   */
  datasets?: string[];
  /** Tiny sizes (for tests): only the sim rows, 24 frames per lap of a small building at 96x72. */
  quick?: boolean;
  /** The `rtabmap_samples_loop` folder. Rows that need it are skipped (with a note) when absent. */
  rtabmap?: string | null;
  /** Default-model preset of the Waymark column. Default: the registry's default. */
  preset?: string;
  /** Model folder of the Waymark column instead of fitting the default model on each map. */
  modelDir?: string;
  /** Also verify loop events geometrically (both numbers reported). Default false. */
  verify?: boolean;
  /** Cache folder (derived data, classic results). `null`: no cache (a temporary folder, removed). */
  cacheDir?: string | null;
  /** With `cacheDir: null`, keep the temporary folder (its path is in the report). */
  keep?: boolean;
  /** Progress lines. Default stderr. */
  onLog?: (line: string) => void;
  /** Called after each row with the report so far (e.g. to save partial results). */
  onRow?: (partial: SuiteReport) => Promise<void> | void;
}

/** Classic and Waymark results of one row (absent fields: not applicable). */
export interface SuiteRowResult {
  name: string;
  kind: "retrieval" | "loops";
  what: string;
  skipped?: string;
  classic?: { r1?: number; r5?: number; r100p?: number; cached?: boolean };
  waymark?: {
    r1?: number;
    r5?: number;
    smoothedR1?: number;
    ece?: number;
    precision?: number;
    recall?: number;
    r100p?: number;
    events?: number;
    verified?: { precision: number; recall: number; r100p: number; events: number };
  };
  seconds: number;
}

/** The report of {@link runSuite}. */
export interface SuiteReport {
  date: string;
  waymarkModel: string;
  quick: boolean;
  rows: SuiteRowResult[];
  /** Where the derived data is (cache, or the kept temporary folder). */
  dataDir?: string;
  seconds: number;
}

function hash(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

/** A fingerprint of a dataset folder: its CSV files and its files' names and sizes. */
async function fingerprint(dir: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (d: string, rel: string) => {
    const entries = [];
    for await (const e of Deno.readDir(d)) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      const p = join(d, e.name), r = `${rel}/${e.name}`;
      if (e.isDirectory) await walk(p, r);
      else if (e.name.endsWith(".csv")) h.update(r).update(await Deno.readFile(p));
      else h.update(`${r}:${(await Deno.stat(p)).size}`);
    }
  };
  await walk(dir, "");
  return h.digest("hex").slice(0, 16);
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Data folders built once per key: in the cache (complete when `.complete` exists) or the run's temp folder. */
class DataStore {
  constructor(readonly root: string, readonly persistent: boolean) {}
  async get(name: string, key: string, build: (dir: string) => Promise<void>): Promise<string> {
    const dir = join(this.root, "data", `${name}-${key}`);
    if (await exists(join(dir, ".complete"))) return dir;
    await removeQuietly(dir);
    const partial = `${dir}.partial-${Deno.pid}`;
    await removeQuietly(partial);
    await Deno.mkdir(partial, { recursive: true });
    try {
      await build(partial);
      await Deno.writeTextFile(join(partial, ".complete"), key + "\n");
      await Deno.rename(partial, dir);
    } catch (err) {
      await removeQuietly(partial);
      throw err;
    }
    return dir;
  }
  async readJson<T>(name: string): Promise<T | null> {
    if (!this.persistent) return null;
    try {
      return JSON.parse(await Deno.readTextFile(join(this.root, "classic", name))) as T;
    } catch {
      return null;
    }
  }
  async writeJson(name: string, value: unknown): Promise<void> {
    if (!this.persistent) return;
    await Deno.mkdir(join(this.root, "classic"), { recursive: true });
    const p = join(this.root, "classic", name);
    await Deno.writeTextFile(`${p}.tmp`, JSON.stringify(value));
    await Deno.rename(`${p}.tmp`, p);
  }
}

/** Everything one run shares between rows: sizes, sources, fitted models. */
class SuiteContext {
  readonly waymarkModels = new Map<string, DescriptorModel>();
  readonly classicLocals = new Map<string, Float32Array>();
  readonly classicVocabs = new Map<string, ClassicVocabulary>();
  verifier?: Verifier;
  rtabmapPrint = "";
  constructor(
    readonly store: DataStore,
    readonly options: SuiteOptions,
    readonly log: (line: string) => void,
  ) {}

  get simSize() {
    // Quick: a small building (a 20 x 12 m loop) so that 24 frames a lap still revisit places within 2.5 m.
    return this.options.quick
      ? { frames: 24, width: 96, height: 72, loopWidth: 20, loopHeight: 12, branches: 2 }
      : { frames: 60, width: 320, height: 240 };
  }

  async simDir(sim: SimSpec): Promise<string> {
    const size = this.simSize;
    const key = hash({ v: SUITE_DATA_VERSION, sim, size });
    return await this.store.get("sim", key, async (dir) => {
      this.log(
        `rendering the simulated route (${size.frames} frames x 2 laps, ${size.width}x${size.height})`,
      );
      await exportSimDataset(dir, {
        ...size,
        traversals: 2,
        seed: sim.seed,
        condition: sim.condition,
        strength: sim.strength,
        aliasing: sim.aliasing,
        overwrite: true,
      });
    });
  }

  /** The row's dataset folder and a key that identifies its content. */
  async rowData(row: SuiteRowDef): Promise<{ dir: string; key: string; mapKey: string }> {
    const s = row.source;
    const rt = this.options.rtabmap!;
    switch (s.kind) {
      case "rtabmap": {
        // A subset map's key names its step; a full map's key stays what it was (the caches remain valid).
        const every = s.mapEvery && s.mapEvery > 1
          ? { every: s.mapEvery, ...(s.mapOffset ? { offset: s.mapOffset } : {}) }
          : {};
        const mapKey = hash({ src: this.rtabmapPrint, map: s.map ?? "", ...every });
        if (!s.map && !s.queries && !s.mapEvery) return { dir: rt, key: this.rtabmapPrint, mapKey };
        const key = hash({
          v: SUITE_DATA_VERSION,
          src: this.rtabmapPrint,
          map: s.map,
          q: s.queries,
          ...every,
        });
        const dir = await this.store.get(row.name, key, async (d) => {
          this.log(`${row.name}: deriving the dataset`);
          await deriveRetrievalDataset(rt, join(d, "ds"), {
            map: s.map,
            queries: s.queries,
            mapEvery: s.mapEvery,
            mapOffset: s.mapOffset,
          });
        });
        return { dir: join(dir, "ds"), key, mapKey };
      }
      case "rtabmap-loops": {
        if (!s.frames) return { dir: rt, key: this.rtabmapPrint, mapKey: "" };
        const key = hash({ v: SUITE_DATA_VERSION, src: this.rtabmapPrint, frames: s.frames });
        const dir = await this.store.get(row.name, key, async (d) => {
          this.log(`${row.name}: deriving the sequence`);
          await deriveLoopDataset(rt, join(d, "ds"), { frames: s.frames });
        });
        return { dir: join(dir, "ds"), key, mapKey: "" };
      }
      case "sim":
      case "sim-loops": {
        const simDir = await this.simDir(s.sim);
        const base = hash({ v: SUITE_DATA_VERSION, sim: s.sim, size: this.simSize });
        const mapKey = hash({ src: base, map: "" });
        if (s.kind === "sim-loops" || !s.queries) return { dir: simDir, key: base, mapKey };
        const key = hash({ src: base, q: s.queries });
        const dir = await this.store.get(row.name, key, async (d) => {
          this.log(`${row.name}: deriving the dataset`);
          await deriveRetrievalDataset(simDir, join(d, "ds"), { queries: s.queries });
        });
        return { dir: join(dir, "ds"), key, mapKey };
      }
      case "dir": {
        const key = await fingerprint(s.path);
        return { dir: s.path, key, mapKey: key };
      }
      case "aliased": {
        const quick = this.options.quick;
        const key = hash({
          v: SUITE_DATA_VERSION,
          src: s.which === "real" ? this.rtabmapPrint : "sim",
          which: s.which,
          revisits: s.revisits,
          quick,
        });
        const dir = await this.store.get(row.name, key, async (d) => {
          this.log(`${row.name}: writing the aliased sequence`);
          await writeAliasedLoopDataset(s.which, d, {
            source: s.which === "real" ? rt : undefined,
            framesPerLap: s.which === "sim" ? (quick ? 30 : 100) : undefined,
            transform: s.revisits
              ? (img, f) => (f.revisit ? degrade(img, s.revisits!, 7919 + f.index) : img)
              : undefined,
          });
        });
        return { dir, key, mapKey: "" };
      }
    }
  }

  /** The Waymark model of a map: the given folder, else the default model fitted on the map's images. */
  async waymarkModel(mapKey: string, database: DatasetImage[]): Promise<DescriptorModel> {
    const key = this.options.modelDir ? "given" : mapKey;
    const have = this.waymarkModels.get(key);
    if (have) return have;
    let model: DescriptorModel;
    if (this.options.modelDir) model = await loadModel(this.options.modelDir, { provider: "auto" });
    else {
      const fitSet: PixelImage[] = [];
      const step = Math.max(1, database.length / 400);
      for (let i = 0; i < database.length; i += step) {
        const img = database[Math.floor(i)];
        // The default model's front end is grey, as the map build's fit.
        fitSet.push(await decodeImageFile(await Deno.readFile(img.path), img.path, 1));
      }
      const preset = getPreset(this.options.preset ?? DEFAULT_PRESET);
      model = await loadModelBundle(await fitDefaultModel(fitSet, preset.fit), { provider: "auto" });
    }
    this.waymarkModels.set(key, model);
    return model;
  }

  /** Classic local descriptors of an image file, computed once per content in a run. */
  async classicLocal(img: DatasetImage): Promise<Float32Array> {
    const bytes = await Deno.readFile(img.path);
    const key = createHash("sha1").update(bytes).digest("hex");
    let d = this.classicLocals.get(key);
    if (!d) {
      const px = await decodeImageFile(bytes, img.path, 3);
      d = classicLocalDescriptors(px);
      this.classicLocals.set(key, d);
    }
    return d;
  }

  async close(): Promise<void> {
    for (const m of this.waymarkModels.values()) await m.close();
  }
}

/** Recall@N of ranked lists (database indices) against truth, over queries with a true match. */
function recallOf(ranked: number[][], truth: number[][], n: number): number {
  let hit = 0, total = 0;
  truth.forEach((t, q) => {
    if (t.length === 0) return;
    total++;
    if (ranked[q].slice(0, n).some((id) => t.includes(id))) hit++;
  });
  return total ? hit / total : 0;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** The recipe's vocabulary of a map (k-means on its images' descriptors), once per map in a run. */
async function classicVocabulary(
  ctx: SuiteContext,
  mapKey: string,
  images: DatasetImage[],
): Promise<ClassicVocabulary> {
  const have = ctx.classicVocabs.get(mapKey);
  if (have) return have;
  const locals: Float32Array[] = [];
  for (const img of images) locals.push(await ctx.classicLocal(img));
  const vocab = fitClassicVocabulary(locals);
  ctx.classicVocabs.set(mapKey, vocab);
  return vocab;
}

/** The classic recipe on a retrieval dataset: vocabulary from the map, cosine ranking of the map per query. */
async function classicRetrieval(
  ctx: SuiteContext,
  mapKey: string,
  ds: RetrievalDataset,
): Promise<{ r1: number; r5: number }> {
  const model = new ClassicVladModel(await classicVocabulary(ctx, mapKey, ds.database));
  const db: Float32Array[] = [];
  for (const img of ds.database) db.push(model.globalOf(await ctx.classicLocal(img)));
  const ranked: number[][] = [];
  for (const q of ds.queries) {
    const g = model.globalOf(await ctx.classicLocal(q));
    const sims = db.map((d, i) => [dot(g, d), i]);
    sims.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    ranked.push(sims.map((s) => s[1]));
  }
  return { r1: recallOf(ranked, ds.truth, 1), r5: recallOf(ranked, ds.truth, 5) };
}

/**
 * The classic single-frame loop baseline: vocabulary from the sequence itself, each frame's event is its most
 * similar frame at least `LOOP_EXCLUDE` frames older, with the cosine as confidence.
 */
async function classicLoops(ctx: SuiteContext, key: string, ds: LoopDataset): Promise<{ r100p: number }> {
  const model = new ClassicVladModel(await classicVocabulary(ctx, `loops-${key}`, ds.frames));
  const g: Float32Array[] = [];
  for (const f of ds.frames) g.push(model.globalOf(await ctx.classicLocal(f)));
  const events: ScoredLoopEvent[] = [];
  for (let i = 0; i < g.length; i++) {
    let best = -1, bestS = -Infinity;
    for (let j = 0; j < i - LOOP_EXCLUDE; j++) {
      const s = dot(g[i], g[j]);
      if (s > bestS) {
        bestS = s;
        best = j;
      }
    }
    if (best >= 0) events.push({ query: i, match: best, confidence: bestS });
  }
  return { r100p: scoreLoops(events, ds.loops).recallAt100Precision };
}

async function runRow(ctx: SuiteContext, row: SuiteRowDef): Promise<SuiteRowResult> {
  const t0 = performance.now();
  const out: SuiteRowResult = { name: row.name, kind: row.kind, what: row.what, seconds: 0 };
  const needsShared = row.source.kind.startsWith("rtabmap") ||
    (row.source.kind === "aliased" && row.source.which === "real");
  if (needsShared && !ctx.options.rtabmap) {
    out.skipped = "the shared rtabmap set is absent";
    return out;
  }
  const { dir, key, mapKey } = await ctx.rowData(row);
  const warn = (m: string) => ctx.log(`${row.name}: warning: ${m}`);
  const classicKey = `${row.name}-${hash({ key, v: CLASSIC_VERSION, quick: !!ctx.options.quick })}.json`;
  const cached = await ctx.store.readJson<SuiteRowResult["classic"]>(classicKey);
  if (row.kind === "retrieval") {
    const ds = await readRetrievalDataset(dir);
    if (cached) out.classic = { ...cached, cached: true };
    else {
      ctx.log(`${row.name}: classic recipe (${ds.database.length} map images, ${ds.queries.length} queries)`);
      out.classic = await classicRetrieval(ctx, mapKey, ds);
      await ctx.store.writeJson(classicKey, out.classic);
    }
    ctx.log(`${row.name}: Waymark retrieval and stream`);
    const model = await ctx.waymarkModel(mapKey, ds.database);
    const r = await evaluateRetrieval(ds, { model, ns: [1, 5], onWarning: warn });
    const s = await evaluateStream(ds, { model, onWarning: warn });
    out.waymark = { r1: r.recall[1], r5: r.recall[5], smoothedR1: s.smoothedRecall1, ece: s.ece };
  } else {
    const ds = await readLoopDataset(dir);
    if (cached) out.classic = { ...cached, cached: true };
    else {
      ctx.log(`${row.name}: classic single-frame baseline (${ds.frames.length} frames)`);
      out.classic = await classicLoops(ctx, key, ds);
      await ctx.store.writeJson(classicKey, out.classic);
    }
    ctx.log(`${row.name}: Waymark loops${ctx.options.verify ? " (and verified)" : ""}`);
    if (ctx.options.verify) ctx.verifier ??= await loadPipelineVerifier({});
    const r = await evaluateLoops(ds, {
      modelDir: ctx.options.modelDir,
      verifier: ctx.options.verify ? ctx.verifier : undefined,
      onWarning: warn,
    });
    out.waymark = {
      precision: r.scores.precision,
      recall: r.scores.recall,
      r100p: r.scores.recallAt100Precision,
      events: r.scores.events,
    };
    if (r.verifiedScores) {
      out.waymark.verified = {
        precision: r.verifiedScores.precision,
        recall: r.verifiedScores.recall,
        r100p: r.verifiedScores.recallAt100Precision,
        events: r.verifiedScores.events,
      };
    }
  }
  out.seconds = (performance.now() - t0) / 1000;
  return out;
}

/** One row per dataset folder of your own (`SuiteOptions.datasets`). */
export async function datasetRows(paths: string[]): Promise<SuiteRowDef[]> {
  const rows: SuiteRowDef[] = [];
  for (const p of paths) {
    const path = resolve(p);
    const has = (f: string) => exists(join(path, f));
    const kind = (await has("database.csv")) ? "retrieval" : (await has("sequence.csv")) ? "loops" : null;
    if (!kind) {
      throw invalid("run the suite", "dataset", "a folder with database.csv or sequence.csv", p);
    }
    const base = path.slice(path.lastIndexOf("/") + 1);
    rows.push({ name: `dataset:${base}`, kind, what: path, source: { kind: "dir", path } });
  }
  return rows;
}

/** The rows a run selects (`rows` names, else all, or the quick ones); unknown names are refused. */
export function selectRows(
  options: Pick<SuiteOptions, "rows" | "quick">,
  extra: SuiteRowDef[] = [],
): SuiteRowDef[] {
  const pool = [...(options.quick ? SUITE_ROWS.filter((r) => r.quick) : SUITE_ROWS), ...extra];
  if (!options.rows || options.rows.length === 0) return extra.length > 0 ? extra : pool;
  const byName = new Map(pool.map((r) => [r.name, r]));
  return options.rows.map((n) => {
    const r = byName.get(n);
    if (!r) {
      throw invalid("run the suite", "rows", `names among: ${[...byName.keys()].join(", ")}`, n);
    }
    return r;
  });
}

/**
 * Run the suite. Rows run in table order; the Waymark column is the default model fitted on each row's map
 * (or `modelDir`), exactly as `waymark eval retrieval` / `eval stream` / `eval loops` run it.
 *
 * @example
 * ```ts ignore
 * const report = await runSuite({ rtabmap: "../shared/data/rtabmap_samples_loop", rows: ["rtabmap", "night"] });
 * console.log(suiteTable(report));
 * ```
 */
export async function runSuite(options: SuiteOptions = {}): Promise<SuiteReport> {
  const t0 = performance.now();
  const rows = selectRows(options, await datasetRows(options.datasets ?? []));
  const log = options.onLog ?? ((l: string) => console.error(`waymark suite: ${l}`));
  const persistent = options.cacheDir !== null;
  const root = persistent
    ? resolve(options.cacheDir ?? ".waymark-cache/suite")
    : await Deno.makeTempDir({ prefix: "waymark_suite_" });
  await Deno.mkdir(root, { recursive: true });
  const ctx = new SuiteContext(new DataStore(root, persistent), options, log);
  if (options.rtabmap) ctx.rtabmapPrint = await fingerprint(options.rtabmap);
  const results: SuiteRowResult[] = [];
  const report = () => reportOf(options, results, root, persistent, t0);
  try {
    for (const row of rows) {
      const r = await runRow(ctx, row);
      log(
        `${row.name}: done in ${r.seconds.toFixed(0)} s${r.skipped ? ` (skipped: ${r.skipped})` : ""}: ${
          JSON.stringify({ classic: r.classic, waymark: r.waymark })
        }`,
      );
      results.push(r);
      await options.onRow?.(report());
    }
  } finally {
    await ctx.close();
    if (!persistent && !options.keep) await removeQuietly(root);
  }
  return report();
}

function reportOf(
  options: SuiteOptions,
  rows: SuiteRowResult[],
  root: string,
  persistent: boolean,
  t0: number,
): SuiteReport {
  return {
    date: new Date().toISOString(),
    waymarkModel: options.modelDir ? `model ${options.modelDir}` : `preset ${options.preset ?? "default"}`,
    quick: !!options.quick,
    rows: [...rows],
    ...(persistent || options.keep ? { dataDir: root } : {}),
    seconds: (performance.now() - t0) / 1000,
  };
}

const f3 = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "-" : x.toFixed(3));
/** A loop precision: "n.a." when there was no event (precision undefined, not 0). */
const fp = (x: number | undefined) => (x !== undefined && Number.isNaN(x) ? "n.a." : f3(x));

/** The suite's table (Markdown, one row per suite row). */
export function suiteTable(report: SuiteReport): string {
  const head = [
    "row",
    "classic R@1",
    "Waymark R@1",
    "classic R@5",
    "Waymark R@5",
    "smoothed R@1",
    "ECE",
    "loop P",
    "loop R",
    "R@100P",
    "verified P / R@100P",
    "classic R@100P",
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of report.rows) {
    if (r.skipped) {
      lines.push(`| ${r.name} | skipped: ${r.skipped} |${" |".repeat(head.length - 2)}`);
      continue;
    }
    const c = r.classic ?? {}, w = r.waymark ?? {};
    const mark = (wv?: number, cv?: number) =>
      wv !== undefined && cv !== undefined && wv < cv ? `**${f3(wv)}**` : f3(wv);
    lines.push(
      `| ${
        [
          r.name,
          f3(c.r1),
          mark(w.r1, c.r1),
          f3(c.r5),
          mark(w.r5, c.r5),
          f3(w.smoothedR1),
          f3(w.ece),
          fp(w.precision),
          f3(w.recall),
          mark(w.r100p, c.r100p),
          w.verified ? `${fp(w.verified.precision)} / ${f3(w.verified.r100p)}` : "-",
          f3(c.r100p),
        ].join(" | ")
      } |`,
    );
  }
  return lines.join("\n");
}

/** The suite's one-line JSON object (`waymark eval suite --json`). */
export function suiteReportJson(report: SuiteReport): Record<string, unknown> {
  const round = (
    x: number | undefined,
  ) => (x === undefined || Number.isNaN(x) ? null : Math.round(x * 1e4) / 1e4);
  const roundAll = (o: Record<string, unknown> | undefined): Record<string, unknown> | null =>
    o
      ? Object.fromEntries(
        Object.entries(o).map((
          [k, v],
        ) => [k, typeof v === "number" ? round(v) : typeof v === "object" ? roundAll(v as never) : v]),
      )
      : null;
  const retrieval = report.rows.filter((r) => r.kind === "retrieval" && !r.skipped);
  const behind = retrieval.filter((r) => (r.waymark?.r1 ?? 0) < (r.classic?.r1 ?? 0)).map((r) => r.name);
  return {
    suite: "waymark-robustness",
    date: report.date,
    waymark_model: report.waymarkModel,
    quick: report.quick,
    rows: report.rows.map((r) => ({
      name: r.name,
      kind: r.kind,
      what: r.what,
      ...(r.skipped ? { skipped: r.skipped } : {}),
      classic: roundAll(r.classic as Record<string, unknown> | undefined),
      waymark: roundAll(r.waymark as Record<string, unknown> | undefined),
      seconds: Math.round(r.seconds),
    })),
    waymark_below_classic_r1: behind,
    seconds: Math.round(report.seconds),
    ...(report.dataDir ? { data_dir: report.dataDir } : {}),
  };
}
