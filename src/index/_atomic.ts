/**
 * Atomic file replacement for index files: write to a temporary sibling, then rename over the target,
 * so a reader sees either the old file or the new one, never a half-written one.
 *
 * @module
 */
import { removeQuietly } from "../_fs.ts";

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
