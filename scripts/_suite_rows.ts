/**
 * Private helper of the measurement scripts: the folder of a robustness-suite row's dataset in the suite's
 * cache (`waymark eval suite` derives and caches them; run it once with the rows first).
 * @module
 */
import { join } from "node:path";

async function isDir(p: string): Promise<boolean> {
  try {
    return (await Deno.stat(p)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * The row's cached dataset folder (the suite's naming: `<row>-<key>/ds`, or `<row>-<key>` for the aliased loop
 * sequences; the simulated routes by seed, `loops-sim` being the `sim` route; `rtabmap` and `loops-rtabmap`
 * are the shared set itself, `data`).
 */
export async function suiteRowDir(row: string, cache: string, data: string): Promise<string> {
  if (row === "rtabmap" || row === "loops-rtabmap") return data;
  const dir = join(cache, "data");
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  if (row === "sim" || row === "sim-hard" || row === "loops-sim") {
    for (const e of entries.filter((n) => /^sim-[0-9a-f]{16}$/.test(n))) {
      const sim = JSON.parse(await Deno.readTextFile(join(dir, e, "sim.json")));
      if (sim.options.seed === (row === "sim-hard" ? 2 : 1)) return join(dir, e);
    }
  } else {
    const e = entries.find((n) => n.startsWith(`${row}-`) && /^[0-9a-f]{16}$/.test(n.slice(row.length + 1)));
    // Derived rows keep their dataset in `ds/`; the aliased loop sequences are the folder itself.
    if (e) return (await isDir(join(dir, e, "ds"))) ? join(dir, e, "ds") : join(dir, e);
  }
  throw new Error(
    `no cached dataset for row ${row} under ${dir} (run waymark eval suite --rows ${row} once)`,
  );
}
