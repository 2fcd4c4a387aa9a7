/**
 * Writing a map folder atomically, and recovering after a crash.
 *
 * ## Protocol
 * 1. Stage: create the sibling `<dir>.tmp-<pid>-<nonce>`, write every file into it (places, descriptors,
 *    index, model bundle, extras), fsync each file, then write `manifest.json` LAST (its presence marks a
 *    complete staging folder) and fsync the folder.
 * 2. If `<dir>` exists, rename it to `<dir>.old-<pid>-<nonce>`.
 * 3. Rename the staging folder to `<dir>`; fsync the parent folder. This rename is the commit point.
 * 4. Remove the `.old-` folder.
 *
 * A crash during 1 leaves `<dir>` untouched (the staging folder is junk). A crash between 2 and 3 leaves no
 * `<dir>`, a complete staging folder and the old map: {@link recoverMapDir} (run by `loadMap` and before every
 * write) rolls forward to the complete staging folder, or back to the old map when there is none. A crash
 * during 4 leaves a stale `.old-` folder, removed on recovery. Staging folders of dead processes are removed
 * too (on Linux, where a process id can be checked).
 *
 * ## What a write may replace
 * `writeMap` writes only to a path that is absent, an empty folder, or (with `replace`) a Waymark map folder
 * (its entries are map files: those the manifest lists and the fixed names of `MAP_FILES`). A regular file, or
 * a folder holding anything else, is refused with a `ValidationError` naming what is there; nothing is touched.
 * The old map is removed only after the new one is complete and renamed into place.
 *
 * ## One writer at a time
 * Every write holds the map's lock (`lock.ts`): `writeMap` takes it for its own duration unless the caller
 * passes the lock it holds. Recovery on load is skipped while another live process holds the lock.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { MapFormatError, ValidationError } from "../errors.ts";
import type { PlaceMeta } from "../types.ts";
import { removeQuietly } from "../_fs.ts";
import { exists, f32ToLeBytes, fsyncDir, fsyncFile, listFiles, sha256File, writeFileSynced } from "./_fs.ts";
import {
  MAP_FILES,
  MAP_FORMAT,
  MAP_VERSION,
  type MapFileEntry,
  type MapFleetRef,
  type MapIndexKind,
  type MapLocalFeaturesInfo,
  type MapManifest,
  type MapModelRef,
  MUTABLE_FILES,
  type SkippedImage,
} from "./format.ts";
import { manifestIntegrity } from "./manifest_check.ts";
import { lockedByOther, type MapLock, processAlive, withMapLock } from "./lock.ts";

/** What to write into a map. */
export interface MapWriteContent {
  model: MapModelRef;
  places: PlaceMeta[];
  /** places.length x dim, row-major. */
  descriptors: Float32Array;
  index: {
    kind: MapIndexKind;
    params?: Record<string, number>;
    /** Writes the index file (required for `hnsw`; `exact` stores nothing). */
    save?: (path: string) => Promise<void>;
  };
  /** Default 1. */
  generation?: number;
  /** Images left out (first 100 recorded). */
  skipped?: SkippedImage[];
  /** Count of skipped images (default `skipped.length`). */
  skippedCount?: number;
  /** Extra build facts for the manifest. */
  build?: MapManifest["build"];
  /** Writes extra files into the staging folder (model bundle into `model/`, a carried blob store…). */
  populate?: (stagingDir: string) => Promise<void>;
  /** The stored local features (their files written by `populate`). Default none. */
  localFeatures?: MapLocalFeaturesInfo;
  /** The fleet map's shared place table. Default none. */
  fleet?: MapFleetRef;
}

/** Steps of {@link writeMap}, reported to `onStep` (tests use it to simulate a crash). */
export type MapWriteStep = "staged-data" | "staged-extra" | "staged-manifest" | "moved-old" | "committed";

/** Options of {@link writeMap}. */
export interface WriteMapOptions {
  /** Called after each step; throwing aborts the write there, as a crash would (default none). */
  onStep?: (step: MapWriteStep) => void | Promise<void>;
  /** Remove the staging folder when a step throws (default true; false leaves it as a crash would). */
  cleanupOnError?: boolean;
  /** Replace a Waymark map already at the path (default false: refused). Other content is never replaced. */
  replace?: boolean;
  /** The map's lock, when the caller holds it (default: taken for the duration of the write). */
  lock?: MapLock;
}

/** What is at a map output path (see {@link inspectMapTarget}). */
export interface MapTarget {
  /**
   * `absent`; `empty` folder; `map` (a manifest and only map files); `map-files` (no manifest, only a journal
   * and blob store: a SLAM session not yet saved); `file` (not a folder); `foreign` (a folder holding other
   * entries).
   */
  kind: "absent" | "empty" | "map" | "map-files" | "file" | "foreign";
  /** For `foreign`: the entries that are not map files (sorted, at most 10). */
  foreign?: string[];
}

/** Top-level names a map folder may hold besides the files its manifest lists. */
const MAP_NAMES = new Set<string>(Object.values(MAP_FILES).map((p) => p.split("/")[0]));
/** Files `waymark map repair` sets aside in the map folder. */
export const DAMAGED_JOURNAL_PREFIX = `${MAP_FILES.journal}.damaged-`;

/** Classify what is at `dir` before writing a map there (read only). */
export async function inspectMapTarget(dir: string): Promise<MapTarget> {
  const target = resolve(dir);
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(target);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { kind: "absent" };
    throw err;
  }
  if (!st.isDirectory) return { kind: "file" };
  const names: string[] = [];
  for await (const e of Deno.readDir(target)) names.push(e.name);
  if (names.length === 0) return { kind: "empty" };
  const known = new Set(MAP_NAMES);
  let manifestOk = false;
  try {
    const m = JSON.parse(await Deno.readTextFile(join(target, MAP_FILES.manifest)));
    if (m?.format === MAP_FORMAT) {
      manifestOk = true;
      if (Array.isArray(m.files)) {
        for (const f of m.files) if (typeof f?.path === "string") known.add(f.path.split("/")[0]);
      }
    }
  } catch { /* no manifest, or not ours */ }
  // Without a Waymark manifest, only what a SLAM session writes before its first save is ours (journal, blob
  // store): a folder holding e.g. a user's `model/` is not a map.
  const loose = new Set<string>([MAP_FILES.journal, MAP_FILES.blobData, MAP_FILES.blobIndex]);
  if (!manifestOk) { for (const n of [...known]) if (!loose.has(n)) known.delete(n); }
  // journal.wal.* : damaged bytes set aside by repair (and its temporary file)
  const foreign = names.filter((n) => !known.has(n) && !n.startsWith(`${MAP_FILES.journal}.`)).sort();
  if (foreign.length > 0) return { kind: "foreign", foreign: foreign.slice(0, 10) };
  return { kind: manifestOk ? "map" : "map-files" };
}

/**
 * Throw unless a map may be written at `dir`: absent, an empty folder, or (with `replace`) a Waymark map.
 * `action` names the action in the message (e.g. "build map"); `extend` accepts a map without `replace`.
 * @throws {ValidationError} naming the path and what is there.
 */
export async function checkMapTarget(
  dir: string,
  options: { replace?: boolean; action?: string; extend?: boolean } = {},
): Promise<MapTarget> {
  const target = resolve(dir);
  const t = await inspectMapTarget(target);
  const action = options.action ?? "write map";
  if (t.kind === "file") {
    throw new ValidationError(
      `Cannot ${action} to ${target}: it is not a folder (a file or a link): choose a new path (nothing was changed)`,
      { context: { file: target } },
    );
  }
  if (t.kind === "foreign") {
    throw new ValidationError(
      `Cannot ${action} to ${target}: the folder is not a Waymark map (it holds ${
        t.foreign!.join(", ")
      }); choose a new path or an empty folder (nothing was changed)`,
      { context: { file: target, foreign: t.foreign } },
    );
  }
  if ((t.kind === "map" || t.kind === "map-files") && !options.replace && !options.extend) {
    throw new ValidationError(
      `Cannot ${action} to ${target}: it already holds a Waymark map; choose another path, or replace it (map build --force, the replace option)`,
      { context: { file: target } },
    );
  }
  return t;
}

function nonce(): string {
  return crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
}

/**
 * Write a complete map folder atomically (see the module documentation for the protocol).
 * Returns the manifest written.
 *
 * @example
 * ```ts ignore
 * const manifest = await writeMap("maps/office", { model, places, descriptors, index: { kind: "exact" } });
 * ```
 */
export async function writeMap(
  dir: string,
  content: MapWriteContent,
  options: WriteMapOptions = {},
): Promise<MapManifest> {
  const target = resolve(dir);
  const dim = content.model.dim;
  if (content.descriptors.length !== content.places.length * dim) {
    throw new MapFormatError(
      `Cannot write map ${target} as descriptors hold ${content.descriptors.length} floats, not ${content.places.length} places x ${dim}`,
      { context: { file: target } },
    );
  }
  if (content.index.kind === "hnsw" && !content.index.save) {
    throw new MapFormatError(`Cannot write map ${target}: an hnsw index needs a save function`, {
      context: { file: target },
    });
  }
  await Deno.mkdir(dirname(target), { recursive: true });
  return await withMapLock(target, options.lock, "waymark (map write)", async (lock) => {
    await recoverMapDir(target);
    await checkMapTarget(target, { replace: options.replace });
    return await stageAndSwap(target, dim, content, { ...options, lock });
  });
}

async function stageAndSwap(
  target: string,
  dim: number,
  content: MapWriteContent,
  options: WriteMapOptions,
): Promise<MapManifest> {
  const tag = `${Deno.pid}-${nonce()}`;
  const staging = `${target}.tmp-${tag}`;
  const step = async (s: MapWriteStep) => {
    await options.onStep?.(s);
  };
  let committed = false;
  try {
    await Deno.mkdir(staging);
    const enc = new TextEncoder();
    const placesText = content.places.map((p) => JSON.stringify(p)).join("\n") +
      (content.places.length ? "\n" : "");
    await writeFileSynced(join(staging, MAP_FILES.places), enc.encode(placesText));
    await writeFileSynced(join(staging, MAP_FILES.descriptors), f32ToLeBytes(content.descriptors));
    if (content.index.kind === "hnsw") await content.index.save!(join(staging, MAP_FILES.hnsw));
    await step("staged-data");
    if (content.populate) await content.populate(staging);
    for (const rel of await listFiles(staging)) await fsyncFile(join(staging, rel));
    if (await exists(join(staging, MAP_FILES.modelDir))) await fsyncDir(join(staging, MAP_FILES.modelDir));
    await step("staged-extra");
    const files: MapFileEntry[] = [];
    for (const rel of await listFiles(staging)) {
      if (rel === MAP_FILES.manifest || MUTABLE_FILES.includes(rel)) continue;
      if (rel.startsWith(`${MAP_FILES.fleetDir}/`)) continue; // a fleet robot's outbox and cache change
      files.push({ path: rel, ...await sha256File(join(staging, rel)) });
    }
    const skipped = content.skipped ?? [];
    const manifest: MapManifest = {
      format: MAP_FORMAT,
      version: MAP_VERSION,
      generation: content.generation ?? 1,
      created: new Date().toISOString(),
      model: content.model,
      counts: { places: content.places.length, dim, skipped: content.skippedCount ?? skipped.length },
      index: {
        kind: content.index.kind,
        ...(content.index.kind === "hnsw" ? { file: MAP_FILES.hnsw } : {}),
        params: content.index.params ?? {},
      },
      files,
      ...(content.localFeatures ? { localFeatures: content.localFeatures } : {}),
      ...(content.fleet ? { fleet: content.fleet } : {}),
      build: { ...content.build, skipped: skipped.slice(0, 100) },
    };
    manifest.integrity = manifestIntegrity(manifest);
    await writeFileSynced(
      join(staging, MAP_FILES.manifest),
      enc.encode(JSON.stringify(manifest, null, 2) + "\n"),
    );
    await fsyncDir(staging);
    await step("staged-manifest");
    let old: string | null = null;
    if (await exists(target)) {
      old = `${target}.old-${tag}`;
      await Deno.rename(target, old);
      await fsyncDir(dirname(target));
      await step("moved-old");
    }
    await Deno.rename(staging, target);
    committed = true;
    await fsyncDir(dirname(target));
    if (old) await removeQuietly(old);
    await step("committed");
    return manifest;
  } catch (err) {
    if (!committed && (options.cleanupOnError ?? true)) {
      // Put the previous map back when it had been moved aside, then drop the staging folder.
      await recoverMapDir(target, { discardStaging: staging });
    }
    throw err;
  }
}

/** What {@link recoverMapDir} did. */
export interface RecoveryResult {
  action: "none" | "rolled-forward" | "rolled-back";
  /** Leftover sibling folders removed. */
  removed: string[];
}

/** Options of {@link recoverMapDir}. */
export interface RecoverOptions {
  /** A staging folder to discard (never roll forward to it). */
  discardStaging?: string;
}

async function isCompleteStaging(path: string): Promise<boolean> {
  try {
    const m = JSON.parse(await Deno.readTextFile(join(path, MAP_FILES.manifest))) as MapManifest;
    if (m.format !== MAP_FORMAT || !Array.isArray(m.files)) return false;
    for (const f of m.files) if (!(await exists(join(path, f.path)))) return false;
    return true;
  } catch {
    return false;
  }
}

function pidOf(name: string): number | null {
  const m = /\.(?:tmp|old)-(\d+)-[0-9a-z]+$/.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Bring a map folder to a consistent state after a crashed write (see the module documentation). Safe to call
 * at any time by the single writer; `loadMap` calls it first. Does nothing while another live process holds
 * the map's lock (its write is in progress).
 */
export async function recoverMapDir(dir: string, options: RecoverOptions = {}): Promise<RecoveryResult> {
  const target = resolve(dir);
  if (await lockedByOther(target)) return { action: "none", removed: [] };
  const parent = dirname(target), base = basename(target);
  const tmps: string[] = [], olds: string[] = [];
  try {
    for await (const e of Deno.readDir(parent)) {
      if (!e.isDirectory) continue;
      if (e.name.startsWith(`${base}.tmp-`)) tmps.push(join(parent, e.name));
      else if (e.name.startsWith(`${base}.old-`)) olds.push(join(parent, e.name));
    }
  } catch {
    return { action: "none", removed: [] };
  }
  const removed: string[] = [];
  const drop = async (p: string) => {
    await removeQuietly(p);
    removed.push(p);
  };
  let action: RecoveryResult["action"] = "none";
  if (!(await exists(target))) {
    const complete: { path: string; mtime: number }[] = [];
    for (const t of tmps) {
      if (t === options.discardStaging) continue;
      if (await isCompleteStaging(t)) {
        complete.push({ path: t, mtime: (await Deno.stat(t)).mtime?.getTime() ?? 0 });
      }
    }
    complete.sort((a, b) => b.mtime - a.mtime);
    if (complete.length > 0) {
      await Deno.rename(complete[0].path, target);
      action = "rolled-forward";
    } else if (olds.length > 0) {
      const newest = olds.sort().at(-1)!;
      await Deno.rename(newest, target);
      olds.splice(olds.indexOf(newest), 1);
      action = "rolled-back";
    }
    if (action !== "none") await fsyncDir(parent);
  }
  for (const o of olds) if (o !== target) await drop(o);
  for (const t of tmps) {
    if (!(await exists(t))) continue; // rolled forward
    const pid = pidOf(basename(t));
    if (t === options.discardStaging || (pid !== null && !processAlive(pid))) await drop(t);
  }
  return { action, removed };
}
