/**
 * Loads hnswlib-node's native addon.
 *
 * Normally `hnswlib-node` resolves from the `node_modules` next to the `deno.json` in use, where
 * `deno task setup` built its addon. A command installed with `deno install -g --config deno.json` runs with a
 * copy of that configuration and a fresh `node_modules` in which the addon was never built (Deno does not run
 * node-gyp); there the addon that `deno task setup` built in this checkout's `node_modules` is loaded instead.
 * When neither exists, the error says how to build it.
 *
 * @module
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { IndexError } from "../errors.ts";

/** The hnswlib-node module (`HierarchicalNSW`, `BruteforceSearch`, …). */
export type Hnswlib = typeof import("hnswlib-node");

async function checkoutAddon(): Promise<string | null> {
  const base = new URL("../../node_modules/.deno/", import.meta.url);
  if (base.protocol !== "file:") return null;
  try {
    for await (const e of Deno.readDir(base)) {
      if (!e.isDirectory || !e.name.startsWith("hnswlib-node@")) continue;
      const addon = new URL(`${e.name}/node_modules/hnswlib-node/build/Release/addon.node`, base);
      try {
        await Deno.stat(addon);
        return fileURLToPath(addon);
      } catch { /* not built */ }
    }
  } catch { /* no node_modules next to the sources */ }
  return null;
}

async function loadHnswlib(): Promise<Hnswlib> {
  let first: unknown;
  try {
    const mod = await import("hnswlib-node");
    return (mod.default ?? mod) as Hnswlib;
  } catch (err) {
    first = err;
  }
  const addon = await checkoutAddon();
  if (addon !== null) {
    try {
      return createRequire(import.meta.url)(addon) as Hnswlib;
    } catch (err) {
      first = err;
    }
  }
  throw new IndexError(
    `Cannot load hnswlib-node's native addon (${
      (first as Error)?.message?.split("\n")[0]
    }): run 'deno task setup' in the Waymark checkout (needs python3, make and g++)`,
    { cause: first },
  );
}

/** hnswlib-node, loaded once. */
export const hnswlib: Hnswlib = await loadHnswlib();
