/**
 * Private helper of the measurement scripts: the folder of a robustness-suite row's dataset in the suite's
 * cache (`waymark eval suite` derives and caches them; run it once with the rows first).
 * @module
 */
import { join } from "node:path";

/**
 * The row's cached dataset folder (the suite's naming: `<row>-<key>/ds`, the simulated routes by seed;
 * `rtabmap` is the shared set itself, `data`).
 */
export async function suiteRowDir(row: string, cache: string, data: string): Promise<string> {
  if (row === "rtabmap") return data;
  const dir = join(cache, "data");
  const entries = [...Deno.readDirSync(dir)].map((e) => e.name);
  if (row === "sim" || row === "sim-hard") {
    for (const e of entries.filter((n) => /^sim-[0-9a-f]{16}$/.test(n))) {
      const sim = JSON.parse(await Deno.readTextFile(join(dir, e, "sim.json")));
      if (sim.options.seed === (row === "sim" ? 1 : 2)) return join(dir, e);
    }
  } else {
    const e = entries.find((n) => n.startsWith(`${row}-`) && /^[0-9a-f]{16}$/.test(n.slice(row.length + 1)));
    if (e) return join(dir, e, "ds");
  }
  throw new Error(
    `no cached dataset for row ${row} under ${dir} (run waymark eval suite --rows ${row} once)`,
  );
}
