/**
 * A map folder whose places live in a shared Postgres + pgvector table (`manifest.fleet`, a {@link MapFleetRef}):
 * the glue between the map format and {@link FleetMap}.
 *
 * - `waymark map build --index <target>` writes an ordinary map (descriptors, local HNSW index: the map still
 *   loads without the database) whose manifest records the target, then adds every place to the table under
 *   the builder's robot id and a session of its own (`publishMapPlaces`).
 * - Each robot keeps its outbox and local cache in `<map>/fleet/<robot>/` (`openMapFleet`), so several robot
 *   ids can share one map folder copy without mixing their outboxes.
 * - `fleetMapView` turns the robot's cache into what the live pipeline reads: the map's own places (with
 *   their positions and images) followed by every other place of the table the cache holds (other robots'
 *   keyframes, the map's later SLAM sessions), and an index that answers from the cache.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { MapFormatError } from "../errors.ts";
import { formatIndexTarget, openConnection, parseIndexTarget } from "../index/pg_connection.ts";
import type { SearchHit, SearchOptions, VectorIndex } from "../index/vector_index.ts";
import type { PlaceMeta } from "../types.ts";
import { type FleetEvent, FleetMap, type FleetPlace, type FleetStats } from "./fleet_map.ts";
import { MAP_FILES, type MapFleetRef, type MapManifest } from "./format.ts";

/** Robot id of the map's own places when `--robot` is not given. */
export const DEFAULT_MAP_ROBOT = "map";

/**
 * The manifest entry for a target string: parsed (a password is refused), a `pglite:` folder made absolute
 * (the map is used from other working directories), written back without a password.
 * @throws IndexError on a bad target or one that carries a password.
 */
export function mapFleetRef(target: string, robot: string, session: string): MapFleetRef {
  const t = parseIndexTarget(target);
  const abs = t.kind === "pglite" && t.dataDir !== null ? { ...t, dataDir: resolve(t.dataDir) } : t;
  return { target: formatIndexTarget(abs), robot, session };
}

/** True when `value` names a shared table (`pglite:...`, `postgres://...`) rather than a local index kind. */
export function isFleetTarget(value: string | undefined): value is string {
  return value !== undefined && /^(pglite:|postgres(ql)?:\/\/)/.test(value);
}

/** Options of {@link openMapFleet}. */
export interface OpenMapFleetOptions {
  /** Robot id (default: the manifest's, i.e. the builder's). */
  robot?: string;
  /** Session id (default: the ISO time of opening). */
  session?: string;
  /** Background sync period, ms (0: only on demand). Default 5000. */
  refreshMs?: number;
  /** A database operation slower than this is an outage, ms. Default 3000 (a `pglite:` target: 30000). */
  timeoutMs?: number;
}

const PGLITE_TIMEOUT_MS = 30_000;

/**
 * Open the fleet view of a map for one robot: its outbox and cache in `<map>/fleet/<robot>/`, the table of
 * `manifest.fleet`, the map's dimension and model id (a table of another dimension or model is refused, naming
 * both). A database that cannot be reached leaves the map `offline` and usable on its cache.
 * @throws MapFormatError when the map has no `fleet` entry; IndexError when the table does not match.
 */
export async function openMapFleet(
  mapDir: string,
  manifest: MapManifest,
  options: OpenMapFleetOptions = {},
): Promise<FleetMap> {
  const ref = manifest.fleet;
  if (!ref) {
    throw new MapFormatError(
      `${mapDir}: the map has no shared place table (build it with 'waymark map build --index pglite:<dir>' ` +
        `or '--index postgres://...')`,
      { context: { file: join(mapDir, MAP_FILES.manifest), field: "fleet" } },
    );
  }
  const target = parseIndexTarget(ref.target);
  const robot = options.robot ?? ref.robot;
  return await FleetMap.open({
    dir: join(mapDir, MAP_FILES.fleetDir, robot),
    robot,
    session: options.session,
    dim: manifest.counts.dim,
    modelId: manifest.model.id,
    table: target.table,
    connect: () => openConnection(target),
    refreshMs: options.refreshMs,
    // An embedded PGlite is no network: its first operation starts the database itself (WebAssembly), which
    // takes seconds on a loaded machine and must not read as an outage.
    timeoutMs: options.timeoutMs ?? (target.kind === "pglite" ? PGLITE_TIMEOUT_MS : undefined),
  });
}

/**
 * Add the map's places (row i of `descriptors` = place i) to the shared table as the builder's session, then
 * sync once and close. Places the database did not confirm stay in the builder's outbox (replayed by the next
 * `waymark map pull`, localize or slam of that robot). Returns the stats after the sync.
 */
export async function publishMapPlaces(
  mapDir: string,
  manifest: MapManifest,
  places: readonly PlaceMeta[],
  descriptors: Float32Array,
  options: { timeoutMs?: number; onEvent?: (e: FleetEvent) => void } = {},
): Promise<FleetStats> {
  const ref = manifest.fleet!;
  const fleet = await openMapFleet(mapDir, manifest, {
    robot: ref.robot,
    session: ref.session,
    refreshMs: 0,
    timeoutMs: options.timeoutMs,
  });
  try {
    if (options.onEvent) fleet.onEvent(options.onEvent);
    const dim = manifest.counts.dim;
    places.forEach((p, i) => fleet.addPlace(descriptors.subarray(i * dim, (i + 1) * dim), p.stamp ?? i));
    await fleet.sync();
    return fleet.stats();
  } finally {
    await fleet.close();
  }
}

/** What the live pipeline reads from a fleet map (see {@link fleetMapView}). */
export interface FleetMapView {
  /** The map's places (ids 0..n-1), then the other places of the cache (ids n..). */
  places: PlaceMeta[];
  /** Their descriptors, row i = place i. */
  descriptors: Float32Array;
  /** Answers from the robot's cache (`FleetMap.search`), with the view's place ids. */
  index: VectorIndex;
  /** Places of the view that came from the table and are not the map's own. */
  fromFleet: number;
  /** The map's own places the cache does not hold (never synced: the view then uses the map's index). */
  missing: number;
}

/**
 * The robot's cache as the map the pipeline reads: place i < n is the map's place i (its metadata, and the
 * cache's copy of it: the builder's session, i-th place), the other cached places follow with their robot,
 * session, sequence number and stamp. Places pulled after this call are not in the view (the pipeline's place
 * list is fixed for a run). When the cache lacks some of the map's own places (a robot that never reached the
 * database), the view holds the map's places only and answers from the map's own index.
 */
export function fleetMapView(
  map: { manifest: MapManifest; places: PlaceMeta[]; descriptors: Float32Array; index: VectorIndex },
  fleet: FleetMap,
): FleetMapView {
  const ref = map.manifest.fleet!;
  const dim = map.manifest.counts.dim;
  const n = map.places.length;
  const cached = fleet.places();
  const key = (p: { robot: string; seq: number }) => `${p.robot}/${p.seq}`;
  const inCache = new Set(cached.map(key));
  // The builder's places are the map's first places, in its session's order; places a SLAM run added to the
  // map carry their key (`fleet`, "robot/seq").
  const own = cached.filter((p) => p.robot === ref.robot && p.session === ref.session).sort((a, b) =>
    a.seq - b.seq
  );
  const idOf = new Map<string, number>();
  let missing = 0;
  let next = 0;
  map.places.forEach((p, i) => {
    const tagged = (p as { fleet?: unknown }).fleet;
    const k = typeof tagged === "string" ? tagged : (next < own.length ? key(own[next++]) : undefined);
    if (k === undefined || !inCache.has(k)) missing++;
    else idOf.set(k, i);
  });
  if (missing > 0) {
    return { places: map.places, descriptors: map.descriptors, index: map.index, fromFleet: 0, missing };
  }
  const places = [...map.places];
  const extra: Float32Array[] = [];
  cached.forEach((p, cacheId) => {
    if (idOf.has(key(p))) return;
    const placeId = n + extra.length;
    idOf.set(key(p), placeId);
    extra.push(fleet.vector(cacheId));
    places.push({
      placeId,
      image: `fleet:${p.robot}/${p.seq}`,
      stamp: p.stamp,
      robot: p.robot,
      session: p.session,
      seq: p.seq,
    } as PlaceMeta);
  });
  const descriptors = new Float32Array(places.length * dim);
  descriptors.set(map.descriptors);
  extra.forEach((v, k) => descriptors.set(v, (n + k) * dim));
  return {
    places,
    descriptors,
    index: new FleetCacheIndex(fleet, idOf, dim),
    fromFleet: extra.length,
    missing: 0,
  };
}

/** A read-only `VectorIndex` over a robot's cache, ids translated to the view's place ids. */
class FleetCacheIndex implements VectorIndex {
  constructor(
    private readonly fleet: FleetMap,
    private readonly idOf: Map<string, number>,
    readonly dim: number,
  ) {}

  get size(): number {
    return this.idOf.size;
  }

  add(): void {
    throw new MapFormatError("Cannot add to a fleet map's view: add places through the FleetMap");
  }

  search(query: Float32Array, k: number, options: SearchOptions = {}): SearchHit[] {
    const keep = (p: FleetPlace) => {
      const id = this.idOf.get(`${p.robot}/${p.seq}`);
      return id !== undefined && (options.filter === undefined || options.filter(id));
    };
    return this.fleet.search(query, k, keep).map((h) => ({
      id: this.idOf.get(`${h.robot}/${h.seq}`)!,
      similarity: h.similarity,
    }));
  }

  save(): Promise<void> {
    return Promise.reject(
      new MapFormatError("Cannot save a fleet map's view: the cache is saved by the FleetMap"),
    );
  }
}
