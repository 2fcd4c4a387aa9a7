/**
 * Private file-system checks shared across areas (dataset readers, frame source specs).
 *
 * @module
 */

/**
 * True when `path` exists and is a regular file (symlinks followed); false when it is missing, is a directory
 * or cannot be stat'ed.
 *
 * @example
 * ```ts
 * import { fileExists } from "./_fs.ts";
 * console.assert(!(await fileExists("./no/such/file.csv")));
 * ```
 */
export async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
