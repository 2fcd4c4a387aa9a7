/**
 * Loop-closure detection for SLAM (no prior map; the map grows online). Pure kernel: no RxJS, no IO, no
 * index. The caller adds every keyframe to its index and passes, for each new keyframe, the similarities of
 * the eligible earlier keyframes (all of them when the map is small, else the index's top-k with the recent
 * window excluded, plus the background statistics of the similarities).
 *
 * Why sequences: in long look-alike corridors a single frame's best match is often a look-alike, and a
 * single-frame detector cannot reach a useful recall at 100% precision. A true revisit instead produces a
 * run of matches whose index advances with the query (like a short sequence). The detector runs a CUSUM
 * along such tracks: for candidate keyframe j at keyframe t,
 *
 *   S_t(j) = decay * max(0, max_{o in [-maxBack, maxAdvance]} S_{t-1}(j - o)) + z_t(j) - drift,   clipped at 0,
 *
 * (a leaky CUSUM: `decay` < 1 makes the evidence, hence the confidence, reflect the last frames, so that a
 * long true track that drifts onto a wrong match loses confidence)
 * where z_t(j) is the similarity standardised against the background of this frame (how far the match stands
 * out), with the mean raised to the similarity of the oldest keyframes of the excluded recent window when that
 * is higher: those are nearby but different places, so in a uniform corridor, where everything around looks
 * alike, a candidate must look more like the query than the robot's own recent past does. This is what keeps
 * a corridor's first traversal from closing loops with itself. A hypothesis needs `minConsistent` consecutive
 * frames on its track, S above `threshold`, and a match that advanced over at least `minSpan` keyframes of the
 * map (consistency over a distance in the map, not only over time); the track with the most evidence is
 * reported. Its event names the place that the run aligns the query with (a robust line through the track's
 * matches; a neighbour only where this frame's own similarity clearly says so), not the frame's own top match,
 * which along a true revisit is often a neighbour of the right place. Its confidence grows with S, with the
 * span, and with how well this frame itself shows the named place (its standardised similarity): evidence
 * carried by the track alone, into a turn or a view the map never had, ranks low. With verification available
 * (the pipeline's hook), a hypothesis becomes an event only when the geometric check passes (the pipeline gates
 * on the inlier count).
 *
 * A frame whose similarities have no spread (it resembles every place equally: an all-zero descriptor from a
 * frame too dark or flat for any visual word) is skipped like a missing keyframe rather than counted as evidence
 * against every track. So is a frame whose descriptor rests on almost nothing of the image (its `support` a
 * small fraction of the typical support of recent keyframes, `skipSupport`): normalised to unit length, such a
 * descriptor is mostly noise and its similarities are too, so it would end a true track as surely as a blank
 * frame while showing nothing.
 *
 * @module
 */
import { invalid } from "../errors.ts";
import { observationBackground } from "./background.ts";

/** Options of a {@link LoopDetector}. */
export interface LoopDetectorOptions {
  /** Keyframes just before the query that are never candidates (the robot is still there). Default 10. */
  excludeRecent?: number;
  /** Fewest eligible earlier keyframes before any hypothesis (z statistics need a background). Default 10. */
  minCandidates?: number;
  /** Largest backward / forward step of the match index between consecutive keyframes. Default 1 / 3. */
  maxBack?: number;
  maxAdvance?: number;
  /** Standardised similarity subtracted per frame (evidence needed to grow a track). Default 1.75. */
  drift?: number;
  /** Factor applied to the predecessor's evidence each frame (1 = plain CUSUM). Default 0.9. */
  decay?: number;
  /** Evidence S at or above which a hypothesis is reported. Default 2. */
  threshold?: number;
  /** Consecutive consistent frames (the current one included) required. Default 2. */
  minConsistent?: number;
  /** Evidence scale of the confidence (see `spanScale`). Default 8. */
  confidenceScale?: number;
  /**
   * Fewest keyframes of the map a track's match must have advanced over (its last match minus its first): a
   * loop is a run of consecutive matched places that advance together with the query, not one place matched
   * again and again (a robot standing in front of a look-alike). Default 1.
   */
  minSpan?: number;
  /**
   * Map keyframes of advance that close 63% of the confidence: confidence = (1 - exp(-S / confidenceScale)) *
   * (1 - exp(-span / spanScale)) * (1 - exp(-z / zScale)). A look-alike rarely stays consistent over many
   * consecutive places, a true revisit does, so the confidence ranks long advancing tracks first. Default 5.
   */
  spanScale?: number;
  /**
   * Standardised similarity of the newest frame at the event's place that closes 63% of the confidence (a
   * negative one gives 0): a loop is reported with the confidence of what this frame itself shows, not only of
   * the track's past, so that a frame that barely resembles the place (a turn, a view the track ran into)
   * ranks below the frames that do. Default 2.
   */
  zScale?: number;
  /** Tracks kept between frames (largest evidence). Default 256. */
  maxTracks?: number;
  /**
   * Reference of the standardisation: `global` uses the background of all eligible keyframes (or the one
   * given); `local` uses the `localCount` most similar candidates, i.e. the look-alikes a true match must beat,
   * (tested; kept as an option). Default `global`.
   */
  reference?: "global" | "local";
  /** Candidates in the local reference. Default 20. */
  localCount?: number;
  /**
   * Recent keyframes (the oldest of the excluded window) whose mean similarity also serves as the reference
   * when higher (see `LoopObservation.recent`). 0 disables. Default 2.
   */
  recentCount?: number;
  /**
   * The event names the place that the track's run aligns the query with (a line fitted through its matches),
   * or a neighbour of it whose standardised similarity is higher by more than this many units per place of
   * distance from the line (a change of speed the line has not caught up with yet). Negative: the newest frame's
   * own match on the track, no alignment. Default 1.
   */
  alignPenalty?: number;
  /**
   * A keyframe whose descriptor support (`LoopObservation.support`) is below this fraction of the typical
   * support, the median of the last `supportWindow` keyframes' (its own included), is skipped like a missing
   * keyframe (see the module doc). 0 never skips. Default 1/16.
   */
  skipSupport?: number;
  /** Keyframes whose median support is the typical support of `skipSupport`. Default 20. */
  supportWindow?: number;
}

/** Similarities of the eligible earlier keyframes to the current one. */
export interface LoopObservation {
  /** Keyframe ordinals (0-based, in the order they were added). */
  ids: ArrayLike<number>;
  similarities: ArrayLike<number>;
  /** Background (mean, std) of this keyframe's similarities to the eligible map; default from the given ones. */
  background?: { mean: number; std: number };
  /** Number of eligible keyframes (for `minCandidates`); default `ids.length`. */
  eligible?: number;
  /**
   * Similarities to the keyframes inside the excluded recent window (most recent last), when known. Places
   * a few keyframes back are nearby but different: how similar they look is the similarity of a look-alike
   * here (high in a uniform corridor), which a true match must beat. Default none.
   */
  recent?: ArrayLike<number>;
  /**
   * The keyframe's descriptor support in [0, 1] (`DescriptorOutput.support`: how much of the image its
   * descriptor rests on), when the model gives one: a keyframe far below the typical support of recent ones is
   * skipped (`LoopDetectorOptions.skipSupport`). Default none (never skipped for it).
   */
  support?: number;
}

/** A loop-closure hypothesis for the current keyframe. */
export interface LoopHypothesis {
  /** Current keyframe ordinal. */
  query: number;
  /** Matched earlier keyframe ordinal. */
  match: number;
  /** Raw similarity of the pair. */
  similarity: number;
  /** Standardised similarity of the pair. */
  z: number;
  /** Accumulated track evidence. */
  evidence: number;
  /** Consecutive consistent frames on the track. */
  length: number;
  /** Keyframes of the map the track's match advanced over (`match` - the track's first match). */
  span: number;
  /** (1 - exp(-evidence / confidenceScale)) * (1 - exp(-span / spanScale)) * (1 - exp(-max(0, z) / zScale)). */
  confidence: number;
}

interface Track {
  s: number;
  len: number;
  /** Matched keyframe ordinal where the track began. */
  first: number;
  /** The track's last (query, match) pairs, oldest first, at most {@link ALIGN_WINDOW} (bounded memory). */
  path: Pair[];
}

interface Pair {
  q: number;
  m: number;
}

/** Spread of a frame's similarities below which the frame is uninformative (see `observe`). */
const STD_FLOOR = 1e-6;

/** Pairs of a track's run that the alignment is fitted on (the newest ones). */
const ALIGN_WINDOW = 16;

/**
 * The map place that the track's run says matches its newest query: the line match = a + b * query through the
 * run's last pairs, fitted robustly (Theil-Sen: the median of the pairwise slopes, then the median intercept),
 * evaluated at the newest query. Single frames along a true revisit often match a neighbour of the right place
 * (or stay on one place while the query moves on); a robust line through the run does not follow those steps.
 */
function alignedMatch(path: Pair[]): number {
  const q = path.map((p) => p.q), m = path.map((p) => p.m);
  const n = path.length, last = path[n - 1];
  if (n < 3) return last.m;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) if (q[i] !== q[j]) slopes.push((m[i] - m[j]) / (q[i] - q[j]));
  }
  const b = slopes.length ? median(slopes) : 0;
  const a = median(q.map((qi, i) => m[i] - b * qi));
  return Math.round(a + b * last.q);
}

function median(v: number[]): number {
  const s = v.slice().sort((x, y) => x - y);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * Sequence-consistent loop-closure detector (see the module doc).
 *
 * @example
 * ```ts
 * import { LoopDetector } from "./loop_detector.ts";
 * const det = new LoopDetector({ excludeRecent: 2, minCandidates: 1 });
 * det.excludeBefore(5); // ids eligible for keyframe 5: 0..2
 * ```
 */
export class LoopDetector {
  readonly excludeRecent: number;
  readonly #minCandidates: number;
  readonly #maxBack: number;
  readonly #maxAdvance: number;
  readonly #drift: number;
  readonly #threshold: number;
  readonly #decay: number;
  readonly #minConsistent: number;
  readonly #scale: number;
  readonly #minSpan: number;
  readonly #spanScale: number;
  readonly #zScale: number;
  readonly #maxTracks: number;
  readonly #reference: "global" | "local";
  readonly #localCount: number;
  readonly #recentCount: number;
  readonly #alignPenalty: number;
  readonly #skipSupport: number;
  readonly #supportWindow: number;
  /** Descriptor supports of the last `supportWindow` keyframes that had one, oldest first. */
  #supports: number[] = [];
  #tracks = new Map<number, Track>();
  /** Last query whose similarities were folded in (tracks advance from it). */
  #lastQuery = -1;
  /** Last query observed (order check), including skipped uninformative ones. */
  #lastSeen = -1;

  constructor(options: LoopDetectorOptions = {}) {
    const a = "create loop detector";
    const int = (f: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min) throw invalid(a, f, `an integer >= ${min}`, v);
      return v;
    };
    const num = (f: string, v: number) => {
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw invalid(a, f, "a finite number >= 0", v);
      }
      return v;
    };
    this.excludeRecent = int("excludeRecent", options.excludeRecent ?? 10, 0);
    this.#minCandidates = int("minCandidates", options.minCandidates ?? 10, 1);
    this.#maxBack = int("maxBack", options.maxBack ?? 1, 0);
    this.#maxAdvance = int("maxAdvance", options.maxAdvance ?? 3, 0);
    this.#drift = num("drift", options.drift ?? 1.75);
    this.#threshold = num("threshold", options.threshold ?? 2);
    const decay = options.decay ?? 0.9;
    if (!(decay > 0 && decay <= 1)) throw invalid(a, "decay", "a number in (0, 1]", decay);
    this.#decay = decay;
    this.#minConsistent = int("minConsistent", options.minConsistent ?? 2, 1);
    const scale = options.confidenceScale ?? 8;
    if (!(scale > 0)) throw invalid(a, "confidenceScale", "a positive number", scale);
    this.#scale = scale;
    this.#minSpan = int("minSpan", options.minSpan ?? 1, 0);
    const spanScale = options.spanScale ?? 5;
    if (!(spanScale > 0)) throw invalid(a, "spanScale", "a positive number", spanScale);
    this.#spanScale = spanScale;
    const zScale = options.zScale ?? 2;
    if (!(zScale > 0)) throw invalid(a, "zScale", "a positive number", zScale);
    this.#zScale = zScale;
    this.#maxTracks = int("maxTracks", options.maxTracks ?? 256, 1);
    const ref = options.reference ?? "global";
    if (ref !== "global" && ref !== "local") throw invalid(a, "reference", '"global" or "local"', ref);
    this.#reference = ref;
    this.#localCount = int("localCount", options.localCount ?? 20, 2);
    this.#recentCount = int("recentCount", options.recentCount ?? 2, 0);
    const pen = options.alignPenalty ?? 1;
    if (typeof pen !== "number" || !Number.isFinite(pen)) {
      throw invalid(a, "alignPenalty", "a finite number", pen);
    }
    this.#alignPenalty = pen;
    const skip = options.skipSupport ?? 1 / 16;
    if (!(skip >= 0 && skip < 1)) throw invalid(a, "skipSupport", "a number in [0, 1)", skip);
    this.#skipSupport = skip;
    this.#supportWindow = int("supportWindow", options.supportWindow ?? 20, 1);
  }

  /** Candidates of keyframe `query` are the ordinals below this bound (the recent window excluded). */
  excludeBefore(query: number): number {
    return Math.max(0, query - this.excludeRecent);
  }

  /** Forget every track (e.g. after the robot was kidnapped). */
  reset(): void {
    this.#tracks.clear();
    this.#lastQuery = -1;
    this.#lastSeen = -1;
    this.#supports = [];
  }

  /**
   * Fold in keyframe `query`'s similarities; returns the best hypothesis passing the consistency and
   * evidence gates, else null. Keyframes must come in increasing order; a gap (skipped keyframes) lets
   * tracks advance by up to `maxAdvance` per skipped keyframe.
   */
  observe(query: number, obs: LoopObservation): LoopHypothesis | null {
    if (!Number.isInteger(query) || query <= this.#lastSeen) {
      throw invalid(
        "observe loop candidates",
        "query",
        `an integer above the last one (${this.#lastSeen})`,
        query,
      );
    }
    const { ids, similarities } = obs;
    const k = ids.length;
    if (similarities.length !== k) {
      throw invalid(
        "observe loop candidates",
        "similarities",
        `an array as long as ids (${k})`,
        similarities.length,
      );
    }
    if (obs.support !== undefined && !Number.isFinite(obs.support)) {
      throw invalid("observe loop candidates", "support", "a finite number in [0, 1]", obs.support);
    }
    this.#lastSeen = query;
    const weak = this.#weak(obs.support);
    const bound = this.excludeBefore(query);
    const eligible = obs.eligible ?? k;
    if (eligible < this.#minCandidates || k === 0) {
      this.#tracks.clear();
      this.#lastQuery = query;
      return null;
    }
    let mean: number, std: number;
    if (this.#reference === "local" && k >= 2) {
      const top = Array.from(similarities).sort((x, y) => y - x).slice(0, Math.min(k, this.#localCount));
      mean = top.reduce((acc, v) => acc + v, 0) / top.length;
      std = Math.sqrt(Math.max(0, top.reduce((acc, v) => acc + (v - mean) * (v - mean), 0) / top.length));
    } else ({ mean, std } = observationBackground(obs));
    // A frame that resembles every place equally (no spread: an all-zero descriptor, a frame too dark or flat
    // for any visual word) says nothing about where the robot is: it is skipped like a missing keyframe
    // (tracks kept, the next frame may advance over it), not counted as evidence against every track.
    // So is a frame whose descriptor rests on almost nothing (see the module doc).
    if (!(std > STD_FLOOR) || weak) return null;
    const gap = this.#lastQuery < 0 ? 1 : query - this.#lastQuery;
    this.#lastQuery = query;
    const recent = obs.recent;
    if (recent && recent.length > 0 && this.#recentCount > 0) {
      const m = Math.min(this.#recentCount, recent.length);
      let r = 0;
      for (let i = 0; i < m; i++) r += recent[i];
      mean = Math.max(mean, r / m);
    }
    const prev = this.#tracks;
    const next = new Map<number, Track>();
    const back = this.#maxBack * gap, adv = this.#maxAdvance * gap;
    let best: LoopHypothesis | null = null;
    let bestPath: Pair[] | null = null;
    for (let i = 0; i < k; i++) {
      const j = ids[i];
      if (!(j >= 0 && j < bound)) continue;
      const z = (similarities[i] - mean) / std;
      let ps = 0, plen = 0, pfirst = j, ppath: Pair[] = [];
      for (let o = -back; o <= adv; o++) {
        const t = prev.get(j - o);
        if (t && t.s > ps) {
          ps = t.s;
          plen = t.len;
          pfirst = t.first;
          ppath = t.path;
        }
      }
      const s = this.#decay * ps + z - this.#drift;
      if (s <= 0) continue;
      const len = ps > 0 ? plen + 1 : 1;
      const cur = next.get(j);
      if (cur && cur.s >= s) continue;
      const first = ps > 0 ? pfirst : j;
      const path: Pair[] = ps > 0 ? ppath.slice(1 - ALIGN_WINDOW) : [];
      path.push({ q: query, m: j });
      next.set(j, { s, len, first, path });
      const span = j - first;
      if (len < this.#minConsistent || s < this.#threshold) continue;
      const confidence = 0; // set below, once the event's place is known
      if (best === null || s > best.evidence) {
        bestPath = path;
        best = {
          query,
          match: j,
          similarity: similarities[i],
          z,
          evidence: s,
          length: len,
          span,
          confidence,
        };
      }
    }
    if (next.size > this.#maxTracks) {
      const kept = [...next.entries()].sort((p, q) => q[1].s - p[1].s).slice(0, this.#maxTracks);
      this.#tracks = new Map(kept);
    } else {
      this.#tracks = next;
    }
    // The strongest track is the detector's answer; when it has not advanced over `minSpan` places of the map
    // (one place matched again and again), there is no loop, whatever weaker tracks carried along beside it.
    if (best === null || best.span < this.#minSpan) return null;
    if (this.#alignPenalty >= 0 && bestPath) {
      // The place the run aligns the query with, moved to a neighbour only where this frame's own similarity
      // stands out from it by more than the cost of the step (a sharp true peak beats a line that lags a
      // change of speed; a flat neighbourhood keeps the line).
      const pred = Math.max(0, Math.min(bound - 1, alignedMatch(bestPath)));
      const reach = Math.max(this.#maxBack, this.#maxAdvance);
      const zOf = new Map<number, number>();
      for (let i = 0; i < k; i++) {
        const j = ids[i];
        if (j >= pred - reach && j <= pred + reach && j < bound) zOf.set(j, i);
      }
      let pick = -1, pickScore = -Infinity;
      for (const [j, i] of zOf) {
        const score = (similarities[i] - mean) / std - this.#alignPenalty * Math.abs(j - pred);
        if (score > pickScore || (score === pickScore && Math.abs(j - pred) < Math.abs(pick - pred))) {
          pickScore = score;
          pick = j;
        }
      }
      if (pick >= 0 && pick !== best.match) {
        const i = zOf.get(pick)!;
        best.match = pick;
        best.similarity = similarities[i];
        best.z = (similarities[i] - mean) / std;
      }
    }
    best.confidence = this.#confidence(best.evidence, best.span, best.z);
    return best;
  }

  /**
   * True when a keyframe of this descriptor support is below `skipSupport` times the median support of the recent
   * keyframes (updates that window); false without a support.
   */
  #weak(support: number | undefined): boolean {
    if (support === undefined) return false;
    const s = Math.min(1, Math.max(0, support));
    this.#supports.push(s);
    if (this.#supports.length > this.#supportWindow) this.#supports.shift();
    return s < this.#skipSupport * median(this.#supports);
  }

  /** See {@link LoopHypothesis.confidence}. */
  #confidence(evidence: number, span: number, z: number): number {
    return (1 - Math.exp(-evidence / this.#scale)) * (1 - Math.exp(-Math.max(0, span) / this.#spanScale)) *
      (1 - Math.exp(-Math.max(0, z) / this.#zScale));
  }
}
