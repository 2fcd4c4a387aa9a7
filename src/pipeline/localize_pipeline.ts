/**
 * The live localization pipeline, composed from its stages:
 *
 *   frames -> [backpressure gate] -> decode -> keyframe selection -> global descriptor -> index top-k ->
 *   temporal filter -> loop-closure detector -> events
 *
 * `localize(frames$, options)` returns Observables of the pipeline's events (`events$`, and filtered views
 * `estimates$`, `loops$`, `stats$`, `errors$`, `verifications$`). Everything is cold and per subscription:
 * `events$` is shared (`share()`), so subscribing to several views runs the pipeline once; when the last
 * subscriber leaves, every stage's state, waiting frame and timer is released.
 *
 * - Backpressure: a credit gate in front of the slow part lets `inFlight` frames (default 2: the next frame
 *   decodes while the model describes the previous one) into the stages; frames arriving meanwhile wait in a
 *   bounded buffer (policy `latest` by default: only the newest frame waits). Drops are counted. Nothing
 *   queues without bound.
 * - Stats: a `StatsEvent` every `statsIntervalMs` (default 1000, on `scheduler`) with received, processed,
 *   dropped and error counts and the latency percentiles of the last 1000 frames (frame in to estimate out).
 * - Frames without content (too small, near-uniform) and stamps outside [0, 1e10] s: see `frame_checks.ts`.
 * - Bad frames: an `ErrorEvent` each, counted by cause (`StatsEvent.errorsByCause`: the name of the stage that
 *   failed, or `verification`); the stream continues.
 * - With no prior map (`map` absent) it is SLAM: loop closures over the growing session map (every keyframe
 *   joins it: choose keyframes with `keyframes`), no estimates. Past 4096 eligible keyframes an HNSW index's
 *   top-k replaces dense comparison (`sessionIndex`); the index is filled lazily from 2048 on (or starts from
 *   the saved map's own index, `priorKeyframesIndex`). With a map, estimates come from the filter, and
 *   loop closures (when `loops` is on, the default) are found over the map's places (the search stage's top-k,
 *   no second pass over the map) followed by the run's own keyframes; only keyframes the map does not explain
 *   join those, int8-compressed and capped (`sessionKeyframes`), so memory and per-frame time stay bounded
 *   over hours of localization.
 * - Decoding: without a verifier, frames are decoded straight to the model's input size (one sharp pass).
 * - Profiling: `onTiming` reports, per frame, the wait for the gate and the time spent in each stage.
 * - Verification (`verifier`, see `verification_hook.ts`) runs off the fast path and feeds back
 *   asynchronously.
 *
 * Each concern is its own unit, which `localize()` only wires together: the stages (`*_stage.ts`), the
 * backpressure gate (`backpressure.ts`), the loop gate that decides which hypotheses become events
 * (`loop_release.ts`), the events of a finished frame (`frame_events.ts`), the verification path beside the
 * fast path (`verification_path.ts`: the latest-wins runner of `verification_runner.ts` over the requests of
 * `verification_request.ts`), the stats accumulator (`pipeline_stats.ts`) and per-stage timing and the
 * chain of stages (`stage_timing.ts`).
 *
 * @module
 */
import {
  asyncScheduler,
  defer,
  filter,
  map,
  type MonoTypeOperatorFunction,
  Observable,
  type OperatorFunction,
  type SchedulerLike,
  share,
} from "rxjs";
import { invalid } from "../errors.ts";
import { HnswIndex, type HnswIndexOptions } from "../index/hnsw_index.ts";
import type { VectorIndex } from "../index/vector_index.ts";
import type {
  CameraFrame,
  DescriptorModel,
  ErrorEvent,
  EstimateEvent,
  LoopClosureEvent,
  StatsEvent,
  VerificationEvent,
  WaymarkEvent,
} from "../types.ts";
import type { PlaceFilterOptions } from "../localize/place_filter.ts";
import type { LoopDetectorOptions } from "../localize/loop_detector.ts";
import {
  acceptUnverified,
  DEFAULT_MIN_INLIERS,
  gateLoop,
  type LoopGateOptions,
} from "../localize/loop_gate.ts";
import { type BackpressurePolicy, createGate, policyCapacity } from "./backpressure.ts";
import { decodeStage, type FrameDecoder } from "./decode_stage.ts";
import { contentOptions, type FrameContentOptions } from "./frame_checks.ts";
import { describeStage } from "./describe_stage.ts";
import { filterStage } from "./filter_stage.ts";
import type { FrameWork } from "./frame_work.ts";
import { keyframeStage, type KeyframeStageOptions } from "./keyframe_stage.ts";
import { LoopRelease, screenLoops } from "./loop_release.ts";
import { loopStage, type SessionKeyframe } from "./loop_stage.ts";
import { PipelineStats } from "./pipeline_stats.ts";
import { chainStages, type FrameTiming, reportTiming, startTiming } from "./stage_timing.ts";
import { type PlaceMap, searchStage } from "./search_stage.ts";
import type { Verifier } from "./verification_hook.ts";
import { frameEvents } from "./frame_events.ts";
import { VerificationPath } from "./verification_path.ts";

/** Eligible session keyframes compared densely in SLAM before `sessionIndex: "auto"` switches to the index. */
export const SESSION_DENSE_LIMIT = 4096;

/** HNSW options of the SLAM session index (efConstruction 100: half the default, a cheaper insert per keyframe). */
export const SESSION_HNSW: Readonly<HnswIndexOptions> = { m: 16, efConstruction: 100, efSearch: 128 };

/** Default keyframe selection of the live pipeline: skip repeated frames only (see `LocalizerOptions`). */
export const DEFAULT_KEYFRAMES: Readonly<KeyframeStageOptions> = { minChange: 0.002, maxInterval: 1 };

export type { FrameTiming } from "./stage_timing.ts";

/** Options of {@link localize} / {@link createLocalizer}. */
export interface LocalizerOptions {
  /** Descriptor model (required); a prior map must have been built with it. */
  model: DescriptorModel;
  /** Prior map; absent: SLAM (loop closures only). */
  map?: PlaceMap;
  /** Overflow policy of the backpressure buffer. Default `{ kind: "latest" }`. */
  backpressure?: BackpressurePolicy;
  /**
   * Frames in the stages at once (the backpressure gate's credits). 2 (default) lets the next frame decode
   * while the model describes the previous one (each stage still takes frames one at a time and in order);
   * 1 runs frame after frame. Frames beyond wait in the backpressure buffer.
   */
  inFlight?: number;
  /**
   * Keyframe selection. Default `{ minChange: 0.002, maxInterval: 1 }`: every frame that differs from the last
   * keyframe by more than half a grey level on average (every frame of a moving or even a still camera with
   * sensor noise) is localized, a repeated frame (a driver re-sending its
   * last image, a noiseless still scene) is not re-described and gets the last estimate; at least one keyframe
   * a second. `{}` takes every frame.
   */
  keyframes?: KeyframeStageOptions;
  /** Map candidates per keyframe. Default 50. */
  topK?: number;
  /**
   * Largest places x dimension for which each keyframe is compared with every map place, so the filter
   * observes the whole map; default `FULL_SCAN_DEFAULT` (1,024 places of 8192-d), or `FULL_SCAN_WITH_SCANNER`
   * (8,192 places of 8192-d) when the map carries a `SimilarityScanner` (`map.scanner`); 0 off (the index's
   * top-k only, for maps of more than 256 places).
   */
  fullScan?: number;
  /** Place filter options. Default: the filter's defaults. */
  filter?: Omit<PlaceFilterOptions, "placeCount">;
  /** Loop-closure detection: false disables; an object tunes the detector. Default on. */
  loops?: boolean | LoopDetectorOptions;
  /**
   * Fewest keyframes between two loop-closure events (a revisit matches for many frames in a row). Default 0
   * without a map (SLAM: every frame's constraint), 10 with one (against the map every frame of the run is a
   * revisit).
   */
  loopGap?: number;
  /**
   * With a map, a loop closure must agree with a `localized` estimate of its frame: the place it matches (a map
   * place, or the place where the matched keyframe of this run was localized) within this distance of the
   * estimated place (metres when both places have positions, else places in traversal order). Look-alike
   * places far along a corridor pass the detector and even geometric verification; the filter, which has
   * followed the whole traversal, knows better. 0 disables. Default 5.
   */
  loopAgreement?: number;
  /** Geometric verification hook (off the fast path). Default none. */
  verifier?: Verifier;
  /** Map candidates verified per keyframe. Default 5. */
  verifyTopK?: number;
  /** Inliers for a verified candidate to confirm a place or a loop. Default `DEFAULT_MIN_INLIERS` (120). */
  minInliers?: number;
  /**
   * Operating point of loop events (`src/localize/loop_gate.ts`): `minConfidence` of verified loops,
   * `unverifiedMinConfidence` of loops emitted without a verifier, `keepUnverifiable` (default false: with a
   * verifier, a loop it cannot check is not emitted).
   */
  loopGate?: LoopGateOptions;
  /**
   * With a map: the run's own keyframes kept for loop closure. A keyframe joins only when the map does not
   * explain it (not `localized`) and its similarity to the last one that joined is below `novelty` (default
   * 0.9); at most `max` are kept (default 512, int8, 8 KB each at D = 8192), the older half thinned when
   * full. Memory and per-frame time stay bounded however long the run. Without a map every keyframe joins
   * (the SLAM map).
   */
  sessionKeyframes?: { novelty?: number; max?: number };
  /** Keyframes of the run (SLAM journaling), called before the frame completes. */
  onKeyframe?: (kf: SessionKeyframe) => void | Promise<void>;
  /**
   * SLAM (no map): how each keyframe is compared with the session map (prior keyframes included).
   * - `auto` (default): comparison stays dense (exact, results unchanged) up to `SESSION_DENSE_LIMIT` (4096)
   *   eligible keyframes, then takes the top 100 of an HNSW index (the recent window filtered out) and releases
   *   the dense rows (only the recent window and a 256-row sample for the background statistics stay), so
   *   per-keyframe time and memory stop growing with the dense part. The index is filled lazily: nothing
   *   below `SESSION_DENSE_LIMIT / 2` eligible keyframes (a small session pays nothing), then each keyframe
   *   adds itself and a share of the backlog (about 2 inserts a keyframe from a fresh start), so that it is
   *   complete at the limit without a long stall.
   * - `dense`: always compare with every keyframe (no index; time and memory grow linearly with the session).
   * - `hnsw`: the index from the first keyframe (every keyframe added as it joins).
   * Ignored with a map (the map part comes from the search stage; the session part is capped).
   */
  sessionIndex?: "auto" | "dense" | "hnsw";
  /** Prior session keyframes to extend in SLAM mode (multi-session). */
  priorKeyframes?: { placeId: number; stamp?: number; image?: string; descriptor: Float32Array }[];
  /**
   * SLAM with `sessionIndex` `auto` or `hnsw`: an index that already holds the first `size` of
   * `priorKeyframes` under their place ids, with the same vectors and inner product (the saved map's own
   * HNSW index when extending it: `LoadedMap.index`), so that the session index starts from it instead of
   * inserting the prior again (the slowest part of extending a large map). The run adds its keyframes to this
   * instance (in memory only; capacity grows as needed): never save it over the map while the run lasts, nor
   * use it elsewhere (at the end `compactMap`'s `reuseIndex` may save it as the new version's index).
   * It serves the first run that takes it; a later run builds its own index. Default none.
   */
  priorKeyframesIndex?: VectorIndex;
  /**
   * SLAM with `sessionIndex` `auto` or `hnsw`: called once per run, as it starts, with the run's session index
   * (`priorKeyframesIndex` or a fresh one; ids = place ids). At the end of the run it may hold every prior and
   * new keyframe (past `SESSION_DENSE_LIMIT` or with `hnsw`), else part of them: `waymark slam` hands it to
   * `compactMap` as `reuseIndex`, which checks the ids and saves it instead of rebuilding the map's index.
   * Default none.
   */
  onSessionIndex?: (index: VectorIndex) => void;
  /** Frame decoder. Default `decodeFrameImage` (sharp). */
  decode?: FrameDecoder;
  /**
   * Frames without content (smaller than `minSide` pixels, or near-uniform: see `src/pipeline/frame_checks.ts`)
   * are skipped: never described, localized or a loop closure; with a map they get a `lost` estimate with a
   * `skipped` reason. false: no check. Default `DEFAULT_FRAME_CONTENT` (16 pixels, contrast 2 grey levels).
   */
  content?: FrameContentOptions | false;
  /** Stats period in ms. Default 1000. */
  statsIntervalMs?: number;
  /** Scheduler of the stats timer and event stamps. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
  /** Clock (ms) for latencies. Default `performance.now`. */
  clock?: () => number;
  /**
   * Per-frame timing (profiling): called for every frame that leaves the pipeline with the time it waited for
   * the gate and the time each stage took. Default none (no timing cost).
   */
  onTiming?: (timing: FrameTiming) => void;
}

/** The Observables of a running pipeline (all views of one shared `events$`). */
export interface LocalizerStreams {
  events$: Observable<WaymarkEvent>;
  estimates$: Observable<EstimateEvent>;
  loops$: Observable<LoopClosureEvent>;
  stats$: Observable<StatsEvent>;
  errors$: Observable<ErrorEvent>;
  verifications$: Observable<VerificationEvent>;
}

/** A configured pipeline, reusable over several frame streams. */
export interface Localizer {
  readonly options: Readonly<LocalizerOptions>;
  /** Run over a frame stream. */
  run(frames$: Observable<CameraFrame>): LocalizerStreams;
}

function ofKind<K extends WaymarkEvent["kind"]>(
  kind: K,
): OperatorFunction<WaymarkEvent, Extract<WaymarkEvent, { kind: K }>> {
  return filter((e): e is Extract<WaymarkEvent, { kind: K }> => e.kind === kind);
}

/** `priorKeyframesIndex` instances already taken by a run (each serves one). */
const takenPriorIndexes = new WeakSet<VectorIndex>();

/** The SLAM session index of a run: the prior's own index the first time it is offered, else a fresh one. */
function sessionIndexFor(options: LocalizerOptions, dim: number, capacity: number): VectorIndex {
  const pi = options.priorKeyframesIndex;
  if (pi && !options.map && !takenPriorIndexes.has(pi)) {
    takenPriorIndexes.add(pi);
    if (pi instanceof HnswIndex) pi.efSearch = SESSION_HNSW.efSearch!;
    return pi;
  }
  return new HnswIndex(dim, { ...SESSION_HNSW, maxElements: capacity });
}

/** Validate options up front; throws `ValidationError`. */
function validate(options: LocalizerOptions): void {
  const a = "create localizer";
  if (!options || typeof options.model?.describe !== "function") {
    throw invalid(a, "model", "a DescriptorModel", options?.model);
  }
  if (options.backpressure) policyCapacity(options.backpressure);
  if (options.content) contentOptions(options.content);
  const pos = (f: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw invalid(a, f, "a positive integer", v);
  };
  pos("topK", options.topK);
  pos("inFlight", options.inFlight);
  pos("verifyTopK", options.verifyTopK);
  pos("statsIntervalMs", options.statsIntervalMs);
  if (options.loopGap !== undefined && (!Number.isInteger(options.loopGap) || options.loopGap < 0)) {
    throw invalid(a, "loopGap", "a non-negative integer", options.loopGap);
  }
  if (options.loopAgreement !== undefined && !(options.loopAgreement >= 0)) {
    throw invalid(a, "loopAgreement", "a number >= 0", options.loopAgreement);
  }
  if (options.minInliers !== undefined && !(options.minInliers >= 0)) {
    throw invalid(a, "minInliers", "a number >= 0", options.minInliers);
  }
  if (options.loopGate) {
    gateLoop(0, undefined, options.loopGate); // validates
    acceptUnverified(0, options.loopGate);
  }
  const sk = options.sessionKeyframes;
  if (sk?.novelty !== undefined && !(sk.novelty >= -1 && sk.novelty <= 1)) {
    throw invalid(a, "sessionKeyframes.novelty", "a number in [-1, 1]", sk.novelty);
  }
  if (sk?.max !== undefined && (!Number.isInteger(sk.max) || sk.max < 2)) {
    throw invalid(a, "sessionKeyframes.max", "an integer >= 2", sk.max);
  }
  const si = options.sessionIndex;
  if (si !== undefined && si !== "auto" && si !== "dense" && si !== "hnsw") {
    throw invalid(a, "sessionIndex", '"auto", "dense" or "hnsw"', si);
  }
  if (options.fullScan !== undefined && !(typeof options.fullScan === "number" && options.fullScan >= 0)) {
    throw invalid(a, "fullScan", "a number >= 0 (places x dimension; 0 off)", options.fullScan);
  }
  const pi = options.priorKeyframesIndex;
  if (pi !== undefined && (typeof pi?.add !== "function" || typeof pi?.search !== "function")) {
    throw invalid(a, "priorKeyframesIndex", "a VectorIndex", pi);
  }
  if (options.map && options.map.places.length === 0) {
    throw invalid(a, "map", "a map with at least one place", 0);
  }
}

/**
 * Create a reusable localizer.
 *
 * @example
 * ```ts ignore
 * const localizer = createLocalizer({ model, map });
 * const { estimates$, loops$ } = localizer.run(source.frames());
 * estimates$.subscribe((e) => console.log(e.estimate));
 * ```
 */
export function createLocalizer(options: LocalizerOptions): Localizer {
  validate(options);
  return { options, run: (frames$) => localize(frames$, options) };
}

/** What the stages of one run share with the rest of the pipeline. */
interface StageContext {
  /** Event stamps (seconds, on the pipeline's scheduler). */
  now: () => number;
  /** Verification results, folded into the place filter. */
  verifications: Observable<VerificationEvent>;
}

/**
 * The stages of one run, named, in the README's order: decode, keyframe, describe, then with a map search and
 * filter, then (unless `loops` is false) loop.
 */
function stagesOf(
  options: LocalizerOptions,
  context: StageContext,
): [string, MonoTypeOperatorFunction<FrameWork>][] {
  const stampNow = context.now, verifications = context.verifications;
  const minInliers = options.minInliers ?? DEFAULT_MIN_INLIERS;
  const detectorOptions = typeof options.loops === "object" ? options.loops : undefined;
  const stages: [string, MonoTypeOperatorFunction<FrameWork>][] = [
    [
      "decode",
      decodeStage({
        channels: options.model.info.inputChannels,
        decode: options.decode,
        // Without a verifier only the model sees the pixels: decode straight to its input size.
        size: options.verifier
          ? undefined
          : { width: options.model.info.inputWidth, height: options.model.info.inputHeight },
        now: stampNow,
        content: options.content,
      }),
    ],
    ["keyframe", keyframeStage(options.keyframes ?? DEFAULT_KEYFRAMES)],
    [
      "describe",
      describeStage(options.model, {
        local: !!options.verifier && !!options.model.info.localDim,
        now: stampNow,
      }),
    ],
  ];
  if (options.map) {
    stages.push([
      "search",
      searchStage(options.map, {
        k: options.topK,
        fullScan: options.fullScan,
        now: stampNow,
      }),
    ]);
    stages.push([
      "filter",
      filterStage(options.map.places, {
        filter: options.filter,
        verifications,
        minInliers,
        descriptors: options.map.descriptors,
      }),
    ]);
  }
  if (options.loops !== false) {
    // With a map: the map part of loop detection reuses the search stage's top-k and background, and only
    // keyframes the map does not explain join the (bounded) session map; without one, SLAM.
    const withMap = !!options.map;
    const prior = options.map
      ? (options.map.descriptors
        ? options.map.places.map((p) => ({
          placeId: p.placeId,
          stamp: p.stamp,
          image: p.image,
          position: p.position,
        }))
        : undefined)
      : options.priorKeyframes;
    if (!withMap || prior) {
      const sessionIndex = withMap ? "dense" : options.sessionIndex ?? "auto";
      const dim = options.model.info.descriptorDim;
      stages.push([
        "loop",
        loopStage({
          detector: detectorOptions,
          prior,
          priorFromSearch: withMap,
          admit: withMap ? "novel" : "all",
          novelty: options.sessionKeyframes?.novelty,
          maxSession: withMap ? options.sessionKeyframes?.max : undefined,
          index: sessionIndex === "dense" ? undefined : (capacity) => sessionIndexFor(options, dim, capacity),
          onSessionIndex: options.onSessionIndex,
          denseLimit: sessionIndex === "hnsw" ? 0 : SESSION_DENSE_LIMIT,
          verify: !!options.verifier,
          onKeyframe: options.onKeyframe,
          now: stampNow,
        }),
      ]);
    }
  }
  return stages;
}

/**
 * Run the pipeline over `frames$` (see the module doc).
 *
 * @example
 * ```ts ignore
 * const { events$ } = localize(source.frames(), { model, map, verifier });
 * events$.subscribe((e) => console.log(e.kind));
 * ```
 */
export function localize(frames$: Observable<CameraFrame>, options: LocalizerOptions): LocalizerStreams {
  validate(options);
  const scheduler = options.scheduler ?? asyncScheduler;
  const clock = options.clock ?? (() => performance.now());
  const statsMs = options.statsIntervalMs ?? 1000;
  const verifyTopK = options.verifyTopK ?? 5;
  const stampNow = () => scheduler.now() / 1000;
  const loopGap = options.loopGap ?? (options.map ? 10 : 0);
  const agreement = options.loopAgreement ?? 5;

  const events$ = defer(() =>
    new Observable<WaymarkEvent>((out) => {
      const stats = new PipelineStats();
      const emitError = (e: ErrorEvent) => {
        stats.addError(e);
        out.next(e);
      };
      const emitStats = () => out.next(stats.event(stampNow(), options.model.info.provider));
      const gate = createGate<FrameWork>({
        policy: options.backpressure,
        credits: options.inFlight ?? 2,
        onDrop: () => stats.dropped++,
      });
      const loops = new LoopRelease({
        places: options.map?.places,
        gap: loopGap,
        agreement,
        gate: options.loopGate,
      });
      let mainDone = false;
      let closed = false;
      const finishIfDone = () => {
        if (mainDone && verification.idle && !closed) {
          emitStats();
          closed = true;
          out.complete();
        }
      };
      const verification: VerificationPath = new VerificationPath({
        verifier: options.verifier,
        loops,
        topK: verifyTopK,
        places: options.map?.places,
        now: stampNow,
        emit: (e) => out.next(e),
        fail: emitError,
        onIdle: finishIfDone,
      });
      const stages = stagesOf(options, { now: stampNow, verifications: verification.results$ });
      const statsTimer = scheduler.schedule(function () {
        emitStats();
        this.schedule(undefined, statsMs);
      }, statsMs);
      // frames -> backpressure gate -> stages (decode ... loop) -> loop gate -> events; verification off the side.
      const main = frames$.pipe(
        map((frame): FrameWork => {
          stats.received++;
          return { frame, receivedAt: clock() };
        }),
        gate.admit,
        startTiming(clock, !!options.onTiming),
        chainStages(stages, clock, !!options.onTiming),
        screenLoops(loops),
      ).subscribe({
        next: (work) => {
          reportTiming(work, options.onTiming);
          for (const e of frameEvents(work, stats, clock, !!options.map)) out.next(e);
          verification.submit(work);
          gate.release();
        },
        error: (e) => out.error(e),
        complete: () => {
          mainDone = true;
          statsTimer.unsubscribe();
          finishIfDone();
        },
      });
      return () => {
        closed = true;
        main.unsubscribe();
        statsTimer.unsubscribe();
        verification.close();
        loops.clear();
      };
    })
  ).pipe(share());

  return {
    events$,
    estimates$: events$.pipe(ofKind("estimate")),
    loops$: events$.pipe(ofKind("loop")),
    stats$: events$.pipe(ofKind("stats")),
    errors$: events$.pipe(ofKind("error")),
    verifications$: events$.pipe(ofKind("verification")),
  };
}
