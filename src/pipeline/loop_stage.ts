/**
 * Loop-closure stage for SLAM: every keyframe joins a session map that grows online (optionally seeded with
 * the keyframes of a prior map: multi-session); the keyframe is compared with the eligible earlier keyframes
 * (the recent window excluded) and the sequence-consistent `LoopDetector` decides. With a verifier the
 * hypothesis is marked pending (`loopPending`) and the pipeline emits it only once geometric verification
 * passes; without one it is an event at once (`loop`). New keyframes are handed to `onKeyframe` (the SLAM
 * command journals them there) before the frame completes.
 *
 * @module
 */
import { concatMap, defer, of, type OperatorFunction } from "rxjs";
import { invalid } from "../errors.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import { LoopDetector, type LoopDetectorOptions } from "../localize/loop_detector.ts";
import type { LoopClosureEvent, Position } from "../types.ts";
import { afterStep, frameError, type FrameWork } from "./frame_work.ts";
import { similarityBackground } from "./search_stage.ts";

/** A keyframe of the session map. */
export interface SessionKeyframe {
  /** Place id in the session map (prior places first, then new keyframes). */
  placeId: number;
  seq: number;
  stamp: number;
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
    image?: string;
    position?: Position;
    descriptor: Float32Array;
  }[];
  /** Compare with every eligible keyframe up to this many; beyond, the index's top-k. Default 4096. */
  denseLimit?: number;
  /** Candidates from the index beyond `denseLimit`. Default 100. */
  k?: number;
  /** Index for large session maps (every keyframe is added). Default none (dense comparison only). */
  index?: VectorIndex;
  /** Verification will gate events: emit hypotheses as `loopPending`. Default false. */
  verify?: boolean;
  /** Called with each new keyframe before its frame completes (journaling). */
  onKeyframe?: (kf: SessionKeyframe) => void | Promise<void>;
  /** Clock for error stamps (seconds). Default `Date.now() / 1000`. */
  now?: () => number;
}

/** The loop-closure stage. */
export function loopStage(options: LoopStageOptions = {}): OperatorFunction<FrameWork, FrameWork> {
  const denseLimit = options.denseLimit ?? 4096;
  const k = options.k ?? 100;
  if (!Number.isInteger(denseLimit) || denseLimit < 1) {
    throw invalid("detect loops", "denseLimit", "a positive integer", denseLimit);
  }
  if (!Number.isInteger(k) || k < 1) throw invalid("detect loops", "k", "a positive integer", k);
  new LoopDetector(options.detector); // validate up front
  const now = options.now ?? (() => Date.now() / 1000);
  return (source) =>
    defer(() => {
      const detector = new LoopDetector(options.detector);
      const metas: { placeId: number; stamp?: number; image?: string; position?: Position }[] = [];
      let dim = 0;
      let store = new Float32Array(0);
      let count = 0;
      const add = (v: Float32Array) => {
        if (dim === 0) {
          dim = v.length;
          store = new Float32Array(dim * 256);
        }
        if (v.length !== dim) {
          throw invalid("add keyframe", "descriptor", `a vector of length ${dim}`, v.length);
        }
        if ((count + 1) * dim > store.length) {
          const bigger = new Float32Array(store.length * 2);
          bigger.set(store);
          store = bigger;
        }
        store.set(v, count * dim);
        count++;
      };
      for (const p of options.prior ?? []) {
        add(p.descriptor);
        options.index?.add(p.placeId, p.descriptor);
        metas.push({ placeId: p.placeId, stamp: p.stamp, image: p.image, position: p.position });
      }
      let nextPlaceId = metas.reduce((m, p) => Math.max(m, p.placeId + 1), 0);
      const ordinalOf = new Map<number, number>(metas.map((m, i) => [m.placeId, i]));
      return source.pipe(
        concatMap((work: FrameWork) => {
          if (work.error || !work.keyframe || !work.descriptor) return of(work);
          const q = work.descriptor.global;
          return afterStep(work, () => {
            const t = count; // this keyframe's ordinal
            const bound = detector.excludeBefore(t);
            const ids: number[] = [], sims: number[] = [];
            let background: { mean: number; std: number } | undefined;
            if (bound <= denseLimit || !options.index) {
              for (let j = 0; j < bound; j++) {
                let d = 0;
                const o = j * dim;
                for (let i = 0; i < dim; i++) d += q[i] * store[o + i];
                ids.push(j);
                sims.push(d);
              }
            } else {
              const hits = options.index.search(q, k, {
                filter: (id) => (ordinalOf.get(id) ?? Infinity) < bound,
              });
              for (const h of hits) {
                ids.push(ordinalOf.get(h.id)!);
                sims.push(h.similarity);
              }
              background = similarityBackground(q, store.subarray(0, bound * dim), dim, 256);
            }
            const recent: number[] = [];
            for (let j = bound; j < t; j++) {
              let d = 0;
              const o = j * dim;
              for (let i = 0; i < dim; i++) d += q[i] * store[o + i];
              recent.push(d);
            }
            const hyp = detector.observe(t, { ids, similarities: sims, background, eligible: bound, recent });
            const placeId = nextPlaceId++;
            work.sessionPlaceId = placeId;
            const f = work.frame;
            add(q);
            options.index?.add(placeId, q);
            ordinalOf.set(placeId, t);
            metas.push({ placeId, stamp: f.stamp, image: f.source, position: f.position });
            if (hyp) {
              const m = metas[hyp.match];
              const ev: LoopClosureEvent = {
                kind: "loop",
                query: { seq: f.seq, stamp: f.stamp, placeId },
                match: { placeId: m.placeId },
                stamps: [f.stamp, m.stamp ?? NaN],
                score: hyp.similarity,
                confidence: hyp.confidence,
              };
              if (f.source !== undefined) ev.query.image = f.source;
              if (m.stamp !== undefined) ev.match.stamp = m.stamp;
              if (m.image !== undefined) ev.match.image = m.image;
              if (m.position !== undefined) ev.match.position = m.position;
              if (options.verify) work.loopPending = ev;
              else work.loop = ev;
            }
            if (options.onKeyframe) {
              return options.onKeyframe({
                placeId,
                seq: f.seq,
                stamp: f.stamp,
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
