/**
 * Reading a loop-closure dataset: `sequence.csv` (every frame in recording order) and `loops.csv`
 * (`query,match`: later frame `query` shows the same place as earlier frame `match`).
 * @module
 */
import { join } from "node:path";
import { DatasetError } from "../errors.ts";
import { readCsvFile } from "./csv.ts";
import { checkImagesExist, type DatasetPathOptions, imageListFromTable, requireDir } from "./_frames.ts";
import type { LoopDataset } from "./types.ts";

/** Options of {@link readLoopDataset}. */
export interface ReadLoopDatasetOptions extends DatasetPathOptions {
  /** Check that every listed image exists. Default true. */
  checkFiles?: boolean;
}

/**
 * Read a loop-closure dataset folder.
 *
 * @throws {DatasetError} missing folder/CSV, empty sequence, malformed CSV, unknown columns, rows naming missing
 *   files or paths that leave the folder, or images not in `sequence.csv`, or a loop whose `query` does not come after its `match`.
 *
 * @example
 * ```ts ignore
 * const ds = await readLoopDataset("../shared/data/rtabmap_samples_loop");
 * console.log(ds.frames.length, ds.loops.filter((l) => l.length > 0).length);
 * ```
 */
export async function readLoopDataset(
  dir: string,
  options: ReadLoopDatasetOptions = {},
): Promise<LoopDataset> {
  const root = await requireDir(dir);
  const seqTable = await readCsvFile(join(root, "sequence.csv"));
  const { images } = imageListFromTable(seqTable, root, undefined, options);
  if (options.checkFiles ?? true) await checkImagesExist(images, seqTable.file);
  const loopsTable = await readCsvFile(join(root, "loops.csv"));
  const { file, header } = loopsTable;
  const iq = header.indexOf("query"), im = header.indexOf("match");
  if (iq < 0 || im < 0 || header.length !== 2) {
    throw new DatasetError(
      `${file}:1: header must be 'query,match': found ${JSON.stringify(header.join(","))}`,
      {
        context: { file, line: 1 },
      },
    );
  }
  const index = new Map(images.map((f) => [f.image, f.index]));
  const sets = images.map(() => new Set<number>());
  for (const row of loopsTable.rows) {
    const [qName, mName] = [row.fields[iq], row.fields[im]];
    const q = index.get(qName), m = index.get(mName);
    const at = (what: string) =>
      new DatasetError(`${file}:${row.line}: ${what}`, { context: { file, line: row.line } });
    if (q === undefined) throw at(`query ${JSON.stringify(qName)} is not in sequence.csv`);
    if (m === undefined) throw at(`match ${JSON.stringify(mName)} is not in sequence.csv`);
    if (m >= q) {
      throw at(
        `query ${JSON.stringify(qName)} must come after match ${JSON.stringify(mName)} in sequence.csv`,
      );
    }
    sets[q].add(m);
  }
  return { dir: root, frames: images, loops: sets.map((s) => [...s].sort((a, b) => a - b)) };
}
