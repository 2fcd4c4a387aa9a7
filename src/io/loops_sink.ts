/**
 * Loop closures as CSV (`--loops-csv run.csv`) or JSON lines (a file name ending in `.jsonl`), one loop a line with
 * both stamps: `query_seq, query_stamp, match_place, match_stamp, score, confidence, inliers, query_image,
 * match_image`. Stamps are exact for sources that record them (see `StampBook` in `tum_sink.ts`): in CSV as
 * `sec.nnnnnnnnn`, in JSON lines as the same text (a JSON number cannot hold them).
 * @module
 */
import type { LoopClosureEvent, WaymarkEvent } from "../types.ts";
import { LineFile } from "./_line_file.ts";
import { StampBook } from "./tum_sink.ts";

const COLUMNS = [
  "query_seq",
  "query_stamp",
  "match_place",
  "match_stamp",
  "score",
  "confidence",
  "inliers",
  "query_image",
  "match_image",
];

function csvField(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Writes loop closure events; see the module doc. */
export class LoopsSink {
  private constructor(
    private readonly file: LineFile,
    private readonly stamps: StampBook,
    private readonly json: boolean,
  ) {}

  /** Create (truncate) the file; `.jsonl` selects JSON lines, anything else CSV with a header row. */
  static async create(path: string, stamps: StampBook = new StampBook()): Promise<LoopsSink> {
    const json = /\.jsonl$/i.test(path);
    const file = await LineFile.create(path);
    if (!json) file.push(COLUMNS.join(","));
    return new LoopsSink(file, stamps, json);
  }

  /** Loops written so far. */
  loops = 0;

  /** Take one event (anything but a loop is ignored). */
  write(e: WaymarkEvent): void {
    if (e.kind !== "loop") return;
    this.loops++;
    const row = this.row(e);
    this.file.push(
      this.json
        ? JSON.stringify(Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]])))
        : row.map((v) => csvField(v === null ? "" : String(v))).join(","),
    );
  }

  private row(e: LoopClosureEvent): (string | number | null)[] {
    const matchStamp = e.match.stamp ?? e.stamps[1];
    return [
      e.query.seq,
      this.stamps.format(e.query.stamp, e.query.seq),
      e.match.placeId,
      Number.isFinite(matchStamp) ? this.stamps.format(matchStamp) : null,
      e.score,
      e.confidence,
      e.inliers ?? null,
      e.query.image ?? null,
      e.match.image ?? null,
    ];
  }

  /** Write the rest and close the file. */
  close(): Promise<void> {
    return this.file.close();
  }
}
