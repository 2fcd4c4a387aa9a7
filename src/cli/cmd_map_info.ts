/**
 * `waymark map info <dir>`: what a map folder holds, and whether its files are intact.
 * @module
 */
import { join } from "node:path";
import { MAP_FILES, MUTABLE_FILES } from "../map/format.ts";
import { checkMapFiles, readMapManifest } from "../map/map_loader.ts";
import { scanJournal } from "../map/journal.ts";
import { EXIT_FAILURE, EXIT_OK, parseCommand } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary = "show a map folder's counts, model, index, sizes and checksum status";

const HELP = `waymark map info <dir> [options]

Print what a map folder holds: places, skipped images, descriptor size, model (name, id, bundled),
index kind and parameters, creation time, generation, each file with its size, and whether every file
matches its SHA-256 in the manifest, and whether the keyframe journal is intact. Exit code 1 when a file
is missing or corrupt, or the journal is damaged (then 'waymark map repair <dir>' salvages it).

Options:
  --no-verify         check sizes only (skip SHA-256)
  --json              print one JSON object (last line of stdout)
  -h, --help          this help
`;

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

/** Run `waymark map info`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "map info",
    help: HELP,
    positionals: { count: 1, what: "one map folder" },
    options: {
      "no-verify": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const dir = positionals[0];
  const m = await readMapManifest(dir);
  const checks = await checkMapFiles(dir, m, !values["no-verify"]);
  const bad = checks.filter((c) => !c.ok);
  const extra: { path: string; size: number; note: string }[] = [];
  let journalDamaged = false;
  for (const f of MUTABLE_FILES) {
    let size: number;
    try {
      size = (await Deno.stat(join(dir, f))).size;
    } catch {
      continue; // absent
    }
    let note = "";
    if (f === MAP_FILES.journal) {
      const j = scanJournal(await Deno.readFile(join(dir, f)), join(dir, f));
      const damagedBytes = j.damaged.reduce((s, d) => s + d.length, 0);
      note = `${j.records.length} keyframes not yet compacted${
        damagedBytes === 0
          ? ""
          : j.tornTail
          ? `, ${damagedBytes} B torn tail (an incomplete last record: dropped on the next open)`
          : `; DAMAGED: ${damagedBytes} B in ${j.damaged.length} stretch(es): run 'waymark map repair ${dir}'`
      }`;
      if (damagedBytes > 0 && !j.tornTail) journalDamaged = true;
    }
    extra.push({ path: f, size, note });
  }
  const totalBytes = m.files.reduce((s, f) => s + f.size, 0) + extra.reduce((s, f) => s + f.size, 0);
  if (values.json) {
    console.log(JSON.stringify({
      dir,
      version: m.version,
      generation: m.generation,
      created: m.created,
      places: m.counts.places,
      skipped: m.counts.skipped,
      dim: m.counts.dim,
      model: m.model,
      index: m.index,
      ...(m.fleet ? { fleet: m.fleet } : {}),
      bytes: totalBytes,
      files: m.files.map((f) => ({ ...f, ...checks.find((c) => c.path === f.path) })),
      unchecked: extra,
      checksums: values["no-verify"] ? "skipped" : bad.length === 0 ? "ok" : "bad",
      journal: journalDamaged ? "damaged" : "ok",
      ok: bad.length === 0 && !journalDamaged,
    }));
  } else {
    const lines = [
      `map        ${dir}`,
      `format     waymark-map v${m.version}, generation ${m.generation}, created ${m.created}`,
      `places     ${m.counts.places} (${m.counts.skipped} images skipped at build)`,
      `model      ${m.model.name} id ${m.model.id} (${m.counts.dim}-d, ${
        m.model.bundled ? "bundled in model/" : `external${m.model.source ? `: ${m.model.source}` : ""}`
      })`,
      `index      ${m.index.kind} ${JSON.stringify(m.index.params)}`,
      ...(m.fleet
        ? [`shared     ${m.fleet.target} (places of robot '${m.fleet.robot}', session ${m.fleet.session})`]
        : []),
      `size       ${human(totalBytes)}`,
      `files`,
      ...m.files.map((f) => {
        const c = checks.find((x) => x.path === f.path)!;
        const status = c.ok ? (values["no-verify"] ? "size ok" : "ok") : `BAD: ${c.problem}`;
        return `  ${f.path.padEnd(28)} ${human(f.size).padStart(10)}  ${status}`;
      }),
      ...extra.map((f) =>
        `  ${f.path.padEnd(28)} ${human(f.size).padStart(10)}  (append-only${f.note ? `; ${f.note}` : ""})`
      ),
      `checksums  ${
        values["no-verify"] ? "not verified (--no-verify)" : bad.length === 0 ? "all ok" : `${bad.length} bad`
      }`,
    ];
    console.log(lines.join("\n"));
  }
  return bad.length === 0 && !journalDamaged ? EXIT_OK : EXIT_FAILURE;
}
