/**
 * A synthetic place-recognition problem over feature maps, for tests and benchmarks of the trainer: places
 * along a line, each with its own local-descriptor "signature"; database and query traversals observe them
 * with noise, and the query traversal under a changed condition that adds strong nuisance descriptors (as a
 * lighting change adds gradients that are not the place's). Untrained NetVLAD with k-means centres is
 * distracted by the nuisance; training the head learns to ignore it.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { type PreparedFeatures, prepareFeatures } from "./netvlad_grad.ts";
import { Rng } from "./rng.ts";
import type { TupleDataset } from "./tuples.ts";

/** Options of {@linkcode syntheticProblem}. */
export interface SyntheticOptions {
  /** Number of places (database images; as many queries). Default 40. */
  places?: number;
  /** Feature channels C. Default 16. */
  channels?: number;
  /** Positions per feature map M. Default 48. */
  positions?: number;
  /** Metres between consecutive places. Default 4. */
  spacing?: number;
  /** Fraction of positions replaced by nuisance descriptors in queries. Default 0.5. */
  nuisance?: number;
  /** Noise level. Default 0.3. */
  noise?: number;
  /** Seed. Default 1. */
  seed?: number;
}

/** A synthetic dataset with its cached features. */
export interface SyntheticProblem {
  dataset: TupleDataset;
  database: PreparedFeatures[];
  queries: PreparedFeatures[];
  channels: number;
}

/**
 * Generate a synthetic problem.
 *
 * @example
 * ```ts
 * import { syntheticProblem } from "./synthetic.ts";
 * const p = syntheticProblem({ places: 10 });
 * console.assert(p.database.length === 10 && p.dataset.queries.length === 10);
 * ```
 */
export function syntheticProblem(options: SyntheticOptions = {}): SyntheticProblem {
  const n = options.places ?? 40;
  const C = options.channels ?? 16;
  const M = options.positions ?? 48;
  const spacing = options.spacing ?? 4;
  const nuisance = options.nuisance ?? 0.5;
  const noise = options.noise ?? 0.3;
  if (!Number.isInteger(n) || n < 2) {
    throw invalid("generate synthetic problem", "places", "an integer >= 2", n);
  }
  const rng = new Rng(options.seed ?? 1);
  // a shared vocabulary of "visual words"; each place uses a random subset, nuisance words are separate
  const nWords = 24;
  const words = Array.from({ length: nWords }, () => Float64Array.from({ length: C }, () => rng.normal()));
  const nuisanceWords = Array.from({ length: 3 }, () => Float64Array.from({ length: C }, () => rng.normal()));
  // each place is made of a few words of the vocabulary, in its own proportions
  const signatures = Array.from({ length: n }, () => {
    const own = rng.sample(Array.from({ length: nWords }, (_, i) => i), 4);
    return Array.from({ length: M }, () => own[Math.min(3, Math.floor(rng.next() * rng.next() * 5))]);
  });
  const makeMap = (place: number, nuisanceFrac: number): PreparedFeatures => {
    const chw = new Float32Array(C * M);
    for (let m = 0; m < M; m++) {
      const useNuisance = rng.next() < nuisanceFrac;
      const w = useNuisance ? nuisanceWords[rng.int(nuisanceWords.length)] : words[signatures[place][m]];
      for (let c = 0; c < C; c++) chw[c * M + m] = w[c] + noise * rng.normal();
    }
    return prepareFeatures(chw, C, M);
  };
  const database: PreparedFeatures[] = [];
  const queries: PreparedFeatures[] = [];
  const dbList: { position: { x: number; y: number } }[] = [];
  const qList: { position: { x: number; y: number } }[] = [];
  for (let i = 0; i < n; i++) {
    database.push(makeMap(i, 0.1 * nuisance));
    dbList.push({ position: { x: i * spacing, y: 0 } });
  }
  for (let i = 0; i < n; i++) {
    queries.push(makeMap(i, nuisance));
    qList.push({ position: { x: i * spacing + 0.5, y: 0 } });
  }
  // evaluation truth: the same place (within half a spacing)
  const truth = qList.map((q) => {
    const out: number[] = [];
    dbList.forEach((d, j) => {
      if (Math.abs(d.position.x - q.position.x) <= spacing / 2) out.push(j);
    });
    return out;
  });
  return {
    dataset: { database: dbList, queries: qList, truth, groundTruth: "positions" },
    database,
    queries,
    channels: C,
  };
}
