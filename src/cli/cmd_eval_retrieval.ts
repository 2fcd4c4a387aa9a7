/**
 * `waymark eval retrieval <dataset>`: single-frame Recall@1/5/10 and per-stage latency on a retrieval dataset.
 * @module
 */
import { invalid } from "../errors.ts";
import { evaluateRetrieval, type RetrievalReport, retrievalReportJson } from "../eval/retrieval.ts";
import { createRetrievalVerifier } from "../eval/verified_retrieval.ts";
import {
  EXIT_OK,
  intOption,
  mapModelOptions,
  parseCommand,
  type ParsedCommand,
  phaseProgress,
  providerOption,
  radiusOption,
  RETRIEVAL_EVAL_OPTIONS,
} from "./_common.ts";
import { join } from "node:path";
import { fileExists } from "../_fs.ts";
import { readRetrievalDataset } from "../dataset/retrieval_dataset.ts";
import { loadMap } from "../map/map_loader.ts";
import { retrieveUnlabelled, type UnlabelledReport, unlabelledReportJson } from "../eval/unlabelled.ts";
import { writeReport } from "../eval/report.ts";
import { retrievalReportContent, unlabelledReportContent } from "../eval/report_views.ts";
import { isAbsolute } from "node:path";
import { isRecordingSpec, readRecordingImages } from "../io/recording_dataset.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "single-frame retrieval Recall@1/5/10 and latency on a dataset (map from database.csv)";

const HELP = `waymark eval retrieval <dataset|folder|bag:<file>[#topic]|mcap:<file>[#topic]> [options]

Build a map from <dataset>/database.csv (fitting the default model on it unless --model is given), then
describe and search every image of queries.csv in order, and report Recall@1/5/10 over the queries that
have a true match (matches.csv, or positions within --radius metres; queries without one are counted
apart) and per-stage latency p50/p90/p99 in ms (decode includes reading the file).
Logs and warnings go to stderr.

A plain folder of images (no queries.csv/database.csv) is evaluated unlabelled: each image's --top-k most
similar images by file name (with --map: the map's places; without: the folder's other images, on a map
built from the folder). A bag:/mcap: recording is evaluated so too, its frames (named
<topic>@<sec>.<nanosec>) as the images.

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
                      (at most map images - 1; a map of fewer than 32 images is not whitened)
  --provider P        auto | cpu | cuda                                      default auto
  --map-out DIR       keep the map in DIR (default: a temporary folder, removed)
  --map DIR           search this built map instead of building one (a map of the dataset's database.csv,
                      e.g. from 'waymark map build <dataset>'; not with --verify)
  --top-k K           unlabelled mode: matches per image                     default 5
  --verify            re-rank each query's first --verify-top candidates by DELF-style geometric
                      verification (local features of the map images, PCA fitted on the map)
  --verify-top K      candidates verified per query                          default 5
  --per-query         also print each query's top 5 by file name (text mode)
  --report DIR        write DIR/index.html: summary, latency histogram, prediction strips (worst and a
                      sample of queries, each candidate marked right or wrong, file names shown)
  -h, --help          this help
`;

function printReport(r: RetrievalReport, perQuery: boolean, names: string[], reused: boolean): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    `dataset    ${r.dataset} (${r.groundTruth} ground truth)`,
    `model      ${r.model.name} ${r.model.id} (${r.model.dim}-d, ${r.model.provider})`,
    `map        ${r.map.places} places (${r.map.skipped} skipped), ${r.map.index} index, ` +
    (reused
      ? `loaded from ${r.map.dir}`
      : `built in ${r.map.buildSeconds.toFixed(1)} s (${r.map.imagesPerSecond.toFixed(1)} images/s)`),
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
      const name = (i: number) => names[i] ?? `#${i}`;
      lines.push(
        `  ${q.query}: top ${q.ranked.slice(0, 5).map(name).join(", ")} | truth ${
          q.truth.map(name).join(", ")
        } ${ok}`,
      );
    }
  }
  console.log(lines.join("\n"));
}

const OPTIONS = {
  ...RETRIEVAL_EVAL_OPTIONS,
  preset: { type: "string" },
  pca: { type: "string" },
  "map-out": { type: "string" },
  map: { type: "string" },
} as const;

/** Run `waymark eval retrieval`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "eval retrieval",
    help: HELP,
    positionals: { count: 1, what: "one dataset folder" },
    options: OPTIONS,
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const action = "evaluate retrieval";
  const radius = radiusOption(action, values.radius);
  const topK = intOption(action, "verify-top", values["verify-top"], 5);
  const verifier = values.verify ? createRetrievalVerifier({ topK }) : undefined;
  const progress = phaseProgress();
  const dir = positionals[0];
  await using rec = isRecordingSpec(dir) ? await readRecordingImages(dir) : null;
  const labelled = !rec &&
    (await fileExists(join(dir, "queries.csv")) || await fileExists(join(dir, "database.csv")));
  const provider = providerOption(action, values.provider);
  if (values.map !== undefined && values.verify) {
    throw invalid(
      action,
      "map",
      "not given with --verify (verification needs the map built here)",
      values.map,
    );
  }
  const map = values.map === undefined ? undefined : await loadMap(values.map, { provider });
  try {
    if (!labelled) {
      const r = await retrieveUnlabelled(rec?.spec ?? dir, {
        images: rec?.images,
        k: intOption(action, "top-k", values["top-k"], 5),
        map,
        modelDir: values.model,
        provider,
        onProgress: (p) => progress.update(p),
      });
      progress.end();
      if (values.json) console.log(JSON.stringify(unlabelledReportJson(r)));
      else printUnlabelled(r);
      if (values.report !== undefined) {
        // Place images are relative to the folder the map was built from (self mode: this folder).
        const base = map ? (map.manifest.build?.source as string | undefined) ?? dir : dir;
        const recorded = new Map(rec?.images.map((im) => [im.image, im.path]));
        const path = await writeReport(
          values.report,
          unlabelledReportContent(
            r,
            (image) => recorded.get(image) ?? join(dir, image),
            (image) => recorded.get(image) ?? (isAbsolute(image) ? image : join(base, image)),
          ),
        );
        console.error(`waymark: report written to ${path}`);
      }
      return EXIT_OK;
    }
    return await labelledRun(values, dir, map, radius, verifier, topK, progress);
  } finally {
    await map?.model.close();
  }
}

function printUnlabelled(r: UnlabelledReport): void {
  const lines = [
    `folder     ${r.folder} (unlabelled: no ground truth, so no recall)`,
    r.mode === "map"
      ? `map        ${r.mapDir} (${r.places} places)`
      : `map        built from the folder (${r.places} places); each image against the others`,
    `latency ms p50 ${r.latencyMs.p50.toFixed(2)}  p90 ${r.latencyMs.p90.toFixed(2)}  p99 ${
      r.latencyMs.p99.toFixed(2)
    }`,
    `top ${r.k} per image (similarity):`,
  ];
  for (const q of r.perQuery) {
    lines.push(
      `  ${q.query}: ${
        q.error
          ? `unreadable (${q.error})`
          : q.matches.map((m) => `${m.image} ${m.similarity.toFixed(3)}`).join(", ")
      }`,
    );
  }
  console.log(lines.join("\n"));
}

async function labelledRun(
  values: ParsedCommand<typeof OPTIONS>["values"],
  dir: string,
  map: Awaited<ReturnType<typeof loadMap>> | undefined,
  radius: number,
  verifier: ReturnType<typeof createRetrievalVerifier> | undefined,
  topK: number,
  progress: ReturnType<typeof phaseProgress>,
): Promise<number> {
  const action = "evaluate retrieval";
  const ds = await readRetrievalDataset(dir, { radius });
  const report = await evaluateRetrieval(ds, {
    map,
    radius,
    ...mapModelOptions(action, values),
    mapOut: values["map-out"],
    verifier,
    candidates: verifier ? Math.max(10, topK) : undefined,
    onProgress: (p) => progress.update(p),
  });
  progress.end();
  if (values.json) console.log(JSON.stringify(retrievalReportJson(report)));
  else printReport(report, values["per-query"], ds.database.map((d) => d.image), map !== undefined);
  if (values.report !== undefined) {
    const path = await writeReport(
      values.report,
      retrievalReportContent(report, ds, report.latencySamplesMs),
    );
    console.error(`waymark: report written to ${path}`);
  }
  return EXIT_OK;
}
