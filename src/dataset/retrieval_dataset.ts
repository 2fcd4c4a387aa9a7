/**
 * Reading a retrieval / localization dataset: `database.csv`, `queries.csv`, and `matches.csv` or positions
 * within a radius (`../shared/docs/dataset_format.md`).
 * @module
 */
import { join } from "node:path";
import { DatasetError, requireRange } from "../errors.ts";
import { type CsvTable, readCsvFile } from "./csv.ts";
import { checkImagesExist, type DatasetPathOptions, imageListFromTable, requireDir } from "./_frames.ts";
import { fileExists } from "../_fs.ts";
import { pointsWithinRadius } from "./geo.ts";
import type { DatasetImage, RetrievalDataset } from "./types.ts";

/** Options of {@link readRetrievalDataset}. */
export interface ReadRetrievalDatasetOptions extends DatasetPathOptions {
  /** Metres within which a database image truly matches a query, when ground truth comes from positions. Default 25. */
  radius?: number;
  /** Check that every listed image exists. Default true. */
  checkFiles?: boolean;
}

/**
 * Read a retrieval dataset folder. Ground truth comes from `matches.csv` when present, else from positions
 * (both lists need them) within `radius` metres. `lat,lon` positions are projected to local metres about the
 * first database row, shared by the queries.
 *
 * @throws {DatasetError} a missing folder or CSV, an empty list, malformed CSV, unknown columns, rows naming
 *   missing files or paths that leave the folder, `matches.csv` naming images not in the lists, or no way to
 *   obtain ground truth.
 *
 * @example
 * ```ts ignore
 * const ds = await readRetrievalDataset("../shared/data/rtabmap_samples_loop");
 * console.log(ds.database.length, ds.queries.length, ds.truth[0]);
 * ```
 */
export async function readRetrievalDataset(
  dir: string,
  options: ReadRetrievalDatasetOptions = {},
): Promise<RetrievalDataset> {
  const radius = requireRange("read retrieval dataset", "radius", options.radius ?? 25, 0, Number.MAX_VALUE);
  const root = await requireDir(dir);
  const dbTable = await readCsvFile(join(root, "database.csv"));
  const qTable = await readCsvFile(join(root, "queries.csv"));
  const db = imageListFromTable(dbTable, root, undefined, options);
  const q = imageListFromTable(qTable, root, db.origin, options);
  if (options.checkFiles ?? true) {
    await checkImagesExist(db.images, dbTable.file);
    await checkImagesExist(q.images, qTable.file);
  }
  const matchesPath = join(root, "matches.csv");
  if (await fileExists(matchesPath)) {
    const truth = truthFromMatches(await readCsvFile(matchesPath), db.images, q.images);
    return { dir: root, database: db.images, queries: q.images, truth, groundTruth: "matches", radius };
  }
  if (db.positions === "none" || q.positions === "none") {
    throw new DatasetError(
      `${root}: no ground truth: give matches.csv, or positions (x,y or lat,lon) in both database.csv and queries.csv`,
      { context: { file: root } },
    );
  }
  if (db.positions !== q.positions) {
    throw new DatasetError(
      `${root}: database.csv has ${db.positions} positions but queries.csv has ${q.positions}: use the same kind`,
      { context: { file: root } },
    );
  }
  const truth = pointsWithinRadius(
    q.images.map((im) => im.position!),
    db.images.map((im) => im.position!),
    radius,
  );
  return { dir: root, database: db.images, queries: q.images, truth, groundTruth: "positions", radius };
}

/** Turn `matches.csv` rows (query,database image paths) into per-query ascending database indices. */
export function truthFromMatches(
  table: CsvTable,
  database: DatasetImage[],
  queries: DatasetImage[],
): number[][] {
  const { file, header } = table;
  const iq = header.indexOf("query"), id = header.indexOf("database");
  const unknown = header.filter((h) => h !== "query" && h !== "database");
  if (iq < 0 || id < 0 || unknown.length > 0) {
    throw new DatasetError(
      `${file}:1: header must be 'query,database': found ${JSON.stringify(header.join(","))}`,
      {
        context: { file, line: 1 },
      },
    );
  }
  const dbIndex = new Map(database.map((im) => [im.image, im.index]));
  const qIndex = new Map(queries.map((im) => [im.image, im.index]));
  const sets = queries.map(() => new Set<number>());
  for (const row of table.rows) {
    const qi = qIndex.get(row.fields[iq]);
    if (qi === undefined) {
      throw new DatasetError(
        `${file}:${row.line}: query ${JSON.stringify(row.fields[iq])} is not in queries.csv`,
        {
          context: { file, line: row.line },
        },
      );
    }
    const di = dbIndex.get(row.fields[id]);
    if (di === undefined) {
      throw new DatasetError(
        `${file}:${row.line}: database image ${JSON.stringify(row.fields[id])} is not in database.csv`,
        { context: { file, line: row.line } },
      );
    }
    sets[qi].add(di);
  }
  return sets.map((s) => [...s].sort((a, b) => a - b));
}
