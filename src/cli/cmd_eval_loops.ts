/**
 * `waymark eval loops <dataset>`: loop-closure precision, recall and recall at 100% precision on a loop dataset.
 * @module
 */
import {
  DEFAULT_MIN_CONFIDENCE,
  DEFAULT_MIN_INLIERS,
  DEFAULT_UNVERIFIED_MIN_CONFIDENCE,
} from "../localize/loop_gate.ts";
import { invalid } from "../errors.ts";
import { evaluateLoops, type LoopsReport, loopsReportJson } from "../eval/loops.ts";
import { EVAL_OPTIONS, EXIT_OK, intOption, parseCommand, ProgressBar, providerOption } from "./_common.ts";
import { loadPipelineVerifier } from "../pipeline/verifier_loader.ts";
import { readLoopDataset } from "../dataset/loop_dataset.ts";
import { writeReport } from "../eval/report.ts";
import { loopsReportContent } from "../eval/report_views.ts";
import { isRecordingSpec, readRecordingLoopDataset } from "../io/recording_dataset.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "loop-closure precision / recall / recall at 100% precision on a loop dataset (sequence.csv)";

const HELP =
  `waymark eval loops <dataset | bag:<file>[#topic] --truth CSV | mcap:<file>[#topic] --truth CSV> [options]

Replay <dataset>/sequence.csv in order through the SLAM pipeline (no prior map: the map grows online,
every frame a keyframe), detect loop closures with the sequence-consistent detector, and score them
against loops.csv: precision, recall over the frames that have a true loop, recall at 100% precision
(at most one event per frame; events sorted by confidence), events, per-frame latency p50/p90/p99 in ms,
for every hypothesis of the detector, for the loops emitted without verification (detector confidence at
least --unverified-min-confidence) and, with --verify, for the loops the verification gate emits.
The vocabulary is the shipped generic one (models/waymark-generic) unless --model is given; when it is
not installed, the default model is fitted on the sequence (a warning says so).

Options:
  --json              print ONE JSON object as the last line of stdout: precision, recall, recall_at_100p,
                      events, latency_ms {p50, p90, p99}, and context
  --model DIR         use this model folder
  --fit               fit the default model on the sequence instead of the generic vocabulary
  --clusters K        NetVLAD clusters when fitting                           default 64
  --provider P        auto | cpu | cuda                                       default auto
  --exclude N         recent keyframes never loop candidates                  default 10
  --verify            gate every loop on DELF-style geometric verification; reports both
  --min-inliers N     inliers for a verified loop at 1000 keypoints (scaled down with fewer)  default 120
  --min-confidence X  confidence a verified loop needs (operating point)      default ${DEFAULT_MIN_CONFIDENCE}
  --unverified-min-confidence X
                      detector confidence a loop needs without verification   default ${DEFAULT_UNVERIFIED_MIN_CONFIDENCE}
  --keep-unverifiable with --verify: keep loops that cannot be verified (textureless frames) on the
                      detector's word (by default they are not emitted)
  --truth CSV         with a bag:/mcap: recording (its frames in record order): the true loops, as
                      loops.csv (query,match), each field a 0-based frame index, a frame name
                      <topic>@<sec>.<nanosec>, or an image of a sequence.csv beside CSV (its row index:
                      a dataset's own loops.csv is the truth of a recording of its sequence.csv)
  --events            also print every event (text mode)
  --report DIR        write DIR/index.html: summary, precision-recall curve of the loop events with the
                      operating point, latency, strips of wrong and sampled loop events
  -h, --help          this help
`;

function printReport(r: LoopsReport, events: boolean): void {
  const pct = (x: number) => (Number.isNaN(x) ? "n.a." : `${(x * 100).toFixed(1)}%`);
  const line = (label: string, s: LoopsReport["scores"]) =>
    `${label} precision ${pct(s.precision)}  recall ${pct(s.recall)}  recall@100%P ${
      pct(s.recallAt100Precision)
    }  events ${s.events} (${s.correct} correct, ${s.loopFrames} loop frames)`;
  const lines = [
    `dataset    ${r.dataset} (${r.frames} frames, ${r.failedFrames} failed)`,
    `model      ${r.model.name} ${r.model.id} (${r.model.dim}-d, ${r.model.provider}, vocabulary ${r.model.vocabulary})`,
    line("hypotheses", r.hypotheses),
    line("loops     ", r.scores),
  ];
  if (r.verifiedScores) lines.push(line("verified  ", r.verifiedScores));
  lines.push(`latency ms p50 ${r.latencyMs.p50}  p90 ${r.latencyMs.p90}  p99 ${r.latencyMs.p99}`);
  if (events) {
    for (const e of r.events) {
      lines.push(
        `  frame ${e.query} -> ${e.match}  conf ${e.confidence.toFixed(3)}${
          e.inliers !== undefined ? ` inliers ${e.inliers}` : ""
        }`,
      );
    }
  }
  console.log(lines.join("\n"));
}

/** A number in [0, 1] given as option `--name`, or the default. */
function unitOption(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw.trim() === "" || !(v >= 0 && v <= 1)) {
    throw invalid("evaluate loops", name, "a number in [0, 1]", raw);
  }
  return v;
}

/** Run `waymark eval loops`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "eval loops",
    help: HELP,
    positionals: { count: 1, what: "one dataset folder" },
    options: {
      ...EVAL_OPTIONS,
      fit: { type: "boolean", default: false },
      exclude: { type: "string" },
      "min-inliers": { type: "string" },
      "min-confidence": { type: "string" },
      "unverified-min-confidence": { type: "string" },
      "keep-unverifiable": { type: "boolean", default: false },
      events: { type: "boolean", default: false },
      report: { type: "string" },
      truth: { type: "string" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const action = "evaluate loops";
  const recorded = isRecordingSpec(positionals[0]);
  if (recorded !== (values.truth !== undefined)) {
    throw invalid(
      action,
      "truth",
      recorded ? "a loops CSV for a recording" : "given only with bag:/mcap:",
      values.truth,
    );
  }
  await using rec = recorded ? await readRecordingLoopDataset(positionals[0], values.truth!) : null;
  const minInliers = intOption(action, "min-inliers", values["min-inliers"], DEFAULT_MIN_INLIERS);
  const verifier = values.verify ? await loadPipelineVerifier({ minInliers }) : undefined;
  let bar: ProgressBar | null = null;
  const report = await evaluateLoops(rec?.dataset ?? positionals[0], {
    modelDir: values.model,
    vocabulary: values.fit ? "fit" : "generic",
    clusters: intOption(action, "clusters", values.clusters, 64),
    provider: providerOption(action, values.provider),
    detector: values.exclude === undefined
      ? undefined
      : { excludeRecent: intOption(action, "exclude", values.exclude, 10) },
    verifier,
    gate: {
      minConfidence: unitOption("min-confidence", values["min-confidence"], DEFAULT_MIN_CONFIDENCE),
      unverifiedMinConfidence: unitOption(
        "unverified-min-confidence",
        values["unverified-min-confidence"],
        DEFAULT_UNVERIFIED_MIN_CONFIDENCE,
      ),
      keepUnverifiable: values["keep-unverifiable"],
    },
    onProgress: (done, total) => {
      bar ??= new ProgressBar("replay", total);
      bar.update(done);
      if (done === total) bar.done();
    },
  });
  if (values.json) console.log(JSON.stringify(loopsReportJson(report)));
  else printReport(report, values.events);
  if (values.report !== undefined) {
    const path = await writeReport(
      values.report,
      loopsReportContent(report, rec?.dataset ?? await readLoopDataset(positionals[0])),
    );
    console.error(`waymark: report written to ${path}`);
  }
  return EXIT_OK;
}
