/**
 * What each `eval` command puts in its `--report` page (see `report.ts`): summary rows, charts and prediction
 * strips built from the command's report and the dataset it read.
 * @module
 */
import type { LoopDataset, RetrievalDataset } from "../dataset/types.ts";
import { type LoopScores, scoreLoops } from "./_metrics_stream.ts";
import type { LoopsReport } from "./loops.ts";
import { evenSample, type PrPoint, type ReportContent, type StripGroup } from "./report.ts";
import type { RetrievalReport } from "./retrieval.ts";
import type { StreamReport } from "./stream.ts";
import type { UnlabelledReport } from "./unlabelled.ts";

const pct = (x: number) => (Number.isNaN(x) ? "n.a." : `${(x * 100).toFixed(1)}%`);
const ms = (l: { p50: number; p90: number; p99: number }) =>
  `p50 ${l.p50.toFixed(1)} / p90 ${l.p90.toFixed(1)} / p99 ${l.p99.toFixed(1)} ms`;
const STRIPS = 6;

/** `eval retrieval` (labelled): summary, latency histogram, strips of the worst and a sample of queries. */
export function retrievalReportContent(
  r: RetrievalReport,
  ds: RetrievalDataset,
  samplesMs?: number[],
): ReportContent {
  const rows = r.perQuery.map((q, i) => ({ q, i }));
  // Worst: queries with a true match whose first true candidate ranks lowest (absent from the list is worst).
  const rankOfTruth = (q: RetrievalReport["perQuery"][number]) => {
    const k = q.ranked.findIndex((d) => q.truth.includes(d));
    return k < 0 ? Infinity : k;
  };
  const worst = rows.filter(({ q }) => q.truth.length > 0 && rankOfTruth(q) > 0)
    .sort((a, b) => rankOfTruth(b.q) - rankOfTruth(a.q)).slice(0, STRIPS);
  const strip = ({ q, i }: { q: RetrievalReport["perQuery"][number]; i: number }) => ({
    query: { path: ds.queries[i].path, name: q.query },
    candidates: q.ranked.slice(0, 5).map((d, rank) => ({
      path: ds.database[d].path,
      name: ds.database[d].image,
      correct: q.truth.length ? q.truth.includes(d) : undefined,
      note: `#${rank + 1}`,
    })),
    caption: q.error
      ? `unreadable: ${q.error}`
      : `truth: ${q.truth.map((d) => ds.database[d].image).join(", ") || "(not in the map)"}`,
  });
  const strips: StripGroup[] = [
    {
      title: `Worst queries: top-1 wrong (${worst.length} shown, of ${r.perQuery.length} queries)`,
      rows: worst.map(strip),
    },
    { title: "A sample of queries", rows: evenSample(rows, STRIPS).map(strip) },
  ];
  return {
    title: `waymark eval retrieval: ${r.dataset}`,
    summary: [
      ["dataset", `${r.dataset} (${r.groundTruth} ground truth)`],
      ["model", `${r.model.name} (${r.model.dim}-d, ${r.model.provider})`],
      ["map", `${r.map.places} places, ${r.map.index} index${r.map.dir ? `, ${r.map.dir}` : ""}`],
      [
        "queries",
        `${r.queries} with a true match, ${r.queriesWithoutMatch} without, ${r.failedQueries} unreadable`,
      ],
      ...Object.entries(r.recall).map(([n, v]) => [`Recall@${n}`, pct(v)] as [string, string]),
      ...Object.entries(r.latencyMs).map(([s, l]) => [`latency ${s}`, ms(l!)] as [string, string]),
    ],
    latency: [{ name: "total per query", samplesMs, percentiles: r.latencyMs.total }],
    strips,
    notes: [
      "Frames: blue = query, green = a true match, red = not a true match; #k = rank.",
      "No loop events or calibrated confidences in a retrieval evaluation: see eval loops / eval stream reports.",
    ],
  };
}

/** `eval retrieval` on a plain folder: summary and strips of the top-k per image (no ground truth). */
export function unlabelledReportContent(
  r: UnlabelledReport,
  queryPath: (image: string) => string,
  placePath: (image: string) => string,
): ReportContent {
  return {
    title: `waymark eval retrieval (unlabelled): ${r.folder}`,
    summary: [
      ["folder", r.folder],
      ["mode", r.mode === "map" ? `against the map ${r.mapDir}` : "each image against the folder's others"],
      ["places", String(r.places)],
      ["queries", String(r.perQuery.length)],
      ["latency per query", ms(r.latencyMs)],
    ],
    latency: [{ name: "per query", percentiles: r.latencyMs }],
    strips: [{
      title: `A sample of images with their top ${r.k}`,
      rows: evenSample(r.perQuery, 10).map((q) => ({
        query: { path: queryPath(q.query), name: q.query },
        candidates: q.matches.map((m) => ({
          path: placePath(m.image),
          name: m.image,
          note: m.similarity.toFixed(3),
        })),
      })),
    }],
    notes: ["No ground truth: candidates are not judged (grey frames); the number is the similarity."],
  };
}

/** `eval stream`: summary, reliability diagram, latency percentiles, strips of wrong estimates and a sample. */
export function streamReportContent(r: StreamReport, ds: RetrievalDataset): ReportContent {
  const qPath = new Map(ds.queries.map((q) => [q.image, q.path]));
  const scored = r.perQuery.filter((p) => p.status !== "failed");
  const hit = (p: StreamReport["perQuery"][number], v: number) => v >= 0 && p.truth.includes(v);
  // The rule of the ECE in stream.ts: a lost estimate is right when the query is not in the map.
  const correct = scored.map((p) => (p.status === "lost" ? p.truth.length === 0 : hit(p, p.smoothed)));
  const strip = (p: StreamReport["perQuery"][number]) => ({
    query: { path: qPath.get(p.query) ?? p.query, name: p.query },
    candidates:
      ([["single", p.single], ["smoothed", p.smoothed], ["seq-20", p.seqMatch]] as [string, number][])
        .filter(([, v]) => v >= 0)
        .map(([what, v]) => ({
          path: ds.database[v].path,
          name: ds.database[v].image,
          correct: p.truth.length ? p.truth.includes(v) : false,
          note: what,
        })),
    caption: `${p.status}, confidence ${p.confidence.toFixed(2)}; truth: ${
      p.truth.map((d) => ds.database[d].image).join(", ") || "(not in the map)"
    }`,
  });
  const wrong = scored.filter((_p, i) => !correct[i]).sort((a, b) => b.confidence - a.confidence);
  return {
    title: `waymark eval stream: ${r.dataset}`,
    summary: [
      ["dataset", r.dataset],
      ["model", `${r.model.name} (${r.model.dim}-d, ${r.model.provider})`],
      [
        "queries",
        `${r.queries} with a true match, ${r.queriesWithoutMatch} without, ${r.failedQueries} failed`,
      ],
      ["Recall@1 single frame", pct(r.recall1)],
      ["Recall@1 smoothed", pct(r.smoothedRecall1)],
      ["Recall@1 seqslam-20", pct(r.seqMatchRecall1)],
      ["ECE (10 bins)", r.ece.toFixed(3)],
      ["lost on unknown", pct(r.lostOnUnknown)],
      ["latency per frame", ms(r.latencyMs)],
    ],
    reliability: { confidence: scored.map((p) => p.confidence), correct, ece: r.ece },
    latency: [{ name: "per frame", percentiles: r.latencyMs }],
    strips: [
      {
        title: `Most confident wrong estimates (${Math.min(STRIPS, wrong.length)} of ${wrong.length})`,
        rows: wrong.slice(0, STRIPS).map(strip),
      },
      { title: "A sample of queries", rows: evenSample(scored, STRIPS).map(strip) },
    ],
    notes: ["Per-frame latency samples are not kept by eval stream: the chart shows its percentiles."],
  };
}

/** The PR curve of loop events over confidence thresholds (one point per distinct confidence). */
export function loopPrCurve(
  events: { query: number; match: number; confidence: number }[],
  truth: number[][],
): {
  points: PrPoint[];
  operating?: PrPoint;
  all: LoopScores;
} {
  const thresholds = [...new Set(events.map((e) => e.confidence))].sort((a, b) => b - a);
  const points = thresholds.map((t) => {
    const s = scoreLoops(events.filter((e) => e.confidence >= t), truth);
    return { recall: s.recall, precision: s.precision, threshold: t };
  });
  const all = scoreLoops(events, truth);
  return {
    points,
    operating: events.length
      ? { recall: all.recall, precision: all.precision, threshold: Math.min(...thresholds) }
      : undefined,
    all,
  };
}

/** `eval loops`: summary, PR curve with the operating point, latency percentiles, strips of loop events. */
export function loopsReportContent(r: LoopsReport, ds: LoopDataset): ReportContent {
  const pr = loopPrCurve(r.events, ds.loops);
  const isTrue = (e: LoopsReport["events"][number]) => (ds.loops[e.query] ?? []).includes(e.match);
  const strip = (e: LoopsReport["events"][number]) => ({
    query: { path: ds.frames[e.query].path, name: ds.frames[e.query].image },
    candidates: [{
      path: ds.frames[e.match].path,
      name: ds.frames[e.match].image,
      correct: isTrue(e),
      note: `conf ${e.confidence.toFixed(2)}${e.inliers !== undefined ? `, ${e.inliers} inliers` : ""}`,
    }],
    caption: `frame ${e.query} -> frame ${e.match}; truth: ${
      (ds.loops[e.query] ?? []).join(", ") || "(no loop)"
    }`,
  });
  const wrong = r.events.filter((e) => !isTrue(e)).sort((a, b) => b.confidence - a.confidence);
  const s = r.scores;
  return {
    title: `waymark eval loops: ${r.dataset}`,
    summary: [
      ["dataset", r.dataset],
      ["model", `${r.model.name} (${r.model.dim}-d, ${r.model.provider})`],
      ["frames", `${r.frames} (${r.failedFrames} failed), ${s.loopFrames} with a true loop`],
      ["events", `${s.events} (${s.correct} correct)`],
      ["precision", pct(s.precision)],
      ["recall", pct(s.recall)],
      ["recall at 100% precision", pct(s.recallAt100Precision)],
      ...(r.verifiedScores
        ? [
          [
            "verified: precision / recall",
            `${pct(r.verifiedScores.precision)} / ${pct(r.verifiedScores.recall)}`,
          ] as [
            string,
            string,
          ],
        ]
        : []),
      ["latency per frame", ms(r.latencyMs)],
    ],
    pr: { points: pr.points, operating: pr.operating, label: "thresholds at or above the detector's" },
    latency: [{ name: "per frame", percentiles: r.latencyMs }],
    strips: [
      {
        title: `Most confident wrong loop events (${Math.min(STRIPS, wrong.length)} of ${wrong.length})`,
        rows: wrong.slice(0, STRIPS).map(strip),
      },
      { title: "A sample of loop events", rows: evenSample(r.events, STRIPS).map(strip) },
    ],
    notes: [
      "The curve sweeps the confidence threshold over the events the detector emitted, so it starts at its " +
      "operating point (red circle) and goes towards higher precision; events below the detector's threshold are " +
      "not recorded.",
      "Per-frame latency samples are not kept by eval loops: the chart shows its percentiles.",
    ],
  };
}
