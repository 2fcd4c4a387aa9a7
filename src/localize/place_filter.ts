/**
 * The temporal place filter: a discrete Bayesian (hidden Markov model) filter over the places of a map plus an
 * explicit "unknown place" state. Pure kernel (no RxJS, no IO), sparse so that it scales to large maps.
 *
 * Model:
 * - State: the map place index (0..N-1, traversal order) or `unknown` (the robot is somewhere not in the map).
 * - Motion prior: from place i the robot moves to i + o with probability `motion.weights[o]` for each offset
 *   `o` of `motion.offsets` (default: back 1, stay, forward 1..3), with a small probability `jump` of
 *   relocating anywhere (kidnapping) and `toUnknown` of leaving the map; from `unknown` it stays with
 *   `unknownStay` and otherwise re-enters the map at a uniformly random place. On a map sparser than the
 *   frames the kernel is slowed down to the robot's speed, learnt online (`motionMemory`), and below half a
 *   place a frame the state within a place is tracked too (a phase: a few bins per place, each about what the
 *   robot covers in a frame), so that a place is left after about as many frames as it lasts instead of with
 *   the same probability every frame.
 * - Observation: descriptor similarities of some places (the retrieval top-k, or all places). They are
 *   standardised against the background distribution of similarities to the whole map,
 *   `z = (s - mean) / std` (given by the caller, e.g. from a fixed random sample of map descriptors, else
 *   estimated from the similarities given). Under "not this place" z is about N(0, 1); under "this place" it
 *   is shifted by `signal`. The likelihood ratio of place i against "unknown" is then
 *   `exp(signal * z_i - signal^2 / 2)`, and "unknown" has ratio 1 (every similarity is background). A place
 *   not among the observed ones has z below the smallest observed z_k: its expected ratio is
 *   `Phi(z_k - signal) / Phi(z_k)`. With every place observed, each place's z is first normalised against its
 *   own history ("hub" places similar to every query; `placeNormalization`).
 * - Unknown-place evidence (`unknownEvidence`): the likelihood ratio above averages 1 over background places,
 *   so a belief spread over the map explains an off-map frame as well as "unknown" does. What tells them
 *   apart is the level of the best similarity (above the background mean): a true place's against the best
 *   look-alike's. Both are learnt online, and their density ratio weighs the unknown state.
 * - Weak frames: a frame's descriptor support (how much of the image its descriptor rests on, given by the
 *   caller) against the best support of recent frames scales the signal the frame can carry
 *   (`supportMemory`): a dark, noisy frame moves the belief little, the motion prior spreads it, and its
 *   confidence falls instead of staying high on a match the frame cannot support.
 * - Sparse belief: p(i) = base + delta(i), with `base` the common mass of every place and `delta` kept only for
 *   places that differ from it (at most `maxActive`). Prediction spreads the deltas through the kernel
 *   (a uniform belief stays uniform), an update touches only the observed places. Cost per frame:
 *   O(active * kernel width + observed).
 * - Confidence: the posterior mass within `confidenceRadius` places of the MAP place, mapped through a
 *   calibration curve fitted offline (`calibration_params.ts`), so that among estimates reported with
 *   confidence near c about a fraction c are correct.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import type { LocalizationStatus } from "../types.ts";
import { applyCalibration, type CalibrationMap, validateCalibration } from "./calibration.ts";
import { DEFAULT_FILTER_CALIBRATION, WEAK_FRAME_CALIBRATION } from "./calibration_params.ts";
import { observationBackground } from "./background.ts";

/**
 * Places whose global descriptor is all zero (their map image had nothing above the descriptor's noise floor:
 * every query's similarity to them is 0), as `PlaceFilterOptions.blindPlaces` wants them.
 */
export function blindPlacesOf(descriptors: Float32Array, count: number): number[] {
  if (count <= 0 || descriptors.length === 0) return [];
  const dim = Math.floor(descriptors.length / count);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let any = false;
    for (let j = i * dim, end = j + dim; j < end; j++) {
      if (descriptors[j] !== 0) {
        any = true;
        break;
      }
    }
    if (!any) out.push(i);
  }
  return out;
}

/** Motion kernel along the map's traversal order. */
export interface MotionKernel {
  /** Place offsets per step (e.g. -1 back, 0 stay, 1..3 forward). */
  offsets: number[];
  /** Probability of each offset; normalised on construction. */
  weights: number[];
}

/** Options of a {@link PlaceFilter}. */
export interface PlaceFilterOptions {
  /** Number of places N in the map (required, >= 1). */
  placeCount: number;
  /** Motion along traversal order. Default offsets [-1, 0, 1, 2, 3], weights [0.05, 0.25, 0.4, 0.2, 0.1]. */
  motion?: MotionKernel;
  /** Probability per step of relocating to any place (uniform). Default 0.01. */
  jump?: number;
  /** Probability per step of leaving the map (place -> unknown). Default 0.01. */
  toUnknown?: number;
  /** Probability per step of staying off the map (unknown -> unknown). Default 0.9. */
  unknownStay?: number;
  /** Initial probability of the unknown state. Default 0.5. */
  initialUnknown?: number;
  /**
   * Mean standardised similarity of the true place (the match signal in background std units), or `"auto"`
   * to estimate it online (an exponential average of the prior-weighted standardised similarity, i.e. online
   * EM on the emission mean), starting from `initialSignal`. Default `"auto"`.
   */
  signal?: number | "auto";
  /** Starting value of the auto signal. Default 1.5. */
  initialSignal?: number;
  /** Averaging rate of the auto signal per frame. Default 0.05. */
  signalRate?: number;
  /**
   * Confidence is the posterior mass of the MAP place and of its neighbours up to this many places away, a
   * neighbour d places away counted with weight `rho^d` (see `neighbourWeight`). Default 1.
   */
  confidenceRadius?: number;
  /**
   * How much a neighbouring place counts as the same place in the confidence. `"auto"`: learnt from the frames
   * (complete observations) as `rho`, the mean correlation over the frames so far between adjacent places'
   * standardised similarities, shrunk towards 1 by `neighbourPrior` frames. In a map recorded densely,
   * adjacent places show the same scene (their similarities rise and fall together) and an estimate one place
   * off is still right; in a sparse map adjacent places are different scenes (rho near 0) and only the MAP
   * place's own mass says how likely the estimate is right. A number in [0, 1] fixes rho (1: the plain mass
   * within the radius). Default `"auto"`.
   */
  neighbourWeight?: number | "auto";
  /** Frames' worth of rho = 1 the learnt neighbour weight is shrunk towards. Default 3. */
  neighbourPrior?: number;
  /** Maximum number of places tracked apart from the common base mass. Default 4096. */
  maxActive?: number;
  /** Calibration from raw mass to probability; default the shipped fit; `null` reports the raw mass. */
  calibration?: CalibrationMap | null;
  /**
   * Calibration after a weak frame (one that carried under `WEAK_RELIABILITY` of the match signal, see
   * `supportMemory`): the same raw mass is right less often after a frame that could not confirm it. Default
   * the shipped fit on such frames; `null` uses `calibration` for every frame.
   */
  weakCalibration?: CalibrationMap | null;
  /** Calibrated confidence at or above which an estimate is `localized`. Default 0.5. */
  localizedThreshold?: number;
  /** Probability of the unknown state above which the estimate is `lost`. Default 0.5. */
  lostThreshold?: number;
  /**
   * Raw mass around the MAP place below which a frame counts as unmatched (no place stands out). Default 0.1.
   * Off the map, the unknown state and a diffuse belief over places explain the similarities equally well
   * frame by frame, so a run of unmatched frames is what reveals an unknown place.
   */
  unmatchedMass?: number;
  /** Consecutive unmatched frames after which the estimate is `lost`. Default 5. */
  lostAfter?: number;
  /**
   * Per-place normalisation against "hub" places (similar to every query): on complete observations (every
   * place given), each place's standardised similarity is standardised again by its running mean and std
   * over the earlier frames (all but the last `placeDelay`; starting from `placePrior` pseudo-frames of
   * N(0, 1)), then the row is re-standardised. The pipeline gives complete rows when the search stage scans
   * the whole map (its `fullScan` budget). Default true.
   */
  placeNormalization?: boolean;
  /** Pseudo-frames of the per-place statistics' prior. Default 10. */
  placePrior?: number;
  /**
   * Frames before a row joins the per-place statistics. A place is normalised against earlier frames only,
   * and not against the last ones, in which it was often a neighbour of the true place: with 0 a slowly
   * approached place is penalised by its own approach and the estimate runs a place ahead. Default 2.
   */
  placeDelay?: number;
  /**
   * Unknown-place evidence from the frame's best similarity above the background mean (not divided by the
   * background std as z-scores are: that hides the evidence; subtracting the mean keeps it immune to a
   * global change of the similarity level, e.g. lighting). On the map the best similarity is the true place's; off the map it is only the
   * best look-alike, like the best similarity among places away from the MAP place on any frame. Two
   * Gaussians are tracked online: "off" from that best similarity away from the MAP place (every frame),
   * "on" from the frame's best similarity on frames the filter is confident about (its mean shrunk towards
   * "off" while it rests on few frames), with one spread, that of "off". Their log density ratio (times
   * `unknownEvidenceWeight`, clamped to +-5 per frame) weighs the unknown state. Where the two overlap
   * (hard data, where the true place is rarely the best) the ratio is near 1 and the filter is unchanged.
   * Default true.
   */
  unknownEvidence?: boolean;
  /** Exponent of the unknown-place evidence ratio. Default 1. */
  unknownEvidenceWeight?: number;
  /** Places either side of the MAP place left out of the "off" maximum. Default 5. */
  unknownEvidenceWindow?: number;
  /**
   * Evidence of weak frames. A frame's descriptor support (`PlaceObservation.support`) is compared with the
   * reference support, the largest of recent frames (a running maximum that decays by a factor e every
   * `supportMemory` keyframes): a frame at a fraction f of it carries `sqrt(f)` of the match signal (an
   * aggregate's signal-to-noise grows with the square root of what it aggregates), so a dark, noisy or
   * texture-poor frame moves the belief little and the motion prior spreads it: its confidence falls instead
   * of staying high on a match it cannot support. Default 100; 0 ignores the support.
   */
  supportMemory?: number;
  /**
   * Learn how often the robot stays on a place (online EM on the stay probability): `motion` assumes a map
   * about as dense as the keyframes arrive; on a map recorded sparser (a small map, a slow robot: one place
   * every few keyframes) it pushes the estimate a place ahead at every step. After each complete observation
   * the posterior probability that the last step stayed (how the belief before the step, moved by each offset,
   * explains the frame) joins an average over recent frames, weighted by how concentrated the belief was and
   * shrunk towards `motion`'s stay probability (as `motionPrior` frames of it); the kernel is then `motion`
   * mixed with staying so that its stay probability matches. It only ever slows `motion` down (a map denser
   * than the frames keeps `motion`).
   *
   * That estimate confirms itself (the belief it learns from was made with the kernel it learns) and moves
   * slowly, so the speed is also read from the frames alone: `tau`, the correlation of consecutive frames'
   * similarities over the places (each place standardised by its mean and spread over the frames so far), is
   * compared with `rho`, the correlation of adjacent places' similarities over the frames (see
   * `neighbourWeight`). With a correlation that decays exponentially with distance, `tau = c^(frame spacing)`
   * and `rho = c^(place spacing)`, so the speed is `ln(tau) / ln(rho)` places per frame. Below one place per
   * frame a robot's moves are single steps and the speed is the fraction of frames that move, so the kernel
   * is slowed when that speed is below `motion`'s probability of moving forward, to match it. Frames count
   * by the belief's concentration (a look-alike place holding the top of a stretch of frames where the
   * filter is unsure makes them alike without the robot staying) and by `ln(rho)^2` (the estimate's
   * precision: the faster the map decorrelates, the less an error in `tau` moves it), shrunk towards
   * `motion` by `SPEED_PRIOR`. The kernel is the slower of the two.
   *
   * A kernel over places alone has a memoryless dwell time: with the right stay probability, a frame after
   * the robot reached the next place it still stays with that probability, so an ambiguous frame keeps the
   * old place. Below half a place a frame (a learnt forward probability `v` under 1/2), the filter therefore
   * tracks a phase within each place: `floor(1 / v)` bins per place (at most `PHASE_BINS_MAX`), each about
   * what the robot covers in a frame. Of each step, the share `1 - s` (`s`: `motion`'s stay probability)
   * moves the phase by `motion`'s moves in bins, mixed with staying to advance `floor(1 / v) * v` bins a
   * frame on average, so a place is left after about `1 / v` frames; the share `s` is the place kernel at the
   * learnt speed landing at any phase (at a place a frame `motion` stays on that share of the frames whatever
   * came before; it keeps a speed learnt wrong from locking the estimate to a wrong dwell time). The
   * observation does not depend on the phase; everything reported is per place (summed over phases). At half
   * a place a frame or faster, and for a `motion` that itself moves on fewer than half of the frames (a kernel
   * configured for a sparse map), the filter is the plain one over places. Value: the memory in frames of both
   * estimates (their averages forget by a factor e over it); 0 keeps `motion` fixed. Default 50.
   */
  motionMemory?: number;
  /** Frames' worth of `motion`'s stay probability the learnt one is shrunk towards. Default 30. */
  motionPrior?: number;
  /**
   * Places the descriptor cannot see: their map image has an empty (all-zero) global descriptor (a frame too
   * dark or featureless for any local descriptor to clear its noise floor), so every query's similarity to them
   * is 0 whatever the query shows. Their similarities carry no information: the filter leaves them out of each
   * frame's statistics (background, per-place normalisation, the learnt neighbour weight and speed, the signal)
   * and gives them the likelihood ratio of "unknown" (1), so the motion prior alone carries the belief through
   * them. Without this, a blind place's constant 0 reads as strong evidence against it, and a robot passing it
   * is reported at the next place with high confidence. The pipeline fills it from the map. Default none.
   */
  blindPlaces?: ArrayLike<number>;
}

/** Similarities of some places for one frame. */
export interface PlaceObservation {
  /** Place indices (0..N-1). */
  indices: ArrayLike<number>;
  /** Similarity of each place (same length as `indices`). */
  similarities: ArrayLike<number>;
  /**
   * Distribution of the similarity of this frame to all map places (mean, std). Default: estimated from the
   * given similarities (exact when every place is given).
   */
  background?: { mean: number; std: number };
  /**
   * The frame's descriptor support in [0, 1] (`DescriptorOutput.support`: how much of the image its descriptor
   * rests on). Against the best support of recent frames it scales the match signal this frame can carry (see
   * `PlaceFilterOptions.supportMemory`). Default: full support.
   */
  support?: number;
}

/** What the filter believes after a step. */
export interface PlaceBelief {
  /** MAP place index, or null when the unknown state is the most likely answer or nothing stands out. */
  placeIndex: number | null;
  /** MAP place index ignoring the unknown state (null only before any evidence). */
  bestPlaceIndex: number | null;
  /** Calibrated probability that the reported answer (place, or "unknown" when lost) is correct. */
  confidence: number;
  /** Uncalibrated posterior mass within `confidenceRadius` of the best place. */
  rawConfidence: number;
  /** Posterior probability of the unknown state. */
  unknown: number;
  /** Share of the match signal the last frame carried (1 with full descriptor support). */
  reliability: number;
  status: LocalizationStatus;
}

/** Reliability below which a frame is weak (its support under a quarter of the reference). */
export const WEAK_RELIABILITY = 0.5;

const SIGNAL_MIN = 0.5;
/** Frames each similarity Gaussian needs before the unknown-place evidence counts. */
const EVIDENCE_MIN_FRAMES = 5;
/** Largest |log ratio| of the unknown-place evidence per frame. */
const EVIDENCE_CLAMP = 5;
/** Floor of the similarity Gaussians' variance (a spread of 0.01 in cosine similarity). */
const EVIDENCE_VAR_FLOOR = 1e-4;
/** Confident frames at which the "on" mean is trusted halfway (shrunk towards "off" before). */
const EVIDENCE_ON_PRIOR = 20;

/** A Gaussian tracked online (exponential averages after a warm-up of plain averages). */
interface OnlineGaussian {
  mean: number;
  variance: number;
  count: number;
}

/**
 * Add a sample: exact running mean and (population) variance for the first 50 samples, then exponential
 * averages at rate 0.02; from the sixth sample on, a sample is clipped at 3 std.
 */
function updateGaussian(g: OnlineGaussian, x: number): void {
  g.count++;
  const rate = Math.max(0.02, 1 / g.count);
  let d = x - g.mean;
  if (g.count > 5) {
    const lim = 3 * Math.sqrt(Math.max(g.variance, EVIDENCE_VAR_FLOOR));
    d = Math.min(lim, Math.max(-lim, d));
  }
  g.mean += rate * d;
  g.variance = g.count === 1 ? 0 : (1 - rate) * (g.variance + rate * d * d);
}
const SIGNAL_MAX = 4;
/** Bounds of the adjacent places' correlation in the speed read from the frames (see `motionMemory`). */
const RHO_MIN = 0.05;
const RHO_MAX = 0.99;
/** Weight of `motion`'s own speed in the speed read from the frames, in frames at `ln(rho)^2` = 1. */
const SPEED_PRIOR = 3;
/** Most phase bins per place (a robot at most this many frames a place is tracked within the place). */
const PHASE_BINS_MAX = 8;
const DEFAULT_MOTION: MotionKernel = { offsets: [-1, 0, 1, 2, 3], weights: [0.05, 0.25, 0.4, 0.2, 0.1] };

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const y = 1 -
    (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

function prob(action: string, field: string, v: number): number {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw invalid(action, field, "a number in [0, 1]", v);
  return v;
}

/**
 * Discrete Bayesian filter over map places with an unknown-place state (see the module doc).
 *
 * @example
 * ```ts
 * import { PlaceFilter } from "./place_filter.ts";
 * const filter = new PlaceFilter({ placeCount: 100 });
 * const belief = filter.step({ indices: [10, 50], similarities: [0.9, 0.3], background: { mean: 0.3, std: 0.1 } });
 * belief.bestPlaceIndex; // 10
 * ```
 */
export class PlaceFilter {
  readonly placeCount: number;
  /** 1 for a blind place (see `blindPlaces`), or null when there is none. */
  #blind: Uint8Array | null = null;
  /** The blind places, ascending (an update visits them without scanning the map). */
  #blindList: Int32Array = new Int32Array(0);
  readonly #offsets: Int32Array;
  /** The kernel in use (learnt when `motionMemory` > 0). */
  readonly #weights: Float64Array;
  /** The configured kernel (the learnt one's prior). */
  readonly #weights0: Float64Array;
  readonly #motionMemory: number;
  readonly #motionPrior: number;
  /** Index of the offset 0 in the kernel (-1: none, the kernel is not learnt). */
  readonly #stayIndex: number;
  /** Decayed sums of the stay's posterior probability (weighted by concentration) and of the weights. */
  #stayCount = 0;
  #motionTotal = 0;
  /** `motion`'s probability of moving forward (the speed below which the frames' own speed slows it). */
  readonly #forward0: number;
  /** Decayed weighted sum of consecutive frames' correlation (`tau`), its weight, and the evidence's. */
  #tauSum = 0;
  #tauWeight = 0;
  #speedEvidence = 0;
  /** The last complete frame, each place standardised over the frames, centred and scaled over the places. */
  #lastFrame: Float64Array | null = null;
  /** The buffer of the frame before the last one, reused for the next (or null). */
  #spareFrame: Float64Array | null = null;
  /** The share of `motion` (against staying) that the frames' own speed allows (1: `motion` as it is). */
  #frameMove = 1;
  /** The share of `motion` in the kernel in use (the slower of the two estimates; 1: `motion` as it is). */
  #move = 1;
  /**
   * Phase within the place on a map sparser than the frames (see `motionMemory`): per tracked place the
   * distribution over its phase bins given the place (a place not tracked: uniform).
   */
  #phases = new Map<number, Float64Array>();
  /** Scratch of the phase prediction: per-cell sums, the stamp of the prediction that last reached each cell. */
  #cellSums: Float64Array | null = null;
  #cellStamp: Uint32Array | null = null;
  #cellGeneration = 0;
  #placeSum: Float64Array | null = null;
  #placeStamp: Uint32Array | null = null;
  /** The belief before the last prediction (base, deltas), kept for the motion step of the next update. */
  #before: { base: number; places: Int32Array; deltas: Float64Array } | null = null;
  readonly #jump: number;
  readonly #toUnknown: number;
  readonly #unknownStay: number;
  readonly #initialUnknown: number;
  #signal: number;
  readonly #autoSignal: boolean;
  readonly #initialSignal: number;
  readonly #signalRate: number;
  readonly #radius: number;
  readonly #neighbourFixed: number | null;
  readonly #neighbourPrior: number;
  /** Weight of an adjacent place in the confidence (learnt with `neighbourWeight: "auto"`). */
  #rho = 1;
  /**
   * Running sums for the adjacent places' correlation (per place sum and square sum, per pair cross sum), then
   * the last complete row and each place's mean and variance over the frames (scratch of `#learnMap`).
   */
  #adjSums: Float64Array | null = null;
  #adjCount = 0;
  readonly #maxActive: number;
  readonly #calibration: CalibrationMap | null;
  readonly #weakCalibration: CalibrationMap | null;
  /** Reliability of the last observed frame. */
  #lastRel = 1;
  readonly #localizedThreshold: number;
  readonly #lostThreshold: number;
  readonly #unmatchedMass: number;
  readonly #lostAfter: number;
  #unmatched = 0;
  readonly #placeNorm: boolean;
  readonly #placePrior: number;
  readonly #evidence: boolean;
  readonly #evidenceWeight: number;
  readonly #evidenceWindow: number;
  readonly #supportMemory: number;
  /** Reference descriptor support: the decaying maximum of recent frames' support. */
  #supportRef = 0;
  /** Online Gaussians of the best similarity above the mean: on the map (confident frames) and the best look-alike. */
  #on: OnlineGaussian = { mean: 0, variance: 0, count: 0 };
  #off: OnlineGaussian = { mean: 0, variance: 0, count: 0 };
  /** Per-place running sums of the standardised similarity (complete observations). */
  #colSum: Float64Array | null = null;
  #colSq: Float64Array | null = null;
  #colCount = 0;
  /** Rows of the last `placeDelay` frames, not yet in the per-place statistics (oldest first). */
  #ring: Float64Array[] = [];
  readonly #placeDelay: number;
  /** Common mass of every place. */
  #base = 0;
  /** Deviation from base per tracked place. */
  #delta = new Map<number, number>();
  #unknown = 0;
  #steps = 0;
  /** Posterior mass around the MAP place after the last update (drives the signal's learning rate). */
  #lastMass = 0;

  constructor(options: PlaceFilterOptions) {
    const a = "create place filter";
    const n = options.placeCount;
    if (!Number.isInteger(n) || n < 1) throw invalid(a, "placeCount", "a positive integer", n);
    this.placeCount = n;
    const motion = options.motion ?? DEFAULT_MOTION;
    if (
      !Array.isArray(motion.offsets) || motion.offsets.length === 0 ||
      motion.offsets.length !== motion.weights?.length ||
      motion.offsets.some((o) => !Number.isInteger(o)) || motion.weights.some((w) => !(w >= 0))
    ) {
      throw invalid(a, "motion", "integer offsets with as many non-negative weights", motion);
    }
    const wsum = motion.weights.reduce((s, w) => s + w, 0);
    if (!(wsum > 0)) throw invalid(a, "motion.weights", "weights with a positive sum", motion.weights);
    this.#offsets = Int32Array.from(motion.offsets);
    this.#weights0 = Float64Array.from(motion.weights, (w) => w / wsum);
    this.#weights = Float64Array.from(this.#weights0);
    // No stay offset, or a kernel that only stays: nothing to learn.
    const k0 = motion.offsets.indexOf(0);
    this.#stayIndex = k0 >= 0 && this.#weights0[k0] < 1 ? k0 : -1;
    this.#forward0 = motion.offsets.reduce((s, o, k) => s + (o > 0 ? this.#weights0[k] : 0), 0);
    const mm = options.motionMemory ?? 50;
    if (!(mm >= 0 && mm <= 1e6)) throw invalid(a, "motionMemory", "a number in [0, 1e6]", mm);
    this.#motionMemory = mm;
    const mp = options.motionPrior ?? 30;
    if (!(mp > 0 && mp <= 1e6)) throw invalid(a, "motionPrior", "a number in (0, 1e6]", mp);
    this.#motionPrior = mp;
    this.#jump = prob(a, "jump", options.jump ?? 0.01);
    this.#toUnknown = prob(a, "toUnknown", options.toUnknown ?? 0.01);
    if (this.#jump + this.#toUnknown >= 1) {
      throw invalid(a, "jump + toUnknown", "below 1", this.#jump + this.#toUnknown);
    }
    this.#unknownStay = prob(a, "unknownStay", options.unknownStay ?? 0.9);
    this.#initialUnknown = prob(a, "initialUnknown", options.initialUnknown ?? 0.5);
    const signal = options.signal ?? "auto";
    if (signal !== "auto" && !(signal > 0 && signal < 20)) {
      throw invalid(a, "signal", '"auto" or a number in (0, 20)', signal);
    }
    this.#autoSignal = signal === "auto";
    const init = options.initialSignal ?? 1.5;
    if (!(init >= SIGNAL_MIN && init <= SIGNAL_MAX)) {
      throw invalid(a, "initialSignal", `a number in [${SIGNAL_MIN}, ${SIGNAL_MAX}]`, init);
    }
    this.#initialSignal = signal === "auto" ? init : signal;
    this.#signal = this.#initialSignal;
    this.#signalRate = prob(a, "signalRate", options.signalRate ?? 0.05);
    const r = options.confidenceRadius ?? 1;
    if (!Number.isInteger(r) || r < 0) throw invalid(a, "confidenceRadius", "a non-negative integer", r);
    this.#radius = r;
    const nw = options.neighbourWeight ?? "auto";
    if (nw !== "auto" && !(typeof nw === "number" && nw >= 0 && nw <= 1)) {
      throw invalid(a, "neighbourWeight", '"auto" or a number in [0, 1]', nw);
    }
    this.#neighbourFixed = nw === "auto" ? null : nw;
    const np = options.neighbourPrior ?? 3;
    if (!(np >= 0 && np <= 1e6)) throw invalid(a, "neighbourPrior", "a number in [0, 1e6]", np);
    this.#neighbourPrior = np;
    const m = options.maxActive ?? 4096;
    if (!Number.isInteger(m) || m < 1) throw invalid(a, "maxActive", "a positive integer", m);
    this.#maxActive = m;
    const cal = options.calibration === undefined ? DEFAULT_FILTER_CALIBRATION : options.calibration;
    if (cal !== null) validateCalibration(cal);
    this.#calibration = cal;
    const weak = options.weakCalibration === undefined ? WEAK_FRAME_CALIBRATION : options.weakCalibration;
    if (weak !== null) validateCalibration(weak);
    this.#weakCalibration = weak;
    this.#localizedThreshold = prob(a, "localizedThreshold", options.localizedThreshold ?? 0.5);
    this.#lostThreshold = prob(a, "lostThreshold", options.lostThreshold ?? 0.5);
    this.#unmatchedMass = prob(a, "unmatchedMass", options.unmatchedMass ?? 0.1);
    const la = options.lostAfter ?? 5;
    if (!Number.isInteger(la) || la < 1) throw invalid(a, "lostAfter", "a positive integer", la);
    this.#lostAfter = la;
    this.#placeNorm = options.placeNormalization ?? true;
    const pp = options.placePrior ?? 10;
    if (!(pp > 0)) throw invalid(a, "placePrior", "a positive number", pp);
    this.#placePrior = pp;
    const pd = options.placeDelay ?? 2;
    if (!Number.isInteger(pd) || pd < 0 || pd > 1000) {
      throw invalid(a, "placeDelay", "an integer in [0, 1000]", pd);
    }
    this.#placeDelay = pd;
    this.#evidence = options.unknownEvidence ?? true;
    const ew = options.unknownEvidenceWeight ?? 1;
    if (!(ew >= 0 && ew <= 10)) throw invalid(a, "unknownEvidenceWeight", "a number in [0, 10]", ew);
    this.#evidenceWeight = ew;
    const win = options.unknownEvidenceWindow ?? 5;
    if (!Number.isInteger(win) || win < 0) {
      throw invalid(a, "unknownEvidenceWindow", "a non-negative integer", win);
    }
    this.#evidenceWindow = win;
    const sm = options.supportMemory ?? 100;
    if (!(sm >= 0 && sm <= 1e6)) throw invalid(a, "supportMemory", "a number in [0, 1e6]", sm);
    this.#supportMemory = sm;
    const blind = options.blindPlaces ?? [];
    if (blind.length > 0) {
      const mask = new Uint8Array(this.placeCount);
      for (let i = 0; i < blind.length; i++) {
        const j = blind[i];
        if (!Number.isInteger(j) || j < 0 || j >= this.placeCount) {
          throw invalid(a, "blindPlaces", `place indices in [0, ${this.placeCount - 1}]`, j);
        }
        mask[j] = 1;
      }
      this.#blind = mask;
      this.#blindList = Int32Array.from(mask.keys()).filter((j) => mask[j] === 1);
    }
    this.reset();
  }

  /** Forget everything: uniform over places with the initial unknown probability. */
  reset(): void {
    this.#unknown = this.#initialUnknown;
    this.#base = (1 - this.#initialUnknown) / this.placeCount;
    this.#delta.clear();
    this.#steps = 0;
    this.#unmatched = 0;
    this.#lastMass = 0;
    this.#signal = this.#initialSignal;
    this.#colSum = null;
    this.#colSq = null;
    this.#colCount = 0;
    this.#adjSums = null;
    this.#adjCount = 0;
    this.#rho = this.#neighbourFixed ?? 1;
    this.#ring = [];
    this.#on = { mean: 0, variance: 0, count: 0 };
    this.#off = { mean: 0, variance: 0, count: 0 };
    this.#supportRef = 0;
    this.#lastRel = 1;
    this.#weights.set(this.#weights0);
    this.#stayCount = 0;
    this.#motionTotal = 0;
    this.#tauSum = 0;
    this.#tauWeight = 0;
    this.#speedEvidence = 0;
    this.#lastFrame = null;
    this.#frameMove = 1;
    this.#move = 1;
    this.#phases.clear();
    this.#before = null;
  }

  /** The motion kernel's weights in use (the configured ones, or the learnt ones with `motionMemory`). */
  get motionWeights(): number[] {
    return Array.from(this.#weights);
  }

  /** The match signal in use (fixed, or the current online estimate). */
  get signal(): number {
    return this.#signal;
  }

  /** Number of places tracked apart from the base mass (for tests and stats). */
  get activeCount(): number {
    return this.#delta.size;
  }

  /** Number of observation steps since the last reset. */
  get steps(): number {
    return this.#steps;
  }

  /** Posterior probability of place `index` (0 outside the map). */
  probability(index: number): number {
    if (!(index >= 0 && index < this.placeCount)) return 0;
    return this.#base + (this.#delta.get(index) ?? 0);
  }

  /** Posterior probability of the unknown state. */
  get unknownProbability(): number {
    return this.#unknown;
  }

  /**
   * Phase bins per place at the learnt speed: the frames a place lasts at the learnt forward probability, at
   * most `PHASE_BINS_MAX`; 1 (the plain place kernel) from half a place a frame up, and for a `motion` that
   * already moves on fewer than half of the frames (a kernel configured for a sparse map is kept as given).
   */
  #phaseBins(): number {
    if (!this.#learnsMotion || this.#forward0 <= 0.5) return 1;
    const speed = this.#forward0 * this.#move;
    return speed > 0 ? Math.max(1, Math.min(PHASE_BINS_MAX, Math.floor(1 / speed))) : 1;
  }

  /** Motion prediction: one step of the transition model. */
  predict(): void {
    const bins = this.#phaseBins();
    if (bins > 1) this.#predictPhases(bins);
    else this.#predictPlaces();
    // The base's share that leaves past the map's ends is spread back uniformly (see `#predictBase`), so on a
    // small map a place far below the base can come out slightly negative: it is put back at zero.
    let clamped = false;
    for (const [i, d] of this.#delta) {
      if (this.#base + d < 0) {
        this.#delta.set(i, -this.#base);
        clamped = true;
      }
    }
    if (clamped) this.#normalize();
  }

  /** The prediction over places alone (no phase). */
  #predictPlaces(): void {
    this.#phases.clear();
    const n = this.placeCount;
    const stay = 1 - this.#jump - this.#toUnknown;
    const next = new Map<number, number>();
    const offsets = this.#offsets, weights = this.#weights;
    // A move past either end of the traversal leaves the recorded route: the robot re-enters it anywhere (the
    // mass is spread over every place, as a jump), instead of piling up on the end place, which would turn
    // the last place of a map into a sink that holds the estimate while the frames show earlier places.
    let offRoute = 0;
    for (const [i, d] of this.#delta) {
      const sd = d * stay;
      for (let k = 0; k < offsets.length; k++) {
        const j = i + offsets[k];
        if (j < 0 || j >= n) offRoute += sd * weights[k];
        else next.set(j, (next.get(j) ?? 0) + sd * weights[k]);
      }
    }
    this.#predictBase(offRoute);
    this.#delta = next;
  }

  /**
   * The prediction of the base mass and of the unknown state: the base keeps its share that stays on the map
   * and gets back the jumps, the re-entries from "unknown" and `offRoute` (the mass moved past either end of
   * the traversal), spread over every place. The uniform base loses its own off-route share at the edges and
   * gets it back spread: uniform up to O(width / N); ignored.
   */
  #predictBase(offRoute: number): void {
    const placeMass = 1 - this.#unknown;
    this.#base = this.#base * (1 - this.#jump - this.#toUnknown) +
      (placeMass * this.#jump + this.#unknown * (1 - this.#unknownStay) + offRoute) / this.placeCount;
    this.#unknown = this.#unknown * this.#unknownStay + placeMass * this.#toUnknown;
  }

  /**
   * The prediction over (place, phase bin): `bins` bins per place, each about what the robot covers in a frame,
   * and the base mass uniform over every bin. Of each step, the share `1 - motion`'s stay probability moves the
   * phase: the configured kernel in bins, slowed to the learnt speed by mixing it with staying, so that a
   * place is left after about `bins` frames. The rest is the plain place kernel at the learnt speed, landing at
   * any phase of the place it reaches: at a place a frame the configured kernel stays on that share of the
   * frames whatever the frames before, and it keeps a speed learnt wrong (a robot that skips a place, a slower
   * stretch) from locking the estimate to a wrong dwell time.
   */
  #predictPhases(bins: number): void {
    const n = this.placeCount, cells = n * bins;
    const stay = 1 - this.#jump - this.#toUnknown;
    const offsets = this.#offsets, w0 = this.#weights0, k0 = this.#stayIndex, placeWeights = this.#weights;
    // The phase moves by the configured kernel's moves (its offsets other than 0, as they are given), mixed with
    // staying so that the mean advance is the learnt speed in bins per frame.
    const memoryless = w0[k0];
    let moveMean = 0;
    for (let k = 0; k < offsets.length; k++) moveMean += offsets[k] * w0[k] / (1 - memoryless);
    const share = Math.min(1, bins * this.#forward0 * this.#move / Math.max(1e-9, moveMean));
    const binWeights = Float64Array.from(
      w0,
      (w, k) => (1 - memoryless) * (k === k0 ? 1 - share : share * w / (1 - memoryless)),
    );
    const base = this.#base, cellBase = base / bins;
    // The predicted deviation per (place, bin) cell: dense sums reused across frames, the cells touched this
    // frame listed in the order first reached (a stamp per cell tells a cell reached this frame from one of an
    // earlier frame, so nothing is cleared).
    this.#phaseScratch(cells, n);
    const next = this.#cellSums!, stamp = this.#cellStamp!, gen = this.#nextCellGeneration();
    const touched: number[] = [];
    const add = (c: number, v: number) => {
      if (stamp[c] !== gen) {
        stamp[c] = gen;
        next[c] = v;
        touched.push(c);
      } else next[c] += v;
    };
    let offRoute = 0;
    for (const [i, d] of this.#delta) {
      const phase = this.#phaseOf(i, bins), p = base + d;
      for (let q = 0; q < bins; q++) {
        const dc = (p * (phase ? phase[q] : 1 / bins) - cellBase) * stay;
        const c = i * bins + q;
        for (let k = 0; k < offsets.length; k++) {
          const c2 = c + offsets[k];
          if (c2 < 0 || c2 >= cells) offRoute += dc * binWeights[k];
          else add(c2, dc * binWeights[k]);
        }
      }
      const dp = d * stay * memoryless;
      for (let k = 0; k < offsets.length; k++) {
        const j = i + offsets[k], v = dp * placeWeights[k];
        if (j < 0 || j >= n) offRoute += v;
        else for (let q = 0; q < bins; q++) add(j * bins + q, v / bins);
      }
    }
    this.#predictBase(offRoute);
    const newBase = this.#base;
    // Back to a mass per place (the deviation from the base, summed over its cells in the order reached) and a
    // phase distribution within it; the places in the order first reached.
    const sums = this.#placeSum!, placeStamp = this.#placeStamp!, places: number[] = [];
    for (const c of touched) {
      const dc = next[c], j = Math.floor(c / bins);
      if (placeStamp[j] !== gen) {
        placeStamp[j] = gen;
        sums[j] = 0 + dc;
        places.push(j);
      } else sums[j] += dc;
    }
    // The arrays of the phases predicted from are not read any more: they hold the new ones.
    const pool: Float64Array[] = [];
    for (const a of this.#phases.values()) if (a.length === bins) pool.push(a);
    const delta = new Map<number, number>(), phases = new Map<number, Float64Array>();
    const newCell = newBase / bins;
    for (const j of places) {
      delta.set(j, sums[j]);
      const phase = pool.pop() ?? new Float64Array(bins);
      let sum = 0;
      for (let q = 0, c = j * bins; q < bins; q++, c++) {
        sum += phase[q] = Math.max(0, (stamp[c] === gen ? 0 + next[c] : 0) + newCell);
      }
      if (sum > 0) {
        for (let q = 0; q < bins; q++) phase[q] /= sum;
        phases.set(j, phase);
      } else pool.push(phase);
    }
    this.#delta = delta;
    this.#phases = phases;
  }

  /**
   * The scratch of the phase prediction, grown to at least `cells` cells and `n` places: dense sums and, for
   * each, the stamp of the prediction that last reached it (stamps restart when a buffer is replaced).
   */
  #phaseScratch(cells: number, n: number): void {
    if (this.#cellSums && this.#cellSums.length >= cells && this.#placeSum && this.#placeSum.length >= n) {
      return;
    }
    this.#cellSums = new Float64Array(Math.max(cells, this.#cellSums?.length ?? 0));
    this.#cellStamp = new Uint32Array(this.#cellSums.length);
    this.#placeSum = new Float64Array(Math.max(n, this.#placeSum?.length ?? 0));
    this.#placeStamp = new Uint32Array(this.#placeSum.length);
    this.#cellGeneration = 0;
  }

  /** A new stamp for the cells and places reached in this prediction (all cleared when the counter wraps). */
  #nextCellGeneration(): number {
    if (this.#cellGeneration >= 0xffffffff) {
      this.#cellStamp!.fill(0);
      this.#placeStamp!.fill(0);
      this.#cellGeneration = 0;
    }
    return ++this.#cellGeneration;
  }

  /** Place `i`'s phase distribution over `bins` bins (rebinned if kept at another count), null: uniform. */
  #phaseOf(i: number, bins: number): Float64Array | null {
    const phase = this.#phases.get(i);
    if (!phase || phase.length === bins) return phase ?? null;
    // Each old bin spreads over the new bins it overlaps, in proportion to the overlap.
    const out = new Float64Array(bins), from = phase.length;
    for (let p = 0; p < from; p++) {
      const lo = p / from, hi = (p + 1) / from;
      for (let q = Math.floor(lo * bins); q < bins && q / bins < hi; q++) {
        const overlap = Math.min(hi, (q + 1) / bins) - Math.max(lo, q / bins);
        if (overlap > 0) out[q] += phase[p] * overlap * from;
      }
    }
    return out;
  }

  /** Bayes update with one frame's similarities (see the module doc for the likelihood). */
  update(obs: PlaceObservation): void {
    let { indices, similarities } = obs;
    if (similarities.length !== indices.length) {
      throw invalid(
        "update place filter",
        "similarities",
        `an array as long as indices (${indices.length})`,
        similarities.length,
      );
    }
    const blind = this.#blind;
    if (blind) ({ indices, similarities } = this.#withoutBlind(indices, similarities));
    const k = indices.length;
    if (k === 0) return;
    const n = this.placeCount;
    let { mean, std } = observationBackground(blind ? { similarities, background: obs.background } : obs);
    if (!(std > 1e-6)) std = 1e-6;
    if (!Number.isFinite(mean)) mean = 0;
    let zmin = Infinity;
    const zs = new Float64Array(k);
    for (let i = 0; i < k; i++) {
      const idx = indices[i];
      if (!(idx >= 0 && idx < n) || !Number.isInteger(idx)) {
        throw invalid("update place filter", "indices", `integers in [0, ${n - 1}]`, idx);
      }
      const z = (similarities[i] - mean) / std;
      if (z < zmin) zmin = z;
      zs[i] = z;
    }
    const complete = k + this.#blindList.length >= n;
    if (complete && n >= 2 && (this.#neighbourFixed === null || this.#learnsMotion)) {
      this.#learnMap(indices, zs);
    }
    const evidence = this.#evidence ? this.#unknownEvidence(indices, similarities, mean) : 1;
    if (complete && this.#placeNorm && n >= 3) zmin = this.#normalizePlaces(indices, zs);
    const rel = this.#reliability(obs.support);
    this.#lastRel = rel;
    if (this.#autoSignal) this.#adaptSignal(indices, zs, complete ? 0 : zmin, rel, complete);
    const b = this.#signal * rel;
    const c = -0.5 * b * b;
    const lr = new Float64Array(k);
    for (let i = 0; i < k; i++) lr[i] = Math.exp(Math.min(60, b * zs[i] + c));
    if (complete && this.#before) {
      const byPlace = new Float64Array(n);
      for (let i = 0; i < k; i++) byPlace[indices[i]] = lr[i];
      for (const j of this.#blindList) byPlace[j] = 1;
      this.#adaptMotion(this.#before, byPlace);
    }
    // Expected ratio of places not observed (z below the smallest observed one).
    const floor = complete ? 1 : Math.max(1e-300, normalCdf(zmin - b)) / Math.max(1e-300, normalCdf(zmin));
    const base = this.#base;
    const delta = this.#delta;
    // A blind place is never observed, but its ratio is 1, not the unobserved places' floor.
    const blindBefore = blind && floor !== 1 ? this.#blindMasses(base) : null;
    if (floor !== 1) { for (const [i, d] of delta) delta.set(i, d * floor); }
    const newBase = base * floor;
    if (blindBefore) { for (const [j, p] of blindBefore) delta.set(j, p - newBase); }
    for (let i = 0; i < k; i++) {
      const idx = indices[i];
      const p = base + (delta.has(idx) ? (delta.get(idx)! / floor) : 0);
      delta.set(idx, p * lr[i] - newBase);
    }
    this.#base = newBase;
    this.#unknown *= evidence;
    this.#normalize();
    this.#steps++;
    const mass = this.#mapMass();
    this.#lastMass = mass;
    this.#unmatched = mass < this.#unmatchedMass ? this.#unmatched + 1 : 0;
  }

  /** The observation without its blind places (see `blindPlaces`); the arrays as given when it has none. */
  #withoutBlind(
    indices: ArrayLike<number>,
    similarities: ArrayLike<number>,
  ): { indices: ArrayLike<number>; similarities: ArrayLike<number> } {
    const blind = this.#blind!, n = this.placeCount;
    let drop = 0;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      if (j >= 0 && j < n && blind[j]) drop++;
    }
    if (drop === 0) return { indices, similarities };
    const keptIdx = new Array<number>(indices.length - drop);
    const keptSim = new Array<number>(indices.length - drop);
    let o = 0;
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i];
      if (j >= 0 && j < n && blind[j]) continue;
      keptIdx[o] = j;
      keptSim[o++] = similarities[i];
    }
    return { indices: keptIdx, similarities: keptSim };
  }

  /** Each blind place's probability (base + delta) before an update. */
  #blindMasses(base: number): [number, number][] {
    return Array.from(this.#blindList, (j) => [j, base + (this.#delta.get(j) ?? 0)]);
  }

  /** Whether the motion kernel is learnt (see `motionMemory`). */
  get #learnsMotion(): boolean {
    return this.#motionMemory > 0 && this.#stayIndex >= 0 && this.#forward0 > 0;
  }

  /**
   * Update the per-place statistics with a complete row of standardised similarities: the adjacent places'
   * correlation sets the neighbour weight (see `neighbourWeight`) and, with consecutive frames' correlation,
   * the speed read from the frames (see `motionMemory`). Pairs with a place whose similarity has not varied
   * (an image without a descriptor) are left out.
   */
  #learnMap(indices: ArrayLike<number>, zs: Float64Array): void {
    const n = this.placeCount;
    // Sums: per place (sum, square sum), per adjacent pair (cross sum); then the row in place order; then each
    // place's mean and variance over the frames so far.
    if (!this.#adjSums) this.#adjSums = new Float64Array(6 * n);
    const acc = this.#adjSums;
    const row = acc.subarray(3 * n, 4 * n), means = acc.subarray(4 * n, 5 * n), vars = acc.subarray(5 * n);
    for (let i = 0; i < zs.length; i++) row[indices[i]] = zs[i];
    for (let j = 0; j < n; j++) {
      acc[j] += row[j];
      acc[n + j] += row[j] * row[j];
      if (j + 1 < n) acc[2 * n + j] += row[j] * row[j + 1];
    }
    const f = ++this.#adjCount;
    if (f < 3) return;
    for (let j = 0; j < n; j++) {
      const m = acc[j] / f;
      means[j] = m;
      vars[j] = acc[n + j] / f - m * m;
    }
    let sum = 0, pairs = 0;
    for (let j = 0; j + 1 < n; j++) {
      const v1 = vars[j], v2 = vars[j + 1];
      if (!(v1 > 1e-9 && v2 > 1e-9)) continue;
      sum += (acc[2 * n + j] / f - means[j] * means[j + 1]) / Math.sqrt(v1 * v2);
      pairs++;
    }
    if (pairs === 0) return;
    const c = Math.max(0, Math.min(1, sum / pairs));
    if (this.#neighbourFixed === null) {
      this.#rho = (this.#neighbourPrior + f * c) / (this.#neighbourPrior + f);
    }
    if (this.#learnsMotion) this.#learnFrameSpeed(row, means, vars, c);
  }

  /**
   * Fold the current row (each place's `means` and `vars` over the frames so far given) into consecutive
   * frames' correlation and set the share of `motion` the speed it implies against the adjacent places'
   * correlation `rho` allows (see `motionMemory`).
   */
  #learnFrameSpeed(row: Float64Array, means: Float64Array, vars: Float64Array, rho: number): void {
    const n = this.placeCount;
    // The row with each place standardised over the frames so far, then centred and scaled over the places.
    // Every entry is written below: the buffer of the frame before the last one serves.
    const prev = this.#lastFrame;
    const frame = this.#spareFrame ?? new Float64Array(n);
    this.#spareFrame = null;
    let mean = 0;
    for (let j = 0; j < n; j++) {
      const v = vars[j];
      frame[j] = v > 1e-9 ? (row[j] - means[j]) / Math.sqrt(v) : 0;
      mean += frame[j];
    }
    mean /= n;
    let ss = 0;
    for (let j = 0; j < n; j++) {
      frame[j] -= mean;
      ss += frame[j] * frame[j];
    }
    if (!(ss > 1e-9)) {
      this.#lastFrame = null;
      this.#spareFrame = frame;
      return;
    }
    const inv = 1 / Math.sqrt(ss / n);
    for (let j = 0; j < n; j++) frame[j] *= inv;
    this.#lastFrame = frame;
    if (!prev) return;
    let t = 0;
    for (let j = 0; j < n; j++) t += frame[j] * prev[j];
    this.#spareFrame = prev;
    if (!Number.isFinite(t)) return;
    // A frame counts by the concentration of the belief before it.
    const keep = Math.exp(-1 / this.#motionMemory), g = this.#lastMass;
    const r = Math.min(RHO_MAX, Math.max(RHO_MIN, rho)), lr = Math.log(r);
    this.#tauSum = keep * this.#tauSum + g * (t / n);
    this.#tauWeight = keep * this.#tauWeight + g;
    this.#speedEvidence = keep * this.#speedEvidence + g * lr * lr;
    if (!(this.#tauWeight > 0)) return;
    const tau = this.#tauSum / this.#tauWeight;
    // Places per frame; frames that decorrelate as fast as the map or faster (tau <= rho) keep `motion`.
    const speed = tau <= r ? Infinity : Math.log(Math.max(1e-9, tau)) / lr;
    const measured = Math.min(1, speed / this.#forward0);
    const e = this.#speedEvidence;
    this.#frameMove = (SPEED_PRIOR + e * measured) / (SPEED_PRIOR + e);
  }

  /** Weight of an adjacent place in the confidence (fixed, or learnt from the frames). */
  get neighbourWeight(): number {
    return this.#rho;
  }

  /** The share of the match signal a frame of this support carries (updates the reference support). */
  #reliability(support: number | undefined): number {
    if (this.#supportMemory <= 0 || support === undefined || !Number.isFinite(support)) return 1;
    const s = Math.min(1, Math.max(0, support));
    this.#supportRef = Math.max(s, this.#supportRef * Math.exp(-1 / this.#supportMemory));
    return this.#supportRef > 0 ? Math.sqrt(s / this.#supportRef) : 1;
  }

  /**
   * Likelihood ratio of "unknown" from the frame's best similarity above the background mean (see
   * `unknownEvidence`); updates the two online Gaussians. Called after the prediction, so the MAP place is
   * the predicted one.
   */
  #unknownEvidence(indices: ArrayLike<number>, similarities: ArrayLike<number>, mean: number): number {
    const { best, mass } = this.#mapPlace();
    const w = this.#evidenceWindow;
    let sBest = -Infinity, sAway = -Infinity;
    for (let i = 0; i < similarities.length; i++) {
      const v = similarities[i] - mean;
      if (v > sBest) sBest = v;
      if (best >= 0 && Math.abs(indices[i] - best) > w && v > sAway) sAway = v;
    }
    if (!Number.isFinite(sBest)) return 1;
    let ratio = 1;
    const on = this.#on, off = this.#off;
    if (on.count >= EVIDENCE_MIN_FRAMES && off.count >= EVIDENCE_MIN_FRAMES) {
      // One spread for both (that of the look-alikes, estimated on every frame): with unequal spreads a
      // frame would carry evidence even where the two means agree (hard data, where the true place is rarely
      // the best), and the wider Gaussian would win the far lower tail. With one spread the log ratio is
      // linear in the best similarity: the lower it is, the stronger the evidence for "unknown". The "on"
      // mean is never below "off" (the true place adds to the look-alikes) and, from few confident frames,
      // is shrunk towards it.
      const v = Math.max(EVIDENCE_VAR_FLOOR, off.variance);
      const onMean = off.mean + Math.max(0, on.mean - off.mean) * on.count / (on.count + EVIDENCE_ON_PRIOR);
      const llr = ((sBest - onMean) ** 2 - (sBest - off.mean) ** 2) / (2 * v);
      const e = this.#evidenceWeight * llr;
      ratio = Math.exp(Math.max(-EVIDENCE_CLAMP, Math.min(EVIDENCE_CLAMP, e)));
    }
    if (Number.isFinite(sAway)) updateGaussian(off, sAway);
    if (this.#lastMass >= 0.5 && mass >= 0.5 && this.#unknown < 0.1) updateGaussian(on, sBest);
    return ratio;
  }

  /** Standardise each place's z by its running statistics, then the row again; returns the new minimum. */
  #normalizePlaces(indices: ArrayLike<number>, zs: Float64Array): number {
    const n = this.placeCount, k = zs.length;
    if (!this.#colSum) {
      this.#colSum = new Float64Array(n);
      this.#colSq = new Float64Array(n);
    }
    const sum = this.#colSum, sq = this.#colSq!;
    // The current frame's row joins the statistics only `placeDelay` frames later: the oldest pending row
    // joins now, and its buffer takes the current row.
    const delay = this.#placeDelay;
    let row: Float64Array | undefined;
    if (delay > 0) {
      if (this.#ring.length < delay) row = new Float64Array(n);
      else {
        row = this.#ring.shift()!;
        for (let j = 0; j < n; j++) {
          sum[j] += row[j];
          sq[j] += row[j] * row[j];
        }
        this.#colCount++;
      }
    }
    const w = this.#colCount + this.#placePrior;
    let s1 = 0, s2 = 0;
    for (let i = 0; i < k; i++) {
      const j = indices[i];
      const zr = zs[i];
      if (row) row[j] = zr;
      else {
        sum[j] += zr;
        sq[j] += zr * zr;
      }
      const ww = row ? w : w + 1;
      const m = sum[j] / ww;
      const v = Math.max(0.01, (sq[j] + this.#placePrior) / ww - m * m);
      const z = (zr - m) / Math.sqrt(v);
      zs[i] = z;
      s1 += z;
      s2 += z * z;
    }
    if (row) this.#ring.push(row);
    else this.#colCount++;
    const mean = s1 / k;
    const sd = Math.sqrt(Math.max(1e-12, s2 / k - mean * mean));
    let zmin = Infinity;
    for (let i = 0; i < k; i++) {
      zs[i] = (zs[i] - mean) / sd;
      if (zs[i] < zmin) zmin = zs[i];
    }
    return zmin;
  }

  /**
   * Online EM step on the emission mean: the prior-weighted standardised similarity (places not observed
   * count at the expected z of the background below the smallest observed one). A frame of reliability `rel`
   * has mean `rel * signal`: a least-squares step in which weak frames count little.
   */
  #adaptSignal(
    indices: ArrayLike<number>,
    zs: Float64Array,
    zmin: number,
    rel: number,
    complete: boolean,
  ): void {
    const placeMass = 1 - this.#unknown;
    if (!(placeMass > 1e-9)) return;
    let seen = 0, acc = 0;
    for (let i = 0; i < zs.length; i++) {
      const p = this.#base + (this.#delta.get(indices[i]) ?? 0);
      seen += p;
      acc += p * zs[i];
    }
    const rest = Math.max(0, placeMass - seen);
    if (rest > 0 && !complete) {
      const phi = Math.exp(-0.5 * zmin * zmin) / Math.sqrt(2 * Math.PI);
      acc += rest * (-phi / Math.max(1e-12, normalCdf(zmin)));
    }
    // Complete but for blind places: their mass says nothing of the signal.
    const m = complete && this.#blindList.length > 0 ? (seen > 1e-12 ? acc / seen : 0) : acc / placeMass;
    // Only a concentrated prior says where the true place is: weight the step by that concentration.
    const rate = this.#signalRate * this.#lastMass;
    const next = this.#signal + rate * rel * (m - rel * this.#signal);
    this.#signal = Math.min(SIGNAL_MAX, Math.max(SIGNAL_MIN, next));
  }

  /** Predict then update; returns the belief. */
  step(obs: PlaceObservation): PlaceBelief {
    if (this.#steps > 0) {
      // The stay probability learns from complete observations only: keep the belief before the prediction
      // for those (a copy of the tracked places that a top-k observation would not use).
      if (this.#motionMemory > 0 && this.#stayIndex >= 0 && obs.indices.length >= this.placeCount) {
        const size = this.#delta.size;
        const places = new Int32Array(size), deltas = new Float64Array(size);
        let k = 0;
        for (const [i, d] of this.#delta) {
          places[k] = i;
          deltas[k++] = d;
        }
        this.#before = { base: this.#base, places, deltas };
      }
      this.predict();
    }
    this.update(obs);
    this.#before = null;
    return this.belief();
  }

  /**
   * Online EM step on the stay probability (see `motionMemory`): the posterior probability that the last step
   * stayed, given the belief before it and the likelihood ratio `lr` of every place (a complete observation,
   * in place order), joins a decayed average weighted by the concentration of that belief.
   */
  #adaptMotion(before: { base: number; places: Int32Array; deltas: Float64Array }, lr: Float64Array): void {
    const n = this.placeCount, offsets = this.#offsets, w = this.#weights;
    // Prefix sums of lr: the base mass moved by offset o meets the places [max(0, o), n + min(0, o)).
    const prefix = new Float64Array(n + 1);
    for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j] + lr[j];
    const post = new Float64Array(offsets.length);
    let total = 0;
    for (let k = 0; k < offsets.length; k++) {
      const o = offsets[k];
      let acc = before.base * (prefix[Math.min(n, n + o)] - prefix[Math.max(0, o)]);
      const places = before.places, deltas = before.deltas;
      for (let a = 0; a < places.length; a++) {
        const j = places[a] + o;
        if (j >= 0 && j < n) acc += deltas[a] * lr[j];
      }
      post[k] = w[k] * Math.max(0, acc);
      total += post[k];
    }
    if (!(total > 0) || !Number.isFinite(total)) return;
    // Only a concentrated belief says which way the robot moved: weight the frame by that concentration.
    const g = this.#lastMass;
    const keep = Math.exp(-1 / this.#motionMemory);
    const k0 = this.#stayIndex;
    this.#stayCount = keep * this.#stayCount + g * (post[k0] / total);
    this.#motionTotal = keep * this.#motionTotal + g;
    // The stay probability the recent steps show (shrunk towards the configured kernel's), matched by mixing
    // the configured kernel with staying: never below the configured stay probability.
    const w0 = this.#weights0, prior = this.#motionPrior;
    const stay = (prior * w0[k0] + this.#stayCount) / (prior + this.#motionTotal);
    const move = Math.min(1, (1 - stay) / (1 - w0[k0]), this.#frameMove);
    this.#move = move;
    for (let k = 0; k < offsets.length; k++) w[k] = move * w0[k] + (k === k0 ? 1 - move : 0);
  }

  /**
   * Fold in an asynchronous geometric verification of place `index`, observed `lag` steps ago: a verified
   * candidate (`inliers >= minInliers`) multiplies the belief of the places it may have moved to since by
   * `gain`; a failed one divides them by `gain`.
   */
  applyVerification(index: number, verified: boolean, options: { lag?: number; gain?: number } = {}): void {
    if (!(index >= 0 && index < this.placeCount)) return;
    const lag = Math.max(0, options.lag ?? 0);
    const gain = options.gain ?? 4;
    const maxFwd = Math.max(0, ...this.#offsets);
    const minBack = Math.min(0, ...this.#offsets);
    const lo = Math.max(0, index + minBack * lag - this.#radius);
    const hi = Math.min(this.placeCount - 1, index + maxFwd * lag + this.#radius);
    const f = verified ? gain : 1 / gain;
    for (let j = lo; j <= hi; j++) {
      const p = this.#base + (this.#delta.get(j) ?? 0);
      this.#delta.set(j, p * f - this.#base);
    }
    this.#normalize();
  }

  /** The current belief (MAP place, calibrated confidence, status). */
  belief(): PlaceBelief {
    const { best, confidenceMass: mass } = this.#mapPlace();
    const unknown = this.#unknown;
    const reliability = this.#lastRel;
    const cal = this.#calibration && reliability < WEAK_RELIABILITY && this.#weakCalibration
      ? this.#weakCalibration
      : this.#calibration;
    const placeConfidence = best < 0 ? 0 : cal ? applyCalibration(cal, mass) : mass;
    const lost = unknown > this.#lostThreshold || this.#unmatched >= this.#lostAfter;
    if (lost || best < 0) {
      // "Lost" is right when the robot is off the map: the posterior of the unknown state (not the chance that
      // the best place is wrong, which also counts being at another place of the map).
      return {
        placeIndex: null,
        bestPlaceIndex: best < 0 ? null : best,
        confidence: lost ? unknown : 0,
        rawConfidence: mass,
        unknown,
        reliability,
        status: lost ? "lost" : "uncertain",
      };
    }
    return {
      placeIndex: best,
      bestPlaceIndex: best,
      confidence: placeConfidence,
      rawConfidence: mass,
      unknown,
      reliability,
      status: placeConfidence >= this.#localizedThreshold ? "localized" : "uncertain",
    };
  }

  /** MAP place (-1 when no place stands above the base) and the mass within the radius around it. */
  #mapPlace(): { best: number; mass: number; confidenceMass: number } {
    let best = -1, bestP = -Infinity;
    for (const [i, d] of this.#delta) {
      if (d > bestP || (d === bestP && i < best)) {
        best = i;
        bestP = d;
      }
    }
    if (best < 0 || bestP <= 0) return { best: -1, mass: 0, confidenceMass: 0 };
    // Plain mass within the radius (the belief's concentration), and the confidence's, neighbours weighted.
    let mass = this.#base + bestP, conf = mass;
    const rho = this.#rho;
    for (let d = 1, w = rho; d <= this.#radius; d++, w *= rho) {
      for (let j = best - d; j <= best + d; j += 2 * d) {
        if (j < 0 || j >= this.placeCount) continue;
        const p = this.#base + (this.#delta.get(j) ?? 0);
        mass += p;
        conf += w * p;
      }
    }
    const clamp = (v: number) => Math.min(1, Math.max(0, v));
    return { best, mass: clamp(mass), confidenceMass: clamp(conf) };
  }

  #mapMass(): number {
    return this.#mapPlace().mass;
  }

  #normalize(): void {
    // A place's probability (base + delta) is never below 0: the mass a below-base place sends past a map end
    // (spread as the base is) can leave a place slightly negative.
    const floor = -this.#base;
    let total = this.#base * this.placeCount + this.#unknown;
    for (const [i, d] of this.#delta) {
      if (d < floor) this.#delta.set(i, floor);
      total += Math.max(d, floor);
    }
    if (!(total > 0) || !Number.isFinite(total)) {
      this.reset();
      return;
    }
    const inv = 1 / total;
    this.#base *= inv;
    this.#unknown *= inv;
    const tiny = this.#base * 1e-3;
    for (const [i, d] of this.#delta) {
      const v = d * inv;
      if (Math.abs(v) <= tiny) {
        this.#delta.delete(i);
        this.#phases.delete(i);
      } else this.#delta.set(i, v);
    }
    if (this.#delta.size > this.#maxActive) this.#prune();
  }

  /** Keep the `maxActive` places with the largest deviation; the others fall back to the base mass. */
  #prune(): void {
    const entries = [...this.#delta.entries()].sort((p, q) => q[1] - p[1]);
    const keep = new Map<number, number>();
    for (let i = 0; i < this.#maxActive; i++) keep.set(entries[i][0], entries[i][1]);
    this.#delta = keep;
    for (const i of this.#phases.keys()) if (!keep.has(i)) this.#phases.delete(i);
    let total = this.#base * this.placeCount + this.#unknown;
    for (const d of keep.values()) total += d;
    const inv = 1 / total;
    this.#base *= inv;
    this.#unknown *= inv;
    for (const [i, d] of keep) keep.set(i, d * inv);
  }
}
