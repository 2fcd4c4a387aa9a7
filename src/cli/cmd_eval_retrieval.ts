/**
 * `waymark eval retrieval <dataset>`: single-frame Recall@1/5/10 and per-stage latency on a retrieval dataset.
 * @module
 */
import { parseArgs } from "node:util";
import { requireRange } from "../errors.ts";
import { evaluateRetrieval, type RetrievalReport, retrievalReportJson } from "../eval/retrieval.ts";
import { createRetrievalVerifier } from "../eval/verified_retrieval.ts";
import {
  EVAL_OPTIONS,
  EXIT_OK,
  HELP_OPTION,
  indexOption,
  intOption,
  pcaOption,
  phaseProgress,
  printHelp,
  providerOption,
  usageError,
} from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "single-frame retrieval Recall@1/5/10 and latency on a dataset (map from database.csv)";

const HELP = `waymark eval retrieval <dataset> [options]

Build a map from <dataset>/database.csv (fitting the default model on it unless --model is given), then
describe and search every image of queries.csv in order, and report Recall@1/5/10 over the queries that
have a true match (matches.csv, or positions within --radius metres; queries without one are counted
apart) and per-stage latency p50/p90/p99 in ms (decode includes reading the file).
Logs and warnings go to stderr.

Options:
  --json              print ONE JSON object as the last line of stdout: recall@1, recall@5, recall@10,
                      queries, latency_ms {stage: {p50, p90, p99}}, and context
  --radius M          metres for positional ground truth                     default 25
  --model DIR         use this model folder instead of fitting the default one
  --index KIND        hnsw | exact                                           default hnsw
  --preset NAME       default-model preset to fit: dsift-netvlad-64 (8192-d), dsift-netvlad-64-pca256
                      (PCA whitening learnt on the map, 256-d), dsift-netvlad-32-fast   default dsift-netvlad-64
  --clusters K        NetVLAD clusters of the fitted default model           default: the preset's (64)
  --pca D             PCA-whiten the fitted model to D dims (0 = none)        default: the preset's (0)
  --provider P        auto | cpu | cuda                                      default auto
  --map-out DIR       keep the map in DIR (default: a temporary folder, removed)
  --verify            re-rank each query's first --verify-top candidates by DELF-style geometric
                      verification (local features of the map images, PCA fitted on the map)
  --verify-top K      candidates verified per query                          default 5
  --per-query         also print each query's top 5 (text mode)
  -h, --help          this help
`;

function printReport(r: RetrievalReport, perQuery: boolean): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `dataset    ${r.dataset} (${r.groundTruth} ground truth)`,
    `model      ${r.model.name} ${r.model.id} (${r.model.dim}-d, ${r.model.provider})`,
    `map        ${r.map.places} places (${r.map.skipped} skipped), ${r.map.index} index, built in ` +
    `${r.map.buildSeconds.toFixed(1)} s (${r.map.imagesPerSecond.toFixed(1)} images/s)`,
    `queries    ${r.queries} with a true match, ${r.queriesWithoutMatch} without, ${r.failedQueries} undecodable`,
    `recall     ${Object.entries(r.recall).map(([n, v]) => `R@${n} ${pct(v)}`).join("  ")}`,
    `latency ms       p50      p90      p99`,
    ...Object.entries(r.latencyMs).map(([stage, s]) =>
      `  ${stage.padEnd(10)} ${s!.p50.toFixed(2).padStart(8)} ${s!.p90.toFixed(2).padStart(8)} ${
        s!.p99.toFixed(2).padStart(8)
      }`
    ),
  ];
  if (perQuery) {
    for (const q of r.perQuery) {
      const ok = q.truth.length === 0 ? "(no match)" : q.truth.includes(q.ranked[0]) ? "OK" : "MISS";
      lines.push(`  ${q.query}: top ${q.ranked.slice(0, 5).join(",")} truth ${q.truth.join(",")} ${ok}`);
    }
  }
  console.log(lines.join("\n"));
}

/** Run `waymark eval retrieval`. */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...EVAL_OPTIONS,
      radius: { type: "string" },
      index: { type: "string" },
      preset: { type: "string" },
      pca: { type: "string" },
      "map-out": { type: "string" },
      "per-query": { type: "boolean", default: false },
      "verify-top": { type: "string" },
      ...HELP_OPTION,
    },
  });
  if (values.help) return printHelp(HELP);
  if (positionals.length !== 1) return usageError("eval retrieval", HELP, `expected one dataset folder`);
  const action = "evaluate retrieval";
  const radius = values.radius === undefined
    ? 25
    : requireRange(action, "radius", Number(values.radius), 0, 1e7);
  const topK = intOption(action, "verify-top", values["verify-top"], 5);
  const verifier = values.verify ? createRetrievalVerifier({ topK }) : undefined;
  const progress = phaseProgress();
  const report = await evaluateRetrieval(positionals[0], {
    radius,
    modelDir: values.model,
    index: indexOption(action, values.index),
    preset: values.preset,
    clusters: values.clusters === undefined ? undefined : intOption(action, "clusters", values.clusters, 64),
    pcaDim: pcaOption(action, values.pca),
    provider: providerOption(action, values.provider),
    mapOut: values["map-out"],
    verifier,
    candidates: verifier ? Math.max(10, topK) : undefined,
    onProgress: (p) => progress.update(p),
  });
  progress.end();
  if (values.json) console.log(JSON.stringify(retrievalReportJson(report)));
  else printReport(report, values["per-query"]);
  return EXIT_OK;
}
