/**
 * Makes an "off-map" variant of a simulated dataset for the place filter's unknown-place tests: copies
 * `database.csv`, `queries.csv`, `matches.csv` (and links `images/`) into a new folder, dropping the database
 * rows in each given block `[from, to)`, and the `matches.csv` rows that named them. Queries whose only true
 * matches were dropped have no true match in the map (`queries_without_match` of `waymark eval stream`).
 *
 * Run: `deno run -A scripts/filter_offmap.ts /tmp/sim /tmp/sim_off 400:550 [800:860 ...]`
 *
 * @module
 */
import { invalid } from "../src/errors.ts";

function splitLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length > 0);
}

if (import.meta.main) {
  const [src, dst, ...blocks] = Deno.args;
  if (!src || !dst || blocks.length === 0) {
    console.error("usage: filter_offmap.ts <dataset> <out> <from:to>...");
    Deno.exit(2);
  }
  const ranges = blocks.map((b) => {
    const [from, to] = b.split(":").map(Number);
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to > from)) {
      throw invalid("make off-map dataset", "block", "from:to with integers 0 <= from < to", b);
    }
    return [from, to] as const;
  });
  const db = splitLines(await Deno.readTextFile(`${src}/database.csv`));
  const header = db[0];
  const rows = db.slice(1);
  const dropped = new Set<string>();
  const kept = rows.filter((line, i) => {
    const drop = ranges.some(([a, b]) => i >= a && i < b);
    if (drop) dropped.add(line.split(",")[0]);
    return !drop;
  });
  await Deno.mkdir(dst, { recursive: true });
  await Deno.writeTextFile(`${dst}/database.csv`, [header, ...kept].join("\n") + "\n");
  await Deno.copyFile(`${src}/queries.csv`, `${dst}/queries.csv`);
  let matches = 0;
  try {
    const m = splitLines(await Deno.readTextFile(`${src}/matches.csv`));
    const keptM = m.slice(1).filter((l) => !dropped.has(l.split(",")[1]));
    matches = keptM.length;
    await Deno.writeTextFile(`${dst}/matches.csv`, [m[0], ...keptM].join("\n") + "\n");
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  try {
    await Deno.symlink(await Deno.realPath(`${src}/images`), `${dst}/images`);
  } catch (e) {
    if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
  }
  console.log(`${dst}: ${kept.length} database rows (dropped ${dropped.size}), ${matches} matches`);
}
