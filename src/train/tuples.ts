/**
 * Training tuples (q, {p_i}, {n_j}) for NetVLAD's weakly supervised ranking loss, and hard-negative mining.
 *
 * - With positions (database and queries both position-tagged): potential positives are database images within
 *   `posRadius` metres of the query (default 10), negatives are those beyond `negRadius` metres (default 25);
 *   images in between are neither (ambiguous).
 * - Without positions (`matches.csv` only): positives are the query's true matches; negatives are database
 *   frames more than `negFrameGap` frames (in traversal order) from every true match.
 * - A held-out validation split takes a contiguous block at the end of the query traversal; database images
 *   near any validation query (within `negRadius`, or within `negFrameGap` frames of its matches) are excluded
 *   from training altogether, so that training never sees the validation places.
 * - Hard negatives: from a random pool of `poolSize` (default 1000) negatives, the `hardNegatives` (default 10)
 *   nearest to the query by the cached descriptors, refreshed every epoch.
 *
 * @module
 */
import { invalid, TrainingError } from "../errors.ts";
import type { Rng } from "./rng.ts";

/** A 2D position (metres). */
export interface Point2 {
  x: number;
  y: number;
}

/** What tuple mining needs of a dataset (a subset of `RetrievalDataset` from `src/dataset/types.ts`). */
export interface TupleDataset {
  database: { position?: Point2 }[];
  queries: { position?: Point2 }[];
  /** Per query, ascending true-match database indices (matches.csv or positions within the eval radius). */
  truth: number[][];
  /** "matches" when truth came from matches.csv. */
  groundTruth?: "matches" | "positions";
}

/** Options of {@linkcode buildTuples}. */
export interface TupleOptions {
  /** Potential positives within this many metres. Default 10. */
  posRadius?: number;
  /** Negatives beyond this many metres. Default 25. */
  negRadius?: number;
  /** Without positions: negatives are more than this many database frames from every true match. Default 10. */
  negFrameGap?: number;
  /** Fraction of queries (a contiguous block at the end of the traversal) held out for validation. Default 0.2. */
  valFraction?: number;
  /** Use positions when both lists have them (else matches). Default true. */
  usePositions?: boolean;
}

/** One training tuple: a query and its potential positives; negatives are sampled by {@linkcode mineNegatives}. */
export interface TrainingTuple {
  /** Query index (into `queries`). */
  query: number;
  /** Potential positive database indices (non-empty). */
  positives: number[];
  /** Database indices that are NOT negatives for this query (sorted): positives, ambiguous and excluded. */
  notNegative: Int32Array;
}

/** The result of {@linkcode buildTuples}. */
export interface TupleSplit {
  /** Training tuples (queries with at least one positive and one negative). */
  train: TrainingTuple[];
  /** Held-out validation query indices (with ground truth in `truth`). */
  validation: number[];
  /** Database indices excluded from training (near validation places). */
  excludedDatabase: Int32Array;
  /** How positives were defined. */
  mode: "positions" | "matches";
  /** Resolved options. */
  options: Required<TupleOptions>;
}

/** Resolve and validate tuple options. */
export function resolveTupleOptions(o: TupleOptions = {}): Required<TupleOptions> {
  const r = {
    posRadius: o.posRadius ?? 10,
    negRadius: o.negRadius ?? 25,
    negFrameGap: o.negFrameGap ?? 10,
    valFraction: o.valFraction ?? 0.2,
    usePositions: o.usePositions ?? true,
  };
  const act = "build training tuples";
  if (!(r.posRadius > 0) || !Number.isFinite(r.posRadius)) {
    throw invalid(act, "posRadius", "a positive number", r.posRadius);
  }
  if (!(r.negRadius >= r.posRadius) || !Number.isFinite(r.negRadius)) {
    throw invalid(act, "negRadius", `a number >= posRadius (${r.posRadius})`, r.negRadius);
  }
  if (!Number.isInteger(r.negFrameGap) || r.negFrameGap < 0) {
    throw invalid(act, "negFrameGap", "an integer >= 0", r.negFrameGap);
  }
  if (!(r.valFraction >= 0 && r.valFraction < 1)) {
    throw invalid(act, "valFraction", "in [0, 1)", r.valFraction);
  }
  return r;
}

function dist2(a: Point2, b: Point2): number {
  const dx = a.x - b.x, dy = a.y - b.y;
  return dx * dx + dy * dy;
}

/** A uniform grid over database positions for radius queries (avoids O(Q*D) scans on big maps). */
class PointGrid {
  #cell: number;
  #cells = new Map<string, number[]>();
  #pts: Point2[];
  constructor(pts: Point2[], cell: number) {
    this.#pts = pts;
    this.#cell = Math.max(cell, 1e-6);
    pts.forEach((p, i) => {
      const key = `${Math.floor(p.x / this.#cell)},${Math.floor(p.y / this.#cell)}`;
      const list = this.#cells.get(key);
      if (list) list.push(i);
      else this.#cells.set(key, [i]);
    });
  }
  /** Indices within `r` of `p`, ascending. */
  within(p: Point2, r: number): number[] {
    const c = this.#cell;
    const r2 = r * r;
    const out: number[] = [];
    const x0 = Math.floor((p.x - r) / c), x1 = Math.floor((p.x + r) / c);
    const y0 = Math.floor((p.y - r) / c), y1 = Math.floor((p.y + r) / c);
    for (let gx = x0; gx <= x1; gx++) {
      for (let gy = y0; gy <= y1; gy++) {
        const list = this.#cells.get(`${gx},${gy}`);
        if (!list) continue;
        for (const i of list) if (dist2(this.#pts[i], p) <= r2) out.push(i);
      }
    }
    return out.sort((a, b) => a - b);
  }
}

function union(...lists: ArrayLike<number>[]): Int32Array {
  const s = new Set<number>();
  for (const l of lists) for (let i = 0; i < l.length; i++) s.add(l[i]);
  return Int32Array.from([...s].sort((a, b) => a - b));
}

function frameWindow(indices: number[], gap: number, n: number): number[] {
  const s = new Set<number>();
  for (const i of indices) {
    for (let j = Math.max(0, i - gap); j <= Math.min(n - 1, i + gap); j++) s.add(j);
  }
  return [...s];
}

/**
 * Build training tuples and the validation split from a dataset.
 *
 * @throws {TrainingError} when no query yields a tuple (no positives or no negatives anywhere).
 *
 * @example
 * ```ts
 * import { buildTuples } from "./tuples.ts";
 * const pos = (x: number) => ({ position: { x, y: 0 } });
 * const ds = { database: [0, 5, 30, 60, 90].map(pos), queries: [1, 61].map(pos), truth: [[0, 1], [3]] };
 * const split = buildTuples(ds, { valFraction: 0 });
 * console.assert(split.train.length === 2 && split.train[0].positives.join() === "0,1");
 * ```
 */
export function buildTuples(ds: TupleDataset, options: TupleOptions = {}): TupleSplit {
  const o = resolveTupleOptions(options);
  const nDb = ds.database.length, nQ = ds.queries.length;
  if (nDb === 0 || nQ === 0) {
    throw new TrainingError(
      `Cannot build training tuples: the dataset has ${nDb} database and ${nQ} query images`,
    );
  }
  if (ds.truth.length !== nQ) {
    throw invalid("build training tuples", "truth.length", `${nQ}`, ds.truth.length);
  }
  const hasPos = ds.database.every((d) => d.position) && ds.queries.every((q) => q.position);
  const mode = o.usePositions && hasPos ? "positions" : "matches";
  const nVal = Math.floor(nQ * o.valFraction);
  const validation = Array.from({ length: nVal }, (_, i) => nQ - nVal + i);
  const grid = mode === "positions"
    ? new PointGrid(ds.database.map((d) => d.position!), Math.max(o.negRadius, 1))
    : null;
  // database images near any validation place are excluded from training
  const excludedList: number[][] = [];
  for (const q of validation) {
    if (grid) excludedList.push(grid.within(ds.queries[q].position!, o.negRadius));
    else excludedList.push(frameWindow(ds.truth[q], o.negFrameGap, nDb));
  }
  const excludedDatabase = union(...excludedList);
  const excluded = new Uint8Array(nDb);
  for (const i of excludedDatabase) excluded[i] = 1;
  const train: TrainingTuple[] = [];
  for (let q = 0; q < nQ - nVal; q++) {
    let positives: number[];
    let near: number[];
    if (grid) {
      const p = ds.queries[q].position!;
      positives = grid.within(p, o.posRadius);
      near = grid.within(p, o.negRadius);
    } else {
      positives = ds.truth[q].slice();
      near = frameWindow(ds.truth[q], o.negFrameGap, nDb);
    }
    // a training query that shares places with the validation block is dropped
    if (positives.some((i) => excluded[i]) || (grid === null && near.some((i) => excluded[i]))) continue;
    if (positives.length === 0) continue;
    const notNegative = union(near, positives, excludedDatabase);
    if (notNegative.length >= nDb) continue;
    train.push({ query: q, positives, notNegative });
  }
  if (train.length === 0) {
    throw new TrainingError(
      `Cannot train: no query has both a positive (within ${o.posRadius} m or a match) and a negative ` +
        `(beyond ${o.negRadius} m or ${o.negFrameGap} frames from every match) outside the validation block`,
    );
  }
  return { train, validation, excludedDatabase, mode, options: o };
}

function contains(sorted: Int32Array, v: number): boolean {
  let lo = 0, hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = sorted[mid];
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/**
 * A random pool of up to `poolSize` distinct negatives of a tuple (database indices, not in `notNegative`).
 * Uses rejection sampling when negatives are plentiful, enumeration otherwise.
 */
export function sampleNegativePool(tuple: TrainingTuple, nDb: number, poolSize: number, rng: Rng): number[] {
  const nNeg = nDb - tuple.notNegative.length;
  if (nNeg <= 0) return [];
  if (nNeg <= poolSize * 2) {
    const all: number[] = [];
    for (let i = 0; i < nDb; i++) if (!contains(tuple.notNegative, i)) all.push(i);
    return rng.sample(all, poolSize);
  }
  const chosen = new Set<number>();
  while (chosen.size < poolSize) {
    const i = rng.int(nDb);
    if (!contains(tuple.notNegative, i)) chosen.add(i);
  }
  return [...chosen];
}

/**
 * The `count` hardest negatives (nearest to the query by cached descriptors) from a random pool.
 *
 * @param queryDesc the query's cached descriptor (D)
 * @param dbDescs cached database descriptors, row-major (nDb x D)
 */
export function mineNegatives(
  tuple: TrainingTuple,
  queryDesc: Float32Array,
  dbDescs: Float32Array,
  D: number,
  count: number,
  poolSize: number,
  rng: Rng,
): number[] {
  const nDb = dbDescs.length / D;
  const pool = sampleNegativePool(tuple, nDb, poolSize, rng);
  const scored = pool.map((i) => {
    let s = 0;
    const o = i * D;
    for (let d = 0; d < D; d++) {
      const x = queryDesc[d] - dbDescs[o + d];
      s += x * x;
    }
    return { i, s };
  });
  scored.sort((a, b) => a.s - b.s || a.i - b.i);
  return scored.slice(0, count).map((e) => e.i);
}

/** The positive nearest to the query by cached descriptors (the weakly supervised best positive). */
export function bestPositive(
  tuple: TrainingTuple,
  queryDesc: Float32Array,
  dbDescs: Float32Array,
  D: number,
): number {
  let best = tuple.positives[0], bestD = Infinity;
  for (const i of tuple.positives) {
    let s = 0;
    const o = i * D;
    for (let d = 0; d < D; d++) {
      const x = queryDesc[d] - dbDescs[o + d];
      s += x * x;
    }
    if (s < bestD) {
      bestD = s;
      best = i;
    }
  }
  return best;
}
