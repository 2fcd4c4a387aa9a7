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

/** A temporary sibling path of `path` (same folder, so the rename stays on one file system). */
export function tempSiblingPath(path: string): string {
  const nonce = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${path}.tmp-${Deno.pid}-${nonce}`;
}

/**
 * Run `write(tempPath)`, fsync the result, then rename it onto `path`. On failure the temporary file is removed
 * and `path` is left untouched.
 */
export async function writeAtomically(
  path: string,
  write: (tempPath: string) => Promise<void>,
): Promise<void> {
  const temp = tempSiblingPath(path);
  try {
    await write(temp);
    const file = await Deno.open(temp, { read: true, write: true });
    try {
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (err) {
    await removeQuietly(temp);
    throw err;
  }
}
