/**
 * Loop-closure stage: keyframes join a session map that grows online (optionally seeded with the keyframes of
 * a prior map); each keyframe is compared with the eligible earlier keyframes (the recent window excluded)
 * and the sequence-consistent `LoopDetector` decides. With a verifier the hypothesis is marked pending
 * (`loopPending`) and the pipeline emits it only once geometric verification passes; without one it is an
 * event at once (`loop`). New session keyframes are handed to `onKeyframe` (the SLAM command journals them
 * there) before the frame completes.
 *
 * Two ways to run it:
 * - SLAM (`admit: "all"`, the default): every keyframe joins the session map, which is the map being built
 *   (it grows with the run, by design; choose keyframes with `keyframeStage` options). Prior keyframes
 *   (multi-session) come first. Without `index` every comparison is dense (time and memory grow with the
 *   session). With `index`, comparison stays dense (exact) up to `denseLimit` eligible keyframes and then uses
 *   the index's top `k`, the recent window filtered out inside the search. The index is filled lazily and in
 *   keyframe order: nothing while fewer than `indexFrom` keyframes are eligible (default `denseLimit / 2`: a
 *   session that stays small pays nothing), then each new keyframe adds itself plus a share of the backlog,
 *   sized so that the backlog is done when `denseLimit` is crossed (about two inserts a keyframe from a
 *   fresh start; no long stall); when the limit is crossed earlier (a prior map near or above it) the rest of
 *   the backlog is added then. An index may arrive already holding the first prior keyframes (the saved
 *   map's own index), which are then not added again. From the crossing on the dense rows are released: the
 *   stage keeps only the recent window
 *   (the `excludeRecent` newest rows, whose similarities the detector's reference needs) and a systematic
 *   sample of 128 to 256 rows for the background statistics of the z-scores (the mean and spread over all
 *   eligible keyframes, which the top `k` alone would overstate), so that memory is the index's plus the window and the sample.
 * - Against a prior map (`admit: "novel"`, `priorFromSearch`: what the live pipeline does with a map): the map
 *   part of the comparison is the search stage's top-k and background (no second pass over the map), and a
 *   keyframe joins the session map only when the map does not already explain it (its estimate is not
 *   `localized`) and it differs from the last keyframe that joined (similarity below `novelty`); a session
 *   keyframe becomes a candidate only once `excludeRecent` newer ones have joined (a robot standing still
 *   does not match its own last keyframe). Session rows are stored as int8 with a per-row scale (a quarter
 *   of float32; similarities within 1e-3) and capped at `maxSession` rows: when full, every second row
 *   of the older half is dropped, so that the session map covers the whole run with a density that decays
 *   with age, and memory and per-frame time stay bounded over hours.
 *
 * @module
 */
import { concatMap, defer, of, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import { LoopDetector, type LoopDetectorOptions } from "../localize/loop_detector.ts";
import type { ExactTime, LoopClosureEvent, Position } from "../types.ts";
import { Rows } from "./descriptor_rows.ts";
import { afterStep, frameError, type FrameWork } from "./frame_work.ts";
import { RecentRing } from "./recent_ring.ts";
import { RowSample } from "./row_sample.ts";

/** A keyframe of the session map. */
export interface SessionKeyframe {
  /** Place id in the session map (prior places first, then new keyframes). */
  placeId: number;
  seq: number;
  stamp: number;
  /** The frame's exact stamp (integer seconds and nanoseconds), when its source has one. */
  time?: ExactTime;
  image?: string;
  position?: Position;
  descriptor: Float32Array;
}

/** Options of {@link loopStage}. */
export interface LoopStageOptions {
  /** Options of the sequence-consistent detector. */
  detector?: LoopDetectorOptions;
  /** Keyframes of a prior map to extend (multi-session), in traversal order. Default none. */
  prior?: {
    placeId: number;
    stamp?: number;
    time?: ExactTime;
    image?: string;
    position?: Position;
    descriptor?: Float32Array;
  }[];
  /**
   * Take the prior's part of each comparison from the search stage (`work.hypotheses`, ids = the prior's
   * place ids, and `work.background`) instead of comparing with every prior keyframe; prior descriptors are
   * then not needed. Default false.
   */
  priorFromSearch?: boolean;
  /** Which keyframes join the session map: `all` (SLAM) or `novel` (see the module doc). Default `all`. */
  admit?: "all" | "novel";
  /** With `admit: "novel"`: similarity to the last session keyframe below which a keyframe is new. Default 0.9. */
  novelty?: number;
  /**
   * Most session keyframes kept (prior excluded; see the module doc). Default 512 with `novel` (512 x D bytes, int8),
   * else no cap.
   */
  maxSession?: number;
  /**
   * With `index`: compare with every eligible keyframe up to this many; beyond, the index's top `k` (0: the
   * index from the first keyframe). Default 4096.
   */
  denseLimit?: number;
  /**
   * With `index`: eligible keyframes (prior included) below which nothing is added to the index; from there
   * on each keyframe adds itself and a share of the backlog, so that the index holds every keyframe when
   * `denseLimit` is crossed (see the module doc). 0: every keyframe as it joins. Default `denseLimit / 2`
   * (rounded down).
   */
  indexFrom?: number;
  /** Candidates from the index beyond `denseLimit`. Default 100. */
  k?: number;
  /**
   * Index for large session maps (`admit: "all"` without `priorFromSearch` and without a `maxSession` cap;
   * see the module doc): keyframes, prior included, are added under their place ids (lazily, see
   * `indexFrom`). A function is called once per run (a fresh index for each subscription); an instance
   * serves one run. It must be empty, or hold exactly the first `size` prior keyframes under their place ids
   * with the same vectors (e.g. the saved map's own index when extending it, checked by id when the index
   * lists its ids): those are not added again. The stage adds to it: do not share it while the run lasts.
   * A function gets the capacity the run is expected to need (the prior plus twice `denseLimit`, at least
   * 1024): an index created with it does not grow (double and copy) around the
   * switch; hnswlib allocates it untouched, so resident memory still grows only with what is added.
   * Default none (dense).
   */
  index?: VectorIndex | ((capacity: number) => VectorIndex);
  /**
   * With `index`: called once per run with the run's index as the run starts. When the run has ended it holds
   * every keyframe (prior and new, under their place ids) if the index took over (`denseLimit` was crossed)
   * or `indexFrom` is 0, else only part of them (filled lazily): check its ids before using it as the map's
   * index (`compactMap`'s `reuseIndex` does). Default none.
   */
  onSessionIndex?: (index: VectorIndex) => void;
  /** Verification will gate events: emit hypotheses as `loopPending`. Default false. */
  verify?: boolean;
  /** Called with each new keyframe before its frame completes (journaling). */
  onKeyframe?: (kf: SessionKeyframe) => void | Promise<void>;
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
}

interface RowMeta {
  placeId: number;
  stamp?: number;
  time?: ExactTime;
  image?: string;
  position?: Position;
}

/**
 * How many prior keyframes `index` already holds: 0 for an empty index, else it must hold exactly the first
 * `size` of them (by id, when the index lists its ids).
 */
function adoptedPrior(index: VectorIndex, P: number, priorOrdinal: Map<number, number>): number {
  const a = "detect loops", held = index.size;
  const expected = "an empty index, or one holding only the first prior keyframes (one per run)";
  if (held > P) throw invalid(a, "index", expected, `an index of ${held} vectors (${P} prior keyframes)`);
  const ids = (index as { ids?: () => number[] }).ids?.();
  if (ids) {
    if (ids.length !== held) throw invalid(a, "index", expected, `${ids.length} ids for ${held} vectors`);
    for (const id of ids) {
      const o = priorOrdinal.get(id);
      if (o === undefined || o >= held) {
        throw invalid(a, "index", expected, `id ${id}, not one of the first ${held} prior place ids`);
      }
    }
  }
  return held;
}

/** Rows sampled for the background once the index replaces dense comparison (see the module doc). */
const BACKGROUND_SAMPLE = 256;

/** The loop-closure stage. */
export function loopStage(options: LoopStageOptions = {}): OperatorFunction<FrameWork, FrameWork> {
  const a = "detect loops";
  const denseLimit = options.denseLimit ?? 4096;
  const k = options.k ?? 100;
  if (!Number.isInteger(denseLimit) || denseLimit < 0) {
    throw invalid(a, "denseLimit", "an integer >= 0", denseLimit);
  }
  if (!Number.isInteger(k) || k < 1) throw invalid(a, "k", "a positive integer", k);
  const indexFrom = options.indexFrom ?? Math.floor(denseLimit / 2);
  if (!Number.isInteger(indexFrom) || indexFrom < 0) {
    throw invalid(a, "indexFrom", "an integer >= 0", indexFrom);
  }
  const admit = options.admit ?? "all";
  if (admit !== "all" && admit !== "novel") throw invalid(a, "admit", '"all" or "novel"', admit);
  const novelty = options.novelty ?? 0.9;
  if (typeof novelty !== "number" || !(novelty >= -1 && novelty <= 1)) {
    throw invalid(a, "novelty", "a number in [-1, 1]", novelty);
  }
  const maxSession = options.maxSession ?? (admit === "novel" ? 512 : Infinity);
  if (maxSession !== Infinity && (!Number.isInteger(maxSession) || maxSession < 2)) {
    throw invalid(a, "maxSession", "an integer >= 2", maxSession);
  }
  const fromSearch = options.priorFromSearch ?? false;
  const prior = options.prior ?? [];
  if (!fromSearch) {
    prior.forEach((p, i) => {
      if (!(p.descriptor instanceof Float32Array)) {
        throw invalid(a, `prior[${i}].descriptor`, "a Float32Array (or priorFromSearch)", p.descriptor);
      }
    });
  }
  const indexOption = admit === "all" && !fromSearch ? options.index : undefined;
  if (
    indexOption !== undefined && typeof indexOption !== "function" &&
    typeof indexOption?.search !== "function"
  ) {
    throw invalid(a, "index", "a VectorIndex or a function returning one", indexOption);
  }
  if (indexOption !== undefined && maxSession !== Infinity) {
    throw invalid(
      a,
      "maxSession",
      "no cap with an index (every keyframe stays in the session map)",
      maxSession,
    );
  }
  new LoopDetector(options.detector); // validate up front
  const now = options.now ?? (() => Date.now() / 1000);
  return (source) =>
    defer(() => {
      const detector = new LoopDetector(options.detector);
      const excl = detector.excludeRecent;
      const P = prior.length;
      // Detector ordinals: prior place i is i; session row r has serial[r] (P + admission order, never reused).
      // Rows hold the prior first (unless it comes from the search), then the session keyframes.
      // Index path (SLAM with an index): the index, and what remains once the dense rows are released.
      const useIndex = typeof indexOption === "function"
        ? indexOption(Math.max(1024, P + 2 * denseLimit))
        : indexOption;
      if (useIndex) options.onSessionIndex?.(useIndex);
      // With an index the session rows are released at keyframe `crossAt` (below): they never need more.
      const rowCap = useIndex ? Math.max(1, denseLimit + excl + 1 - P) : Infinity;
      let rows = new Rows(admit === "novel", admit === "novel" ? maxSession : rowCap);
      let priorRows = new Rows(false);
      const priorOrdinal = new Map<number, number>(prior.map((p, i) => [p.placeId, i]));
      // Ordinals below `indexed` are in the index (it is filled in ordinal order; see the module doc).
      let indexed = useIndex === undefined ? 0 : adoptedPrior(useIndex, P, priorOrdinal);
      const ring = new RecentRing(useIndex ? excl : 0);
      const sample = new RowSample(BACKGROUND_SAMPLE);
      let indexActive = false; // dense rows released, the index answers (never goes back)
      // With `all` admission eligible = P + t - excludeRecent at keyframe t: the index takes over at keyframe
      // `crossAt` (<= 0: at the first one; the dense prior rows would never be read, so they are not copied).
      const crossAt = denseLimit + excl + 1 - P;
      const serial: number[] = [], kfOf: number[] = [], metas: RowMeta[] = [];
      const priorMeta: RowMeta[] = prior.map((p) => ({
        placeId: p.placeId,
        stamp: p.stamp,
        image: p.image,
        position: p.position,
      }));
      if (!fromSearch && !(useIndex && crossAt <= 0)) { for (const p of prior) priorRows.add(p.descriptor!); }
      /** Descriptor of ordinal `o` (index path, before the dense rows are released). */
      const vectorOf = (o: number): Float32Array =>
        o < P ? (o < priorRows.count ? priorRows.row(o) : prior[o].descriptor!) : rows.row(o - P);
      const placeIdOf = (o: number): number => o < P ? prior[o].placeId : metas[o - P].placeId;
      /** Add ordinals [indexed, upTo) to the index. */
      const fill = (upTo: number) => {
        for (; indexed < upTo; indexed++) useIndex!.add(placeIdOf(indexed), vectorOf(indexed));
      };
      const ordinalOf = new Map<number, number>(priorOrdinal); // place id -> ordinal (index path)
      let nextPlaceId = prior.reduce((m, p) => Math.max(m, p.placeId + 1), 0);
      let nextSerial = P;
      let keyframes = 0; // keyframes seen by this stage
      const metaOf = (ordinal: number): RowMeta | undefined => {
        if (ordinal < P) return priorMeta[ordinal];
        // serials are increasing: binary search
        let lo = 0, hi = serial.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (serial[mid] === ordinal) return metas[mid];
          if (serial[mid] < ordinal) lo = mid + 1;
          else hi = mid - 1;
        }
        return undefined;
      };
      const thin = () => {
        // Drop every second row of the older half (see the module doc).
        const half = rows.count >> 1;
        const keep = (r: number) => r >= half || r % 2 === 0;
        rows.keepOnly(keep);
        let w = 0;
        for (let r = 0; r < serial.length; r++) {
          if (!keep(r)) continue;
          serial[w] = serial[r];
          kfOf[w] = kfOf[r];
          metas[w] = metas[r];
          w++;
        }
        serial.length = kfOf.length = metas.length = w;
      };
      return source.pipe(
        concatMap((work: FrameWork) => {
          if (work.error || !work.keyframe || !work.descriptor) return of(work);
          const q = work.descriptor.global;
          return afterStep(work, () => {
            const t = keyframes++; // this keyframe's ordinal in the run
            const query = P + t; // detector ordinal (increases by one per keyframe)
            const cut = t - excl; // keyframes before this one are eligible
            const ids: number[] = [], sims: number[] = [];
            let background: { mean: number; std: number } | undefined;
            let eligible = 0;
            // The prior's part.
            if (fromSearch) {
              for (const h of work.hypotheses ?? []) {
                const j = priorOrdinal.get(h.placeId);
                if (j === undefined) continue;
                ids.push(j);
                sims.push(h.similarity);
              }
              background = work.background;
              eligible += P;
            }
            // Dense part: prior rows (kf index i - P) and session rows eligible for this keyframe.
            const recent: number[] = [];
            let sessionEligible = 0;
            // A session keyframe is a candidate once `excludeRecent` keyframes have passed since it joined AND
            // `excludeRecent` newer ones have joined (with `novel` admission a robot standing still adds none:
            // its last keyframes stay in the recent window, the reference a true revisit must beat). With
            // `all` admission the two coincide.
            if (indexActive) sessionEligible = Math.max(0, cut); // `all`: session row r is keyframe r
            else {
              const windowStart = Math.max(0, rows.count - excl);
              while (sessionEligible < windowStart && kfOf[sessionEligible] < cut) sessionEligible++;
            }
            const priorEligible = fromSearch ? 0 : Math.max(0, Math.min(P, P + cut));
            const denseCount = priorEligible + sessionEligible;
            if (useIndex && !indexActive && denseCount > denseLimit) {
              // Past the limit for good (eligible counts only grow with `all`): finish the backlog, then
              // release the dense rows; the recent window lives on in the ring, the background in the sample.
              const held = P + rows.count;
              fill(held);
              for (let o = 0; o < held; o++) sample.add(o, vectorOf(o));
              for (let o = Math.max(0, held - excl); o < held; o++) ring.push(o, vectorOf(o));
              indexActive = true;
              rows = new Rows(false);
              priorRows = new Rows(false);
            }
            if (useIndex && indexActive) {
              // Ordinals below the bound are eligible: the same set as the dense path's.
              const bound = query - excl;
              const hits = useIndex.search(q, k, {
                filter: (id) => (ordinalOf.get(id) ?? Infinity) < bound,
              });
              for (const h of hits) {
                ids.push(ordinalOf.get(h.id)!);
                sims.push(h.similarity);
              }
              // The top k would overstate the background: take it from the sample of all eligible keyframes.
              background = sample.background(q, bound);
              eligible += denseCount;
              recent.push(...ring.dotsFrom(q, bound));
            } else {
              for (let j = 0; j < priorEligible; j++) {
                ids.push(j);
                sims.push(priorRows.dot(q, j));
              }
              for (let r = 0; r < sessionEligible; r++) {
                ids.push(serial[r]);
                sims.push(rows.dot(q, r));
              }
              eligible += denseCount;
            }
            if (!indexActive) {
              for (let j = priorEligible; j < (fromSearch ? 0 : P); j++) recent.push(priorRows.dot(q, j));
              for (let r = sessionEligible; r < rows.count; r++) recent.push(rows.dot(q, r));
            }
            const hyp = detector.observe(query, {
              ids,
              similarities: sims,
              background,
              eligible,
              recent,
              support: work.descriptor?.support,
            });

            const f = work.frame;
            let join = true;
            if (admit === "novel") {
              const last = rows.count > 0 ? rows.dot(q, rows.count - 1) : -Infinity;
              join = work.estimate?.status !== "localized" && last < novelty;
            }
            let placeId: number | undefined;
            if (join) {
              if (rows.count >= maxSession) thin();
              placeId = nextPlaceId++;
              work.sessionPlaceId = placeId;
              if (!indexActive) rows.add(q);
              serial.push(nextSerial);
              kfOf.push(t);
              metas.push({ placeId, stamp: f.stamp, time: f.time, image: f.source, position: f.position });
              if (useIndex) {
                ordinalOf.set(placeId, nextSerial);
                if (indexActive) {
                  useIndex.add(placeId, q);
                  indexed++;
                  ring.push(nextSerial, q);
                  sample.add(nextSerial, q);
                } else if (denseCount >= indexFrom) {
                  // This keyframe and a share of the backlog, so that it is done by keyframe `crossAt`.
                  const backlog = P + rows.count - indexed;
                  fill(indexed + Math.ceil(backlog / Math.max(1, crossAt - t)));
                }
              }
              nextSerial++;
            }
            if (hyp) {
              const m = metaOf(hyp.match);
              if (m) {
                const qp: LoopClosureEvent["query"] = { seq: f.seq, stamp: f.stamp };
                if (f.time) qp.time = f.time;
                if (placeId !== undefined) qp.placeId = placeId;
                const ev: LoopClosureEvent = {
                  kind: "loop",
                  query: qp,
                  match: { placeId: m.placeId },
                  stamps: [f.stamp, m.stamp ?? NaN],
                  score: hyp.similarity,
                  confidence: hyp.confidence,
                };
                if (f.source !== undefined) ev.query.image = f.source;
                if (m.stamp !== undefined) ev.match.stamp = m.stamp;
                if (m.time !== undefined) ev.match.time = m.time;
                if (m.image !== undefined) ev.match.image = m.image;
                if (m.position !== undefined) ev.match.position = m.position;
                if (options.verify) work.loopPending = ev;
                else work.loop = ev;
              }
            }
            if (placeId !== undefined && options.onKeyframe) {
              return options.onKeyframe({
                placeId,
                seq: f.seq,
                stamp: f.stamp,
                ...(f.time !== undefined ? { time: f.time } : {}),
                image: f.source,
                position: f.position,
                descriptor: q,
              });
            }
            return undefined;
          }, (err) => void (work.error = frameError(err, work, now())));
        }),
      );
    });
}
