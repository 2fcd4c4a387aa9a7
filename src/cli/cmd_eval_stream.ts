/**
 * `waymark eval stream <dataset>`: single-frame vs smoothed Recall@1, calibration error and latency of the
 * streaming localizer on a retrieval dataset.
 * @module
 */
import { evaluateStream, type StreamReport, streamReportJson } from "../eval/stream.ts";
import { loadPipelineVerifier } from "../pipeline/verifier_loader.ts";
import {
  EXIT_OK,
  indexOption,
  intOption,
  parseCommand,
  ProgressBar,
  providerOption,
  radiusOption,
  RETRIEVAL_EVAL_OPTIONS,
} from "./_common.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import { writeReport } from "../eval/report.ts";
import { streamReportContent } from "../eval/report_views.ts";

/** One-line description for `waymark --help`. */
export const summary = "streaming localization on a dataset: single-frame vs smoothed Recall@1, ECE, latency";

const HELP = `waymark eval stream <dataset> [options]

Build a map from <dataset>/database.csv (fitting the default model on it unless --model is given), then
replay queries.csv in order through the live pipeline (descriptor, index top-k, temporal place filter) and
report: single-frame Recall@1 (top candidate), smoothed Recall@1 (the filter's estimate; 'lost' counts as a
miss), the SeqSLAM-like baseline (diagonal over the last 20 frames), the expected calibration error of the
estimates' confidence (10 bins; a 'lost' estimate is correct when the query is not in the map), how often
queries not in the map were reported lost, and per-frame latency p50/p90/p99 in ms.

Options:
  --json              print ONE JSON object as the last line of stdout: recall@1, smoothed_recall@1, ece,
                      latency_ms {p50, p90, p99}, seqslam_recall@1, and context
  --radius M          metres for positional ground truth                     default 25
  --model DIR         use this model folder instead of fitting the default one
  --index KIND        hnsw | exact                                           default exact
  --clusters K        NetVLAD clusters of the fitted default model           default 64
  --provider P        auto | cpu | cuda                                      default auto
  --top-k K           candidates per frame from the search                   default 50
  --full-scan N       maps of up to N places: every query is compared with every place and the filter
                      observes them all (as the live pipeline within its budget)   default 5000
  --verify            verify each frame's top candidates (DELF-style) and fold the results into the filter
  --verify-top K      candidates verified per frame                          default 5
  --per-query         also print each query's answers (text mode)
  --report DIR        write DIR/index.html: summary, reliability diagram, latency, prediction strips
  -h, --help          this help
`;

function printReport(r: StreamReport, perQuery: boolean): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `dataset    ${r.dataset}`,
    `model      ${r.model.name} ${r.model.id} (${r.model.dim}-d, ${r.model.provider})`,
    `map        ${r.map.places} places, ${r.map.index} index${r.verified ? ", verification on" : ""}`,
    `queries    ${r.queries} with a true match, ${r.queriesWithoutMatch} without, ${r.failedQueries} failed`,
    `recall@1   single frame ${pct(r.recall1)}  smoothed ${pct(r.smoothedRecall1)}  seqslam-20 ${
      pct(r.seqMatchRecall1)
    }`,
    `ece        ${r.ece.toFixed(3)}   lost on unknown ${pct(r.lostOnUnknown)}   status ${
      JSON.stringify(r.statusCounts)
    }`,
    `latency ms p50 ${r.latencyMs.p50}  p90 ${r.latencyMs.p90}  p99 ${r.latencyMs.p99}`,
  ];
  if (perQuery) {
    for (const q of r.perQuery) {
      lines.push(
        `  ${q.query}: single ${q.single} smoothed ${q.smoothed} (${q.status} ${
          q.confidence.toFixed(2)
        }) seq ${q.seqMatch} truth ${q.truth.join(",")}`,
      );
    }
  }
  console.log(lines.join("\n"));
}

/** Run `waymark eval stream`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "eval stream",
    help: HELP,
    positionals: { count: 1, what: "one dataset folder" },
    options: {
      ...RETRIEVAL_EVAL_OPTIONS,
      "full-scan": { type: "string" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const action = "evaluate stream";
  const radius = radiusOption(action, values.radius);
  const verifier = values.verify ? await loadPipelineVerifier({}) : undefined;
  let bar: ProgressBar | null = null;
  let phase = "";
  const report = await evaluateStream(positionals[0], {
    radius,
    modelDir: values.model,
    index: values.index === undefined ? "exact" : indexOption(action, values.index),
    clusters: intOption(action, "clusters", values.clusters, 64),
    provider: providerOption(action, values.provider),
    topK: values["top-k"] === undefined ? undefined : intOption(action, "top-k", values["top-k"], 50),
    fullScanPlaces: values["full-scan"] === undefined
      ? undefined
      : intOption(action, "full-scan", values["full-scan"], 5000),
    verifier,
    verifyTopK: intOption(action, "verify-top", values["verify-top"], 5),
    onPlace: verifier && "addPlace" in verifier
      ? (id, img) =>
        (verifier as unknown as { addPlace(i: number, p: typeof img): Promise<void> }).addPlace(id, img)
      : undefined,
    onProgress: (p, done, total) => {
      if (p !== phase) {
        bar?.done();
        phase = p;
        bar = new ProgressBar(p, total);
      }
      bar!.update(done);
    },
  });
  (bar as ProgressBar | null)?.done();
  if (values.json) console.log(JSON.stringify(streamReportJson(report)));
  else printReport(report, values["per-query"]);
  if (values.report !== undefined) {
    const ds = await readRetrievalDataset(positionals[0], { radius });
    const path = await writeReport(values.report, streamReportContent(report, ds));
    console.error(`waymark: report written to ${path}`);
  }
  return EXIT_OK;
}
