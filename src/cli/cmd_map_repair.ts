/**
 * `waymark map repair <dir>`: salvage a damaged keyframe journal (keep every valid record, move the damaged
 * bytes aside, renumber place ids so that they continue the map's).
 * @module
 */
import { repairMap } from "../map/repair.ts";
import { EXIT_OK, parseCommand } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary =
  "salvage a damaged keyframe journal: keep every valid record, move damaged bytes aside";

const HELP = `waymark map repair <dir> [options]

Salvage the keyframe journal (journal.wal) of a map folder after damage that recovery refuses to guess
about ("record N is damaged and M valid record(s) follow it"). Every valid record is kept, in order; the
damaged bytes are moved, back to back, to <dir>/journal.wal.damaged-<time> (kept with the map); records
whose place id no longer continues the map's (a damaged record in between, or two writers interleaved)
are renumbered; a damaged header is rebuilt from the map's manifest. The original bytes are all kept.
Takes the map's writer lock. Prints what it did; exit 0 also when there is nothing to repair.

Options:
  --json              print the result as one JSON object (last line of stdout)
  -h, --help          this help
`;

/** Run `waymark map repair`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "map repair",
    help: HELP,
    positionals: { count: 1, what: "one map folder" },
    options: {
      json: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const r = await repairMap(positionals[0]);
  if (values.json) {
    console.log(JSON.stringify({
      journal: r.journal,
      action: r.action,
      valid_records: r.validRecords,
      damaged: r.damaged,
      damaged_bytes: r.damagedBytes,
      damaged_file: r.damagedFile ?? null,
      renumbered: r.renumbered,
      header_rebuilt: r.headerRebuilt,
    }));
    return EXIT_OK;
  }
  if (!r.hasJournal) console.log(`${r.journal}: no journal: nothing to repair`);
  else if (r.action === "none") {
    console.log(`${r.journal}: ${r.validRecords} valid record(s), no damage: nothing to repair`);
  } else {
    const spans = r.damaged.map((d) => `${d.length} B at byte ${d.offset}`).join(", ");
    console.log(
      [
        `${r.journal}: kept ${r.validRecords} valid record(s)`,
        ...(r.headerRebuilt ? ["rebuilt the damaged header from the map's manifest (dim, model id)"] : []),
        ...(r.damagedFile ? [`moved ${r.damagedBytes} damaged byte(s) (${spans}) to ${r.damagedFile}`] : []),
        ...(r.renumbered > 0
          ? [`renumbered ${r.renumbered} record(s) so that place ids continue the map's from ${r.firstId}`]
          : []),
      ].join("\n"),
    );
  }
  return EXIT_OK;
}
