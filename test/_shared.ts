/**
 * Locating `../shared` (real datasets, reference vectors, rosbridge recordings). A user's clone has none:
 * tests that need it are skipped with a clear message.
 * @module
 */
const here = new URL(".", import.meta.url).pathname;

/** Absolute path of the shared folder beside the checkout, or null when absent. */
export const SHARED_DIR: string | null = (() => {
  const candidates = [Deno.env.get("WAYMARK_SHARED"), `${here}../../shared`].filter((p): p is string => !!p);
  for (const p of candidates) {
    try {
      if (Deno.statSync(p).isDirectory) return Deno.realPathSync(p);
    } catch { /* absent */ }
  }
  return null;
})();

let warned = false;
/** Test options that skip (with one printed reason) when ../shared is absent. */
export function needsShared(): { ignore: boolean } {
  if (SHARED_DIR === null && !warned) {
    warned = true;
    console.warn("[waymark tests] ../shared is absent: tests that need shared data are skipped");
  }
  return { ignore: SHARED_DIR === null };
}

/** Path inside the shared folder (only valid when SHARED_DIR is not null). */
export function sharedPath(rel: string): string {
  return `${SHARED_DIR}/${rel}`;
}
