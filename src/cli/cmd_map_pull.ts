/**
 * `waymark map pull <dir>`: refresh a fleet map's local cache from its shared table now (and write the
 * robot's queued places).
 * @module
 */
import { readMapManifest } from "../map/map_loader.ts";
import { openMapFleet } from "../map/map_fleet.ts";
import { EXIT_FAILURE, EXIT_OK, intOption, parseCommand } from "./_common.ts";

/** One-line description for `waymark --help`. */
export const summary = "refresh a fleet map's local cache from its shared table now; write queued places";

const HELP = `waymark map pull <dir> [options]

For a map built with 'waymark map build --index pglite:<dir>|postgres://...': write the robot's queued
places (its outbox in <dir>/fleet/<robot>/) to the shared table, pull every place of the table that the
robot's local cache lacks (other robots' keyframes, later sessions), and save the cache, so that the next
'waymark localize --map <dir>' answers from them even without the database. Exit 1 when the database
cannot be reached (the cache and the outbox are kept as they were).

Options:
  --robot ID          the robot whose cache and outbox to refresh       default: the map's builder
  --timeout-ms N      a database operation slower than this is an outage   default 3000 (pglite: 30000)
  --json              print the result as one JSON object (last line of stdout)
  -h, --help          this help
`;

/** Run `waymark map pull`. */
export async function run(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    name: "map pull",
    help: HELP,
    positionals: { count: 1, what: "one map folder" },
    options: {
      robot: { type: "string" },
      "timeout-ms": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values, positionals } = parsed;
  const timeoutMs = values["timeout-ms"] === undefined
    ? undefined
    : intOption("pull the map", "timeout-ms", values["timeout-ms"], 0);
  const dir = positionals[0];
  const manifest = await readMapManifest(dir);
  const fleet = await openMapFleet(dir, manifest, { robot: values.robot, refreshMs: 0, timeoutMs });
  const s = fleet.stats();
  await fleet.close();
  const line = {
    map: dir,
    table: manifest.fleet!.target,
    robot: fleet.robot,
    state: s.state,
    written: s.written,
    pulled: s.pulled,
    queued: s.queued,
    cache: s.cacheSize,
    ...(s.lastError ? { error: s.lastError } : {}),
    ...(s.cacheNote ? { cache_note: s.cacheNote } : {}),
  };
  if (values.json) console.log(JSON.stringify(line));
  else {
    console.log(
      `${dir}: robot '${line.robot}', database ${s.state}: ${s.written} places written, ${s.pulled} pulled, ` +
        `${s.queued} queued; the cache holds ${s.cacheSize} places`,
    );
    if (s.lastError) console.error(`waymark: shared table offline: ${s.lastError}`);
  }
  return s.state === "online" ? EXIT_OK : EXIT_FAILURE;
}
