/**
 * Stress test of the place filter on stream shapes the suite's rows do not have, derived from similarity caches
 * (`scripts/filter_tune.ts dump`, or the routes of `scripts/calibration_sims.ts` and `scripts/sparse_maps.ts`):
 *
 * - `dense`: the cached stream as recorded;
 * - `cut10`: 10-frame streams starting at four points of the route (a stream that starts mid-route);
 * - `thin`: the map thinned to every k-th place (k = 2..5) from every offset, the queries kept whose true
 *   places include a kept one (a map sparser than the frames; `mapEvery` of `src/eval/derive.ts` thins from
 *   the first place only);
 * - `sub1`: each thinned map with one query per place (the middle one of the queries that name only it), the
 *   shape of a 10-place walk with one photo a place;
 * - `thin-cut10`: a 10-frame stream from a third of the way along each thinned map;
 * - `hole`: the map places from 40 % to 60 % of the route removed (queries kept, those with no true place left
 *   are off the map), on the dense and on every-3rd-place maps: can the filter tell it left the map?
 * - `blind`: 15 % of the places blind (their column 0 on every frame, as a map image with an all-zero
 *   descriptor gives; three seeded draws), on the dense and on every-3rd-place maps. The replay tells the
 *   filter which places are blind, as `eval stream` does; `--json '{"blindPlaces": []}'` replays without.
 *
 * A thinned cache keeps the rows' similarities (the descriptor fitted on the full map), so it approximates a
 * map built from the kept images only; on the shared set the two agree within 0.01 ECE (every 3rd place:
 * 0.101 thinned from the cache, 0.102 derived).
 *
 * Per group it prints the routes, mean smoothed Recall@1, mean ECE and how many routes are above 0.10 (what a
 * row of `eval stream` measures: on a 10-frame stream one error at confidence 0.95 already costs 0.09), the
 * pooled ECE over all frames of the group (the calibration itself), the share of frames reported `lost` on the
 * map, and for `hole` the share of off-map frames reported `lost`.
 *
 * Run: `deno run -A scripts/filter_stress.ts CACHE_OR_DIR... [--json OPTIONS] [--by-route] [--report-json]`
 * (a directory: every `<name>.json` + `<name>.bin` pair in it, and every `<dir>/<name>/cache.json`; OPTIONS:
 * `PlaceFilter` options as JSON, e.g. `{"initialUnknown": 0.1}`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readCache, replay, type ReplayCache } from "./filter_tune.ts";
import { expectedCalibrationError } from "../src/localize/calibration.ts";
import type { PlaceFilterOptions } from "../src/localize/place_filter.ts";
import { mulberry32 } from "../src/_rng.ts";

/** Frames `idx` of a cache (the first one made a keyframe: a replay starts with an update). */
function pickFrames(c: ReplayCache, idx: number[]): ReplayCache {
  return {
    places: c.places,
    rows: idx.map((q) => c.rows[q]),
    keyframe: idx.map((q, i) => i === 0 || c.keyframe[q]),
    truth: idx.map((q) => c.truth[q]),
    failed: c.failed ? idx.map((q) => c.failed![q]) : undefined,
    support: c.support ? idx.map((q) => c.support![q]) : undefined,
  };
}

/** The map's columns `cols` only (in order), every query kept; true places renumbered, dropped if not kept. */
function keepPlaces(c: ReplayCache, cols: number[]): ReplayCache {
  const at = new Map(cols.map((j, i) => [j, i]));
  return {
    ...c,
    places: cols.length,
    rows: c.rows.map((r) => Float32Array.from(cols, (j) => r[j])),
    truth: c.truth.map((t) => t.filter((j) => at.has(j)).map((j) => at.get(j)!)),
  };
}

/**
 * Every `every`-th place from `offset`, and only the queries with a kept true place (as
 * `deriveRetrievalDataset`'s `mapEvery`).
 */
export function thinMap(c: ReplayCache, every: number, offset = 0): ReplayCache {
  if (!(Number.isInteger(every) && every >= 1 && Number.isInteger(offset) && offset >= 0 && offset < every)) {
    throw new RangeError(
      `thinMap: every must be a whole number >= 1 and offset in [0, every), got ${every}, ${offset}`,
    );
  }
  const cols: number[] = [];
  for (let j = offset; j < c.places; j += every) cols.push(j);
  const thinned = keepPlaces(c, cols);
  const keep = thinned.truth.flatMap((t, q) => (t.length > 0 ? [q] : []));
  return pickFrames({ ...thinned, keyframe: c.keyframe }, keep);
}

/** One query per place: the middle one of the queries whose only true place it is, in stream order. */
export function onePerPlace(c: ReplayCache): ReplayCache {
  const byPlace = new Map<number, number[]>();
  c.truth.forEach((t, q) => {
    if (t.length === 1 && !c.failed?.[q]) byPlace.set(t[0], [...(byPlace.get(t[0]) ?? []), q]);
  });
  const pick = [...byPlace.values()].map((qs) => qs[Math.floor(qs.length / 2)]).sort((a, b) => a - b);
  return pickFrames(c, pick);
}

/** `length` frames from `from` (fewer at the end). */
export function cutStream(c: ReplayCache, from: number, length: number): ReplayCache {
  const end = Math.min(c.rows.length, from + length);
  return pickFrames(c, Array.from({ length: Math.max(0, end - from) }, (_, i) => from + i));
}

/** The map without the places in [from * N, to * N): queries left with no true place are off the map. */
export function offMapHole(c: ReplayCache, from = 0.4, to = 0.6): ReplayCache {
  const lo = Math.floor(from * c.places), hi = Math.floor(to * c.places);
  const cols: number[] = [];
  for (let j = 0; j < c.places; j++) if (j < lo || j >= hi) cols.push(j);
  return keepPlaces(c, cols);
}

/** The cache with the places `cols` blind: their similarity 0 on every frame (an all-zero map descriptor). */
export function blindMap(c: ReplayCache, cols: number[]): ReplayCache {
  const rows = c.rows.map((r) => {
    const x = r.slice();
    for (const j of cols) x[j] = 0;
    return x;
  });
  return { ...c, rows };
}

/** About `share` of the places, drawn with `seed` (at least one). */
export function drawPlaces(places: number, share: number, seed: number): number[] {
  const rand = mulberry32(seed);
  const out: number[] = [];
  for (let j = 0; j < places; j++) if (rand() < share) out.push(j);
  if (out.length === 0) out.push(Math.floor(rand() * places));
  return out;
}

/** A derived stream: its group, a label and the cache. */
export interface StressVariant {
  group: "dense" | "cut10" | "thin" | "sub1" | "thin-cut10" | "hole" | "blind";
  label: string;
  cache: ReplayCache;
}

/** Streams too short or maps too small to say anything are left out. */
function usable(c: ReplayCache): boolean {
  return c.rows.length >= 6 && c.places >= 5;
}

/** Every variant of one cache (see the module doc). */
export function* stressVariants(c: ReplayCache, label: string): Generator<StressVariant> {
  if (usable(c)) yield { group: "dense", label, cache: c };
  const step = Math.max(10, Math.floor(c.rows.length / 4));
  for (let from = 0; from + 10 <= c.rows.length; from += step) {
    yield { group: "cut10", label: `${label}@${from}`, cache: cutStream(c, from, 10) };
  }
  for (const every of [2, 3, 4, 5]) {
    for (let offset = 0; offset < every; offset++) {
      const t = thinMap(c, every, offset), l = `${label}/every${every}+${offset}`;
      if (!usable(t)) continue;
      yield { group: "thin", label: l, cache: t };
      const one = onePerPlace(t);
      if (usable(one)) yield { group: "sub1", label: l, cache: one };
      const cut = cutStream(t, Math.floor(t.rows.length / 3), 10);
      if (usable(cut)) yield { group: "thin-cut10", label: l, cache: cut };
    }
  }
  // The off-map hole and the blind places, on the map as cached and on every 3rd place of it.
  const maps = [[c, label], [thinMap(c, 3, 1), `${label}/every3+1`]] as const;
  for (const [map, l] of maps) {
    const hole = offMapHole(map);
    if (usable(hole) && hole.truth.some((t) => t.length === 0)) {
      yield { group: "hole", label: `${l}/hole`, cache: hole };
    }
  }
  for (const [map, l] of maps) {
    if (!usable(map)) continue;
    for (let draw = 0; draw < 3; draw++) {
      const cols = drawPlaces(map.places, 0.15, 17 + 101 * draw + map.places);
      yield { group: "blind", label: `${l}/blind#${draw}`, cache: blindMap(map, cols) };
    }
  }
}

/** One group's summary. */
export interface StressGroup {
  routes: number;
  /** Mean single-frame Recall@1 (the best match alone), to see whether the filter helps. */
  meanSingle: number;
  meanSmoothed: number;
  meanEce: number;
  /** Routes with ECE above 0.10. */
  over: number;
  pooledEce: number;
  /** Share of on-map frames reported `lost`. */
  lostOnMap: number;
  /** Share of off-map frames reported `lost` (routes with off-map frames only; null when none). */
  lostOffMap: number | null;
}

/** Replay every variant of every cache and summarise per group (`perRoute` gets each route's score). */
export function stressReport(
  caches: { label: string; cache: ReplayCache }[],
  options: Omit<PlaceFilterOptions, "placeCount"> = {},
  perRoute?: (v: StressVariant, smoothed: number, ece: number) => void,
): Record<string, StressGroup> {
  const acc = new Map<string, {
    n: number;
    s1: number;
    s: number;
    e: number;
    over: number;
    conf: number[];
    ok: boolean[];
    lostOn: number;
    on: number;
    lostOff: number;
    off: number;
  }>();
  for (const { label, cache } of caches) {
    for (const v of stressVariants(cache, label)) {
      const r = replay(v.cache, options, false);
      const a = acc.get(v.group) ??
        { n: 0, s1: 0, s: 0, e: 0, over: 0, conf: [], ok: [], lostOn: 0, on: 0, lostOff: 0, off: 0 };
      acc.set(v.group, a);
      a.n++;
      a.s1 += r.single;
      a.s += r.smoothed;
      a.e += r.ece;
      if (r.ece > 0.1) a.over++;
      a.conf.push(...r.pairs.conf);
      a.ok.push(...r.pairs.correct);
      // replay() scores the frames that did not fail, in order: a lost one is right only off the map.
      let i = 0;
      v.cache.truth.forEach((t, q) => {
        if (v.cache.failed?.[q]) return;
        const lost = r.pairs.lost[i++];
        if (t.length > 0) {
          a.on++;
          if (lost) a.lostOn++;
        } else {
          a.off++;
          if (lost) a.lostOff++;
        }
      });
      perRoute?.(v, r.smoothed, r.ece);
    }
  }
  const out: Record<string, StressGroup> = {};
  for (const [g, a] of acc) {
    out[g] = {
      routes: a.n,
      meanSingle: a.s1 / a.n,
      meanSmoothed: a.s / a.n,
      meanEce: a.e / a.n,
      over: a.over,
      pooledEce: expectedCalibrationError(a.conf, a.ok, 10),
      lostOnMap: a.on ? a.lostOn / a.on : 0,
      lostOffMap: a.off ? a.lostOff / a.off : null,
    };
  }
  return out;
}

/** Cache paths of the arguments: a cache path as is, a directory's pairs and `<name>/cache` folders. */
async function cachePaths(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const st = await Deno.stat(a).catch(() => null);
    if (!st?.isDirectory) {
      out.push(a.replace(/\.(json|bin)$/, ""));
      continue;
    }
    const names: string[] = [];
    for await (const e of Deno.readDir(a)) {
      const p = join(a, e.name);
      if ((e.isFile || e.isSymlink) && e.name.endsWith(".json")) {
        const base = p.slice(0, -5);
        if (await Deno.stat(`${base}.bin`).catch(() => null)) names.push(base);
      } else if (e.isDirectory && await Deno.stat(join(p, "cache.json")).catch(() => null)) {
        names.push(join(p, "cache"));
      }
    }
    out.push(...names.sort());
  }
  return out;
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      json: { type: "string" },
      "by-route": { type: "boolean" },
      "report-json": { type: "boolean" },
    },
  });
  if (positionals.length === 0) {
    console.error("usage: filter_stress.ts CACHE_OR_DIR... [--json OPTIONS] [--by-route] [--report-json]");
    Deno.exit(2);
  }
  const fail = (msg: string): never => {
    console.error(`filter_stress: ${msg}`);
    Deno.exit(2);
  };
  let options = {};
  try {
    options = values.json ? JSON.parse(values.json) : {};
  } catch (e) {
    fail(`--json: not a JSON object of PlaceFilter options (${(e as Error).message})`);
  }
  const paths = await cachePaths(positionals);
  if (paths.length === 0) fail(`no similarity cache (<name>.json + <name>.bin) in ${positionals.join(", ")}`);
  const caches = [];
  for (const p of paths) {
    try {
      caches.push({ label: p, cache: await readCache(p) });
    } catch (e) {
      fail(`${p}: not a readable similarity cache (${p}.json + ${p}.bin): ${(e as Error).message}`);
    }
  }
  const f3 = (x: number) => x.toFixed(3);
  const report = stressReport(
    caches,
    options,
    values["by-route"]
      ? (v, s, e) => console.log(`${v.group}\t${v.label}\tsmoothed ${f3(s)}\tece ${f3(e)}`)
      : undefined,
  );
  if (values["report-json"]) console.log(JSON.stringify({ caches: paths.length, options, groups: report }));
  else {
    console.log(`${paths.length} caches; filter options ${JSON.stringify(options)}`);
    console.log(
      "group       routes  single  smoothed  mean ECE  ECE>0.10  pooled ECE  lost on map  lost off map",
    );
    for (const [g, s] of Object.entries(report)) {
      console.log(
        `${g.padEnd(12)}${String(s.routes).padStart(6)}  ${f3(s.meanSingle)}  ${
          f3(s.meanSmoothed).padStart(8)
        }  ${f3(s.meanEce).padStart(8)}  ${String(s.over).padStart(8)}  ${f3(s.pooledEce).padStart(10)}  ${
          f3(s.lostOnMap).padStart(11)
        }  ${s.lostOffMap === null ? "-".padStart(12) : f3(s.lostOffMap).padStart(12)}`,
      );
    }
  }
}
