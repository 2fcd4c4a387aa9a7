/**
 * Plain image folders (no CSV): every image file directly inside, in natural order (1, 2, …, 10), evenly
 * spaced stamps. Also {@link readImageSource}, which accepts a dataset or a folder.
 * @module
 */
import { extname, join } from "node:path";
import { DatasetError } from "../errors.ts";
import { readCsvFile } from "./csv.ts";
import { checkImagesExist, type DatasetPathOptions, imageListFromTable, requireDir } from "./_frames.ts";
import { fileExists } from "../_fs.ts";
import type { DatasetImage } from "./types.ts";

/** File extensions (lower case, with dot) treated as images. */
export const IMAGE_EXTENSIONS: readonly string[] = [
  ".jpg",
  ".jpeg",
  ".png",
  ".webp",
  ".bmp",
  ".tif",
  ".tiff",
  ".gif",
  ".pgm",
  ".ppm",
];

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/**
 * Compare two names naturally: digit runs compare by value (`"2.jpg" < "10.jpg"`).
 *
 * @example
 * ```ts
 * import { naturalCompare } from "./image_folder.ts";
 * console.assert(["10.jpg", "2.jpg", "1.jpg"].sort(naturalCompare).join() === "1.jpg,2.jpg,10.jpg");
 * ```
 */
export function naturalCompare(a: string, b: string): number {
  return collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * List the images directly inside `dir` (by extension, case-insensitive), sorted naturally, with stamps
 * 0, 1, 2, … seconds.
 *
 * @throws {DatasetError} when the folder is missing or holds no image.
 *
 * @example
 * ```ts ignore
 * const frames = await readImageFolder("recordings/run1");
 * ```
 */
export async function readImageFolder(dir: string): Promise<DatasetImage[]> {
  const root = await requireDir(dir, "image folder");
  const names: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    if (entry.isFile && IMAGE_EXTENSIONS.includes(extname(entry.name).toLowerCase())) names.push(entry.name);
  }
  if (names.length === 0) {
    throw new DatasetError(
      `${root}: no image files (${IMAGE_EXTENSIONS.join(", ")}) in the folder: the dataset is empty`,
      { context: { file: root } },
    );
  }
  names.sort(naturalCompare);
  return names.map((image, index) => ({ index, image, path: join(root, image), stamp: index }));
}

/** What {@link readImageSource} found. */
export interface ImageSource {
  /** `database.csv`, `sequence.csv` or `folder`. */
  kind: "database" | "sequence" | "folder";
  images: DatasetImage[];
}

/**
 * The images of a map source: a retrieval dataset's `database.csv`, else a loop dataset's `sequence.csv`, else
 * the plain images of the folder. CSV image paths stay inside the folder (see `DatasetPathOptions`).
 */
export async function readImageSource(dir: string, options: DatasetPathOptions = {}): Promise<ImageSource> {
  const root = await requireDir(dir, "dataset or image folder");
  for (const [kind, name] of [["database", "database.csv"], ["sequence", "sequence.csv"]] as const) {
    const csv = join(root, name);
    if (await fileExists(csv)) {
      const table = await readCsvFile(csv);
      const { images } = imageListFromTable(table, root, undefined, options);
      await checkImagesExist(images, csv);
      return { kind, images };
    }
  }
  return { kind: "folder", images: await readImageFolder(root) };
}
