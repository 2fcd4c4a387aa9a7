/**
 * `waymark eval loops`: replay a loop-closure dataset (`sequence.csv` in order) through the SLAM half of the
 * pipeline (decode -> keyframe -> descriptor -> loop-closure detector over the growing session map) and score
 * the events: precision, recall, recall at 100% precision (at most one event per frame), latency.
 *
 * With a verifier, every hypothesis is also verified (awaited here: evaluation measures accuracy, the live
 * pipeline never waits) and the metrics are reported both without and with the geometric gate.
 *
 * @module
 */
import { pipe } from "rxjs";
import { readLoopDataset } from "../dataset/loop_dataset.ts";
import type { LoopDataset } from "../dataset/types.ts";
import type { LoopDetectorOptions } from "../localize/loop_detector.ts";
import { acceptUnverified, gateLoop, type LoopGateOptions } from "../localize/loop_gate.ts";
import { decodeStage, type FrameDecoder } from "../pipeline/decode_stage.ts";
import { describeStage } from "../pipeline/describe_stage.ts";
import { keyframeStage, type KeyframeStageOptions } from "../pipeline/keyframe_stage.ts";
import { loopStage } from "../pipeline/loop_stage.ts";
import { createStageRunner } from "../pipeline/stage_runner.ts";
import type { Verifier } from "../pipeline/verification_hook.ts";
import type { DescriptorModel, ProviderChoice } from "../types.ts";
import { type LoopScores, type ScoredLoopEvent, scoreLoops } from "../localize/loop_metrics.ts";
import { summarizeLatency } from "./metrics.ts";
import { datasetFrame, slamModel, type VocabularySource } from "./_replay.ts";

/** Options of {@link evaluateLoops}. All optional. */
export interface EvaluateLoopsOptions {
  /** Use this model. Default: `modelDir`, else the generic vocabulary (see `vocabulary`). */
  model?: DescriptorModel;
  /** Load the model from this folder. */
  modelDir?: string;
  /** `generic` (default): the shipped generic vocabulary, falling back to `fit`; `fit`: fit on the sequence. */
  vocabulary?: "generic" | "fit";
  /** NetVLAD clusters when fitting. Default 64. */
  clusters?: number;
  /** Execution provider. Default `"auto"`. */
  provider?: ProviderChoice;
  /** Loop detector options. Default: the detector's defaults. */
  detector?: LoopDetectorOptions;
  /** Keyframe selection. Default: every frame. */
  keyframes?: KeyframeStageOptions;
  /** Verify each hypothesis (reports both metrics). Default none. */
  verifier?: Verifier;
  /**
   * The operating point (`src/localize/loop_gate.ts`): `minConfidence` of verified loops, whether unverifiable
   * ones are kept (`keepUnverifiable`), `unverifiedMinConfidence` of loops with no geometric check (the
   * unverified scores). Defaults: the pipeline's. (The inlier count is the verifier's test, `minInliers` of
   * `loadPipelineVerifier`.)
   */
  gate?: LoopGateOptions;
  /** Frame decoder (tests). */
  decode?: FrameDecoder;
  onProgress?: (done: number, total: number) => void;
  onWarning?: (message: string) => void;
}

/** One event of the replay. */
export interface LoopReportEvent extends ScoredLoopEvent {
  /** Inlier count when verified. */
  inliers?: number;
  /** Accepted by the verification gate (`gateLoop`: verified, or unverifiable with the detector's word). */
  verified?: boolean;
  /** Confidence after the gate. */
  gatedConfidence?: number;
}

/** Report of {@link evaluateLoops}. */
export interface LoopsReport {
  dataset: string;
  frames: number;
  failedFrames: number;
  /** Loops emitted without verification (detector confidence at least `unverifiedMinConfidence`). */
  scores: LoopScores;
  /** Every hypothesis of the detector, whatever its confidence (how well the confidence ranks them). */
  hypotheses: LoopScores;
  /** With a verifier: the scores of the loops the gate emits. */
  verifiedScores?: LoopScores;
  events: LoopReportEvent[];
  /** Per-frame latency (decode + describe + detector), ms. */
  latencyMs: { p50: number; p90: number; p99: number; mean: number };
  model: { name: string; id: string; dim: number; provider: string; vocabulary: VocabularySource };
}

/**
 * Evaluate loop-closure detection on a loop dataset folder (or one already read).
 *
 * @example
 * ```ts ignore
 * const r = await evaluateLoops("../shared/data/rtabmap_samples_loop");
 * console.log(r.scores.recallAt100Precision);
 * ```
 */
export async function evaluateLoops(
  dataset: LoopDataset | string,
  options: EvaluateLoopsOptions = {},
): Promise<LoopsReport> {
  const gateOptions = options.gate ?? {};
  gateLoop(0, undefined, gateOptions); // validate up front
  acceptUnverified(0, gateOptions);
  const ds = typeof dataset === "string" ? await readLoopDataset(dataset) : dataset;
  const warn = options.onWarning ?? ((m: string) => console.warn(`waymark: warning: ${m}`));
  const { model, source, owned } = await slamModel(ds.frames, { ...options, onWarning: warn });
  const frameOfPlace = new Map<number, number>();
  const runner = createStageRunner(pipe(
    decodeStage({ channels: model.info.inputChannels, decode: options.decode }),
    keyframeStage(options.keyframes),
    describeStage(model),
    loopStage({ detector: options.detector }),
  ));
  const events: LoopReportEvent[] = [];
  const latencies: number[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < ds.frames.length; i++) {
      let frame;
      try {
        frame = await datasetFrame(ds.frames[i], i);
      } catch (err) {
        failed++;
        warn(`frame ${ds.frames[i].image} skipped: ${(err as Error).message}`);
        continue;
      }
      const t0 = performance.now();
      const work = await runner.push({ frame, receivedAt: t0 });
      latencies.push(performance.now() - t0);
      options.onProgress?.(i + 1, ds.frames.length);
      if (work.error) {
        failed++;
        warn(`frame ${ds.frames[i].image}: ${work.error.message}`);
        continue;
      }
      if (work.sessionPlaceId !== undefined) frameOfPlace.set(work.sessionPlaceId, i);
      // Every keyframe is remembered (a later loop may name it), after this frame's own verification.
      const remember = async () => {
        if (options.verifier?.remember && work.pixels && work.sessionPlaceId !== undefined) {
          await options.verifier.remember({
            seq: i,
            stamp: frame.stamp,
            pixels: work.pixels,
            placeId: work.sessionPlaceId,
          });
        }
      };
      const loop = work.loop;
      const match = loop ? frameOfPlace.get(loop.match.placeId) : undefined;
      if (!loop || match === undefined) {
        await remember();
        continue;
      }
      const ev: LoopReportEvent = { query: i, match, confidence: loop.confidence };
      if (options.verifier && work.pixels) {
        const r = await options.verifier.verify(
          {
            seq: i,
            stamp: frame.stamp,
            pixels: work.pixels,
            placeId: work.sessionPlaceId,
            image: frame.source,
          },
          [{
            placeId: loop.match.placeId,
            space: "session",
            similarity: loop.score,
            image: loop.match.image,
          }],
        );
        const res = r.results.find((x) => x.placeId === loop.match.placeId)?.result;
        const gate = gateLoop(loop.confidence, res, gateOptions);
        ev.inliers = res?.inliers ?? 0;
        ev.verified = gate.accept;
        ev.gatedConfidence = gate.confidence;
      }
      await remember();
      events.push(ev);
    }
  } finally {
    runner.close();
    if (owned) await model.close();
  }
  const report: LoopsReport = {
    dataset: ds.dir,
    frames: ds.frames.length,
    failedFrames: failed,
    scores: scoreLoops(events.filter((e) => acceptUnverified(e.confidence, gateOptions)), ds.loops),
    hypotheses: scoreLoops(events, ds.loops),
    events,
    latencyMs: summarizeLatency(latencies),
    model: {
      name: model.info.name,
      id: model.info.id,
      dim: model.info.descriptorDim,
      provider: model.info.provider,
      vocabulary: source,
    },
  };
  if (options.verifier) {
    report.verifiedScores = scoreLoops(
      events.filter((e) => e.verified).map((e) => ({ ...e, confidence: e.gatedConfidence ?? e.confidence })),
      ds.loops,
    );
  }
  return report;
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

/** A precision for JSON: null (undefined) when there was no event. */
function precisionJson(x: number): number | null {
  return Number.isNaN(x) ? null : round(x);
}

/**
 * The one-line JSON of `waymark eval loops --json`: `precision`, `recall`, `recall_at_100p`, `events`,
 * `latency_ms` (of the verified run when verification was on, with the unverified numbers under `unverified`), and
 * under `hypotheses` the same for every hypothesis of the detector, whatever its confidence (how well it ranks).
 */
export function loopsReportJson(r: LoopsReport): Record<string, unknown> {
  const s = r.verifiedScores ?? r.scores;
  const out: Record<string, unknown> = {
    precision: precisionJson(s.precision),
    recall: round(s.recall),
    recall_at_100p: round(s.recallAt100Precision),
    events: s.events,
    latency_ms: { p50: r.latencyMs.p50, p90: r.latencyMs.p90, p99: r.latencyMs.p99 },
    frames: r.frames,
    loop_frames: s.loopFrames,
    failed_frames: r.failedFrames,
    model: r.model.name,
    vocabulary: r.model.vocabulary,
    provider: r.model.provider,
  };
  out.hypotheses = {
    precision: precisionJson(r.hypotheses.precision),
    recall: round(r.hypotheses.recall),
    recall_at_100p: round(r.hypotheses.recallAt100Precision),
    events: r.hypotheses.events,
  };
  if (r.verifiedScores) {
    out.verified = true;
    out.unverified = {
      precision: precisionJson(r.scores.precision),
      recall: round(r.scores.recall),
      recall_at_100p: round(r.scores.recallAt100Precision),
      events: r.scores.events,
    };
  }
  return out;
}
