/**
 * Offline tuning harness of the place filter. `dump <dataset> <cache>`: runs `evaluateStream` once and stores
 * every query's full similarity row, keyframe flag and true places (`<cache>.bin` + `<cache>.json`).
 * `replay <cache>...`: replays the filter (default options, or `--raw` for uncalibrated confidence), the
 * single-frame top-1 and the SeqSLAM baseline over the cached rows and prints Recall@1 / ECE / statuses, in
 * seconds instead of a full `eval stream`.
 *
 * Run: `deno run -A scripts/filter_tune.ts dump /tmp/hard /tmp/hard_cache --radius 1`
 *      `deno run -A scripts/filter_tune.ts replay /tmp/hard_cache`
 *
 * @module
 */
import { parseArgs } from "node:util";
import { evaluateStream, type StreamReport, streamReportJson } from "../src/eval/stream.ts";
import { readRetrievalDataset } from "../src/dataset/retrieval_dataset.ts";
import { decodeImageFile } from "../src/map/build_map.ts";
import { fitDefaultModel } from "../src/model/default_model.ts";
import { loadModelBundle } from "../src/model/onnx_model.ts";
import { DEFAULT_PRESET, getPreset } from "../src/model/registry.ts";
import type { PixelImage } from "../src/types.ts";
import { expectedCalibrationError } from "../src/localize/calibration.ts";
import { PlaceFilter, type PlaceFilterOptions } from "../src/localize/place_filter.ts";
import { SequenceMatcher } from "../src/localize/seq_match.ts";
import { generateHardSequence, type HardSequenceOptions } from "../src/localize/_synthetic.ts";

/** A cached replay: rows (Q x N), keyframe flags, true place indices per query. */
export interface ReplayCache {
  places: number;
  rows: Float32Array[];
  keyframe: boolean[];
  truth: number[][];
  /** Queries that failed in the stream (only a prediction step there, not scored). */
  failed?: boolean[];
  /** Each query's descriptor support (null: none). */
  support?: (number | null)[];
}

/** Read a cache written by `dump`. */
export async function readCache(path: string): Promise<ReplayCache> {
  const meta = JSON.parse(await Deno.readTextFile(`${path}.json`));
  const buf = await Deno.readFile(`${path}.bin`);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const n = meta.places;
  const rows = meta.truth.map((_: unknown, i: number) => all.subarray(i * n, (i + 1) * n));
  return {
    places: n,
    rows,
    keyframe: meta.keyframe,
    truth: meta.truth,
    failed: meta.failed,
    support: meta.support,
  };
}

/** A synthetic hard sequence as a cache (every frame a keyframe; truth: the true place +-1, none off the map). */
export function syntheticCache(options: HardSequenceOptions): ReplayCache {
  const seq = generateHardSequence(options);
  const n = seq.placeCount;
  const truth = Array.from(seq.truth, (p) => p < 0 ? [] : [p - 1, p, p + 1].filter((i) => i >= 0 && i < n));
  return { places: n, rows: seq.rows, keyframe: truth.map(() => true), truth };
}

/** Replay result. */
export interface ReplayScore {
  single: number;
  smoothed: number;
  seqslam: number;
  ece: number;
  lostOnUnknown: number;
  status: Record<string, number>;
  /** (confidence, correct) pairs of every estimate. */
  pairs: { conf: number[]; raw: number[]; correct: boolean[]; lost: boolean[] };
}

/**
 * The places whose column is 0 on every frame that did not fail: a map image with an all-zero descriptor, which
 * `eval stream` tells the filter about (`blindPlaces`, from the map's descriptors).
 */
export function blindColumns(c: ReplayCache): number[] {
  const out: number[] = [];
  const rows = c.rows.filter((_, q) => !c.failed?.[q]);
  if (rows.length === 0) return out;
  for (let j = 0; j < c.places; j++) if (rows.every((r) => r[j] === 0)) out.push(j);
  return out;
}

/**
 * Replay the filter over a cache (every place observed, as `eval stream` does on maps up to 5000 places; blind
 * places told as `eval stream` tells them, unless `options.blindPlaces` says otherwise).
 */
export function replay(
  c: ReplayCache,
  options: Omit<PlaceFilterOptions, "placeCount"> = {},
  seq = true,
): ReplayScore {
  const n = c.places;
  const blind = blindColumns(c);
  const f = new PlaceFilter({
    ...(blind.length > 0 ? { blindPlaces: blind } : {}),
    ...options,
    placeCount: n,
  });
  const m = seq ? new SequenceMatcher({ placeCount: n, length: 20 }) : null;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  let s1 = 0, s2 = 0, s3 = 0, withMatch = 0, unk = 0, lostUnk = 0;
  const status: Record<string, number> = {};
  const conf: number[] = [], raw: number[] = [], correct: boolean[] = [], lost: boolean[] = [];
  let last: { place: number | null; conf: number; raw: number; status: string } | null = null;
  for (let q = 0; q < c.rows.length; q++) {
    const row = c.rows[q];
    if (c.failed?.[q]) {
      // As the stream: a failed query is a miss, only a prediction step for the filter, and not scored.
      if (f.steps > 0) f.predict();
      if (c.truth[q].length > 0) withMatch++;
      continue;
    }
    let top = 0;
    for (let j = 1; j < n; j++) if (row[j] > row[top]) top = j;
    if (c.keyframe[q] || !last) {
      const b = f.step({ indices, similarities: row, support: c.support?.[q] ?? undefined });
      last = { place: b.placeIndex, conf: b.confidence, raw: b.rawConfidence, status: b.status };
    }
    const sq = m ? m.push(row).placeIndex : -1;
    const t = c.truth[q];
    status[last.status] = (status[last.status] ?? 0) + 1;
    const ok = last.status === "lost" ? t.length === 0 : last.place !== null && t.includes(last.place);
    conf.push(last.conf);
    raw.push(last.raw);
    correct.push(ok);
    lost.push(last.status === "lost");
    if (t.length > 0) {
      withMatch++;
      if (t.includes(top)) s1++;
      if (last.place !== null && last.status !== "lost" && t.includes(last.place)) s2++;
      if (t.includes(sq)) s3++;
    } else {
      unk++;
      if (last.status === "lost") lostUnk++;
    }
  }
  return {
    single: s1 / Math.max(1, withMatch),
    smoothed: s2 / Math.max(1, withMatch),
    seqslam: s3 / Math.max(1, withMatch),
    ece: expectedCalibrationError(conf, correct, 10),
    lostOnUnknown: unk ? lostUnk / unk : 0,
    status,
    pairs: { conf, raw, correct, lost },
  };
}

/**
 * Run `evaluateStream` once on a dataset and store every query's full similarity row, keyframe flag, true
 * places and whether it failed (`<out>.bin` + `<out>.json`); returns the stream report.
 */
export async function dumpCache(
  dataset: string,
  out: string,
  options: { radius?: number } = {},
): Promise<StreamReport> {
  const rows: Float32Array[] = [];
  const kf: boolean[] = [];
  let p2d: number[] = [];
  const ds = await readRetrievalDataset(dataset, { radius: options.radius });
  // The default model fitted on the map as the suite fits it, kept to read each query's descriptor support.
  const fitSet: PixelImage[] = [];
  const step = Math.max(1, ds.database.length / 400);
  for (let i = 0; i < ds.database.length; i += step) {
    const img = ds.database[Math.floor(i)];
    fitSet.push(await decodeImageFile(await Deno.readFile(img.path), img.path, 1));
  }
  const model = await loadModelBundle(await fitDefaultModel(fitSet, getPreset(DEFAULT_PRESET).fit));
  const support: (number | null)[] = [];
  for (const q of ds.queries) {
    try {
      const px = await decodeImageFile(await Deno.readFile(q.path), q.path, 1);
      support.push((await model.describe(px)).support ?? null);
    } catch {
      support.push(null);
    }
  }
  const r = await evaluateStream(ds, {
    model,
    onWarning: () => {},
    onSimilarities: (q, row, keyframe, placeToDb) => {
      rows[q] = row.slice();
      kf[q] = keyframe;
      p2d = placeToDb;
    },
  });
  const dbToPlace = new Map(p2d.map((d, i) => [d, i]));
  const n = p2d.length;
  const truth = r.perQuery.map((p) => p.truth.map((d) => dbToPlace.get(d) ?? -1).filter((i) => i >= 0));
  const all = new Float32Array(n * r.perQuery.length);
  r.perQuery.forEach((_, q) => rows[q] && all.set(rows[q], q * n));
  await Deno.writeFile(`${out}.bin`, new Uint8Array(all.buffer));
  await Deno.writeTextFile(
    `${out}.json`,
    JSON.stringify({
      places: n,
      keyframe: r.perQuery.map((_, q) => kf[q] ?? false),
      failed: r.perQuery.map((p) => p.status === "failed"),
      support,
      truth,
    }),
  );
  await model.close();
  return r;
}

if (import.meta.main) {
  const { positionals, values } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { radius: { type: "string" }, raw: { type: "boolean" }, json: { type: "string" } },
  });
  const [cmd, ...rest] = positionals;
  if (cmd === "dump") {
    const [dataset, out] = rest;
    const r = await dumpCache(dataset, out, { radius: values.radius ? Number(values.radius) : undefined });
    console.log(JSON.stringify(streamReportJson(r)));
  } else if (cmd === "replay") {
    const opts: Omit<PlaceFilterOptions, "placeCount"> = values.json ? JSON.parse(values.json) : {};
    if (values.raw) opts.calibration = null;
    for (const path of rest) {
      // "synth:SEED:SIGNAL:OFFMAP" replays a synthetic sequence instead of a cache.
      const [kind, seed, signal, off] = path.split(":");
      const cache = kind === "synth"
        ? syntheticCache({
          seed: Number(seed),
          signal: Number(signal),
          offMap: Number(off ?? 0),
          queries: 400,
        })
        : await readCache(path);
      const s = replay(cache, opts);
      const r4 = (x: number) => Math.round(x * 1000) / 1000;
      console.log(
        `${path}: single ${r4(s.single)} smoothed ${r4(s.smoothed)} seqslam ${r4(s.seqslam)} ece ${
          r4(s.ece)
        } ` +
          `lostOnUnknown ${r4(s.lostOnUnknown)} ${JSON.stringify(s.status)}`,
      );
    }
  } else {
    console.error("usage: filter_tune.ts dump <dataset> <cache> [--radius M] | replay <cache>... [--raw]");
    Deno.exit(2);
  }
}
