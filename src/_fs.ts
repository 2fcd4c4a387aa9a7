/**
 * Private file-system helpers shared across areas (dataset readers, frame source specs, index and map
 * writers, evaluations' temporary folders).
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

/**
 * Remove a file or folder tree, ignoring "not found"; any other failure is thrown.
 *
 * @example
 * ```ts
 * import { removeQuietly } from "./_fs.ts";
 * await removeQuietly("./no/such/folder");
 * ```
 */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}
