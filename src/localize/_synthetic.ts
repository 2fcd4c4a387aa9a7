/**
 * Synthetic hard place sequences for tests and calibration fitting: a query traversal with varying speed over
 * a map of N places, observed through noisy similarity rows in which the true place is only weakly
 * distinguishable (low single-frame Recall@1), with place-specific biases ("hub" places similar to
 * everything), spatially correlated noise and optional off-map segments.
 *
 * @module
 */
import { boxMuller, mulberry32 } from "../_rng.ts";

/** A seeded PRNG (the shared mulberry32 of `src/_rng.ts`) with a normal sampler. */
export class Rng {
  /** Uniform in [0, 1). */
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** Standard normal (Box-Muller, cosine branch). */
  normal(): number {
    return boxMuller(Math.max(1e-12, this.next()), this.next());
  }
}

/** Options of {@link generateHardSequence}. */
export interface HardSequenceOptions {
  places?: number;
  queries?: number;
  /** Peak similarity gain of the true place in noise units. Default 1.6. */
  signal?: number;
  /** Std of the fixed per-place bias. Default 0.5. */
  hub?: number;
  /** Minimum and maximum speed in places per frame. Default [0.6, 1.5]. */
  speed?: [number, number];
  /** Number of off-map segments (truth -1) of ~15 frames. Default 0. */
  offMap?: number;
  seed?: number;
}

/** Similarity rows with the true place per frame (-1 = not in the map). */
export interface HardSequence {
  placeCount: number;
  rows: Float32Array[];
  truth: Int32Array;
}

/** Generate a hard synthetic sequence (see the module doc). Deterministic given `seed`. */
export function generateHardSequence(options: HardSequenceOptions = {}): HardSequence {
  const n = options.places ?? 400;
  const q = options.queries ?? 300;
  const signal = options.signal ?? 1.6;
  const hubStd = options.hub ?? 0.5;
  const [vmin, vmax] = options.speed ?? [0.6, 1.5];
  const rng = new Rng(options.seed ?? 1);
  const hub = Float64Array.from({ length: n }, () => hubStd * rng.normal());
  const offStarts = new Set<number>();
  for (let k = 0; k < (options.offMap ?? 0); k++) offStarts.add(20 + Math.floor(rng.next() * (q - 40)));
  const rows: Float32Array[] = [];
  const truth = new Int32Array(q);
  let pos = rng.next() * n * 0.1;
  let v = (vmin + vmax) / 2;
  let offLeft = 0;
  const smooth = new Float64Array(n);
  for (let t = 0; t < q; t++) {
    if (offStarts.has(t)) offLeft = 15;
    v = Math.min(vmax, Math.max(vmin, v + 0.15 * rng.normal()));
    const off = offLeft > 0;
    if (off) offLeft--;
    else pos += v;
    if (pos >= n - 1) pos = rng.next() * n * 0.1;
    const p = Math.round(pos);
    truth[t] = off ? -1 : p;
    // Spatially correlated noise: a moving average of white noise over 5 places, plus white noise.
    let acc = 0;
    const white = Float64Array.from({ length: n + 5 }, () => rng.normal());
    for (let j = 0; j < 5; j++) acc += white[j];
    for (let j = 0; j < n; j++) {
      smooth[j] = acc / Math.sqrt(5);
      acc += white[j + 5] - white[j];
    }
    const gain = 0.8 + 0.4 * rng.next();
    const row = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0.6 * smooth[j] + 0.8 * rng.normal() + hub[j];
      if (!off) {
        const d = j - pos;
        s += signal * gain * Math.exp(-(d * d) / 2);
      }
      row[j] = 0.3 + 0.05 * s;
    }
    rows.push(row);
  }
  return { placeCount: n, rows, truth };
}
