/**
 * Private: turn an image-list CSV (`image[,stamp][,x,y | ,lat,lon]`) into DatasetImage rows, and check that
 * the named files exist.
 * @module
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { DatasetError } from "../errors.ts";
import { fileExists } from "../_fs.ts";
import type { CsvTable } from "./csv.ts";
import { type GeoOrigin, latLonToLocal } from "./geo.ts";
import type { DatasetImage } from "./types.ts";

/** Columns an image list may have. */
export const IMAGE_LIST_COLUMNS = ["image", "stamp", "x", "y", "lat", "lon"] as const;

/** Frames parsed from one CSV, with the raw lat/lon of the first row when the list is geographic. */
export interface ParsedImageList {
  images: DatasetImage[];
  /** Geographic origin used (the first row of this list, or the one passed in). */
  origin?: GeoOrigin;
  /** `xy`, `latlon` or `none`. */
  positions: "xy" | "latlon" | "none";
}

function err(file: string, line: number, problem: string): DatasetError {
  return new DatasetError(`${file}:${line}: ${problem}`, { context: { file, line } });
}

function num(file: string, line: number, column: string, raw: string): number {
  const v = raw === "" ? NaN : Number(raw);
  if (!Number.isFinite(v)) {
    throw err(file, line, `'${column}' must be a finite number: current value is ${JSON.stringify(raw)}`);
  }
  return v;
}

/** How image paths of a dataset CSV may be written. */
export interface DatasetPathOptions {
  /**
   * Accept absolute image paths outside the dataset folder. Default: false, unless the environment variable
   * `WAYMARK_ALLOW_ABSOLUTE_PATHS` is `1` (the CLI's explicit opt-in). Relative paths that leave the folder
   * (`../x.jpg`) are refused either way.
   */
  allowAbsolutePaths?: boolean;
}

/** The effective `allowAbsolutePaths`: the option, else the environment variable. */
export function absolutePathsAllowed(options: DatasetPathOptions = {}): boolean {
  if (options.allowAbsolutePaths !== undefined) return options.allowAbsolutePaths;
  try {
    return Deno.env.get("WAYMARK_ALLOW_ABSOLUTE_PATHS") === "1";
  } catch {
    return false; // no permission to read the environment: the default
  }
}

/**
 * Resolve an image path of a dataset CSV inside the dataset folder `dir` (absolute).
 * @throws {DatasetError} naming the file, line and path when it leaves the folder (a relative path with `..`,
 *   or an absolute path elsewhere unless `allowAbsolute`).
 */
export function resolveImagePath(
  file: string,
  line: number,
  dir: string,
  image: string,
  allowAbsolute: boolean,
): string {
  const path = isAbsolute(image) ? resolve(image) : resolve(join(dir, image));
  const rel = relative(dir, path);
  const inside = rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
  if (inside) return path;
  if (isAbsolute(image)) {
    if (allowAbsolute) return path;
    throw err(
      file,
      line,
      `image path ${
        JSON.stringify(image)
      } is absolute and outside the dataset folder ${dir}: paths are relative to the dataset folder ` +
        `(allow absolute paths explicitly with allowAbsolutePaths, or WAYMARK_ALLOW_ABSOLUTE_PATHS=1 for the CLI)`,
    );
  }
  throw err(
    file,
    line,
    `image path ${JSON.stringify(image)} leaves the dataset folder ${dir}: paths must stay inside it`,
  );
}

/**
 * Interpret an image-list table. `origin` fixes the geographic origin (so that the database and queries of one
 * dataset share a frame); otherwise the first row is the origin. Image paths are resolved inside `dir`
 * (see {@link resolveImagePath}).
 */
export function imageListFromTable(
  table: CsvTable,
  dir: string,
  origin?: GeoOrigin,
  options: DatasetPathOptions = {},
): ParsedImageList {
  const allowAbsolute = absolutePathsAllowed(options);
  const root = resolve(dir);
  const { file, header } = table;
  const unknown = header.filter((h) => !(IMAGE_LIST_COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0) {
    throw err(
      file,
      1,
      `unknown column(s) ${unknown.map((u) => `'${u}'`).join(", ")}: known columns are ${
        IMAGE_LIST_COLUMNS.join(", ")
      }`,
    );
  }
  const col = (name: string) => header.indexOf(name);
  const iImage = col("image"), iStamp = col("stamp");
  const iX = col("x"), iY = col("y"), iLat = col("lat"), iLon = col("lon");
  if (iImage < 0) throw err(file, 1, `missing the 'image' column (header is ${header.join(",")})`);
  if ((iX < 0) !== (iY < 0)) throw err(file, 1, "columns 'x' and 'y' must come together");
  if ((iLat < 0) !== (iLon < 0)) throw err(file, 1, "columns 'lat' and 'lon' must come together");
  if (iX >= 0 && iLat >= 0) throw err(file, 1, "give positions as either x,y or lat,lon, not both");
  if (table.rows.length === 0) {
    throw new DatasetError(`${file}: no images listed (the dataset is empty)`, { context: { file } });
  }
  const positions = iX >= 0 ? "xy" : iLat >= 0 ? "latlon" : "none";
  let geo = origin;
  const seen = new Map<string, number>();
  const images: DatasetImage[] = table.rows.map((row, index) => {
    const image = row.fields[iImage];
    if (image === "") throw err(file, row.line, "empty 'image' field");
    const prev = seen.get(image);
    if (prev !== undefined) {
      throw err(file, row.line, `image ${JSON.stringify(image)} is listed twice (first on line ${prev})`);
    }
    seen.set(image, row.line);
    const stamp = iStamp >= 0 ? num(file, row.line, "stamp", row.fields[iStamp]) : index;
    const out: DatasetImage = {
      index,
      image,
      path: resolveImagePath(file, row.line, root, image, allowAbsolute),
      stamp,
    };
    if (positions === "xy") {
      out.position = {
        x: num(file, row.line, "x", row.fields[iX]),
        y: num(file, row.line, "y", row.fields[iY]),
      };
    } else if (positions === "latlon") {
      const lat = num(file, row.line, "lat", row.fields[iLat]),
        lon = num(file, row.line, "lon", row.fields[iLon]);
      if (lat < -90 || lat > 90 || lon < -180 || lon > 180) {
        throw err(file, row.line, `lat,lon out of range: ${lat},${lon}`);
      }
      geo ??= { lat, lon };
      out.position = latLonToLocal(lat, lon, geo);
    }
    return out;
  });
  return { images, origin: geo, positions };
}

/**
 * Throw a {@link DatasetError} when some listed images do not exist as files, naming the CSV and the first few.
 */
export async function checkImagesExist(
  images: readonly DatasetImage[],
  file: string,
  show = 5,
): Promise<void> {
  const missing: DatasetImage[] = [];
  const BATCH = 64;
  for (let i = 0; i < images.length; i += BATCH) {
    const slice = images.slice(i, i + BATCH);
    const ok = await Promise.all(slice.map((im) => fileExists(im.path)));
    ok.forEach((good, k) => {
      if (!good) missing.push(slice[k]);
    });
  }
  if (missing.length === 0) return;
  const list = missing.slice(0, show).map((m) => m.image).join(", ");
  const more = missing.length > show ? ` and ${missing.length - show} more` : "";
  throw new DatasetError(
    `${file}: ${missing.length} of ${images.length} listed image(s) do not exist: ${list}${more}`,
    { context: { file, missing: missing.map((m) => m.image) } },
  );
}

/** Throw a {@link DatasetError} unless `dir` is an existing directory. */
export async function requireDir(dir: string, what = "dataset folder"): Promise<string> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.stat(dir);
  } catch (cause) {
    throw new DatasetError(`${dir}: ${what} not found`, { cause, context: { file: dir } });
  }
  if (!st.isDirectory) {
    throw new DatasetError(`${dir}: ${what} is not a directory`, { context: { file: dir } });
  }
  return resolve(dir);
}
