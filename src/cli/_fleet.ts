/**
 * Fleet maps in the streaming commands (`localize`, `slam`): open the robot's view of the shared table, print
 * every change of the database's state, and a summary at the end.
 * @module
 */
import { invalid, type ValidationError } from "../errors.ts";
import type { FleetMap } from "../map/fleet_map.ts";
import type { MapManifest } from "../map/format.ts";
import { openMapFleet } from "../map/map_fleet.ts";

/**
 * Open the fleet view of a map for `robot` (default: the map's builder). The database's state shows as a line
 * on stderr at open and at each change (`offline` with the error: the run goes on with the local cache and the
 * outbox; `online` again when it returns).
 */
export async function openCliFleet(
  dir: string,
  manifest: MapManifest,
  options: { robot?: string; session?: string } = {},
): Promise<FleetMap> {
  const fleet = await openMapFleet(dir, manifest, options);
  const s = fleet.stats();
  console.error(
    `waymark: shared table ${manifest.fleet!.target} as robot '${fleet.robot}': database ${s.state}` +
      (s.lastError ? ` (${s.lastError}): running on the local cache` : "") +
      `; the cache holds ${s.cacheSize} places, ${s.queued} queued` +
      (s.cacheNote ? `; ${s.cacheNote}` : ""),
  );
  fleet.onEvent((e) => {
    if (e.type !== "state" || e.state === "closed") return;
    console.error(
      e.state === "offline"
        ? `waymark: shared table offline (${e.error ?? "unknown error"}): running on the local cache, ` +
          `new places queued in the outbox`
        : `waymark: shared table ${e.state}: queued places replayed`,
    );
  });
  return fleet;
}

/** Close the fleet view (a last sync, the cache saved) and print its counters. */
export async function closeCliFleet(fleet: FleetMap): Promise<void> {
  await fleet.close();
  const s = fleet.stats();
  console.error(
    `waymark: shared table: ${s.written} places written, ${s.pulled} pulled, ${s.queued} queued in the outbox, ` +
      `${s.outages} outage(s)${s.lastError ? `, last error: ${s.lastError}` : ""}`,
  );
}

/** The error for `--robot` given with a map that is not a fleet map. */
export function robotWithoutFleet(action: string, robot: string): ValidationError {
  return invalid(action, "robot", "given for a fleet map (built with --index pglite:|postgres://)", robot);
}
