/**
 * The writer's lock of a map folder: one writer at a time (map build, SLAM, compaction, journal appends,
 * repair); readers never take it.
 *
 * The lock is the file `<dir>.lock` beside the map folder (not inside it: a map write replaces the folder by a
 * rename, which would carry a lock inside it away). It is created atomically (`createNew`, O_EXCL) and holds
 * JSON `{ pid, host, started, command }`. A second writer fails at once with a {@link MapLockedError} naming
 * the holder. A lock whose process is gone (same host, Linux: no `/proc/<pid>`) is reported as stale with the
 * command that clears it; it is never removed silently, since the map may need a look first (a crashed writer
 * can leave a torn journal tail). The holder removes the lock when it is done, on success and on error.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { hostname } from "node:os";
import { MapFormatError } from "../errors.ts";

/** What a lock file records about its holder. */
export interface MapLockInfo {
  pid: number;
  host: string;
  /** ISO 8601 time the lock was taken. */
  started: string;
  /** What holds it (e.g. `waymark slam`). */
  command: string;
}

/** A map folder is locked by another writer (or a stale lock is left); `context.holder` has the lock file's content. */
export class MapLockedError extends MapFormatError {}

/** Path of the lock file of map folder `dir`. */
export function mapLockPath(dir: string): string {
  const target = resolve(dir);
  return join(dirname(target), `${basename(target)}.lock`);
}

function thisHost(): string {
  try {
    return hostname();
  } catch {
    return "unknown-host";
  }
}

/** True when process `pid` runs on this host; true as well when that cannot be told (only Linux can). */
export function processAlive(pid: number): boolean {
  if (pid === Deno.pid) return true;
  if (Deno.build.os !== "linux") return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Locks held by this process (path to token), so that a second writer in the same process fails too. */
const held = new Map<string, string>();

/** A held lock; `release()` removes the file (idempotent). */
export class MapLock {
  /** Absolute map folder. */
  readonly dir: string;
  /** The lock file. */
  readonly path: string;
  readonly info: MapLockInfo;
  #released = false;

  /** @internal use {@link acquireMapLock}. */
  constructor(dir: string, path: string, info: MapLockInfo) {
    this.dir = dir;
    this.path = path;
    this.info = info;
  }

  /** True until released. */
  get held(): boolean {
    return !this.#released;
  }

  /** `await using lock = await acquireMapLock(...)` releases it when the scope ends. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.release();
  }

  /** Remove the lock file (only when it is still ours). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    held.delete(this.path);
    try {
      const now = JSON.parse(await Deno.readTextFile(this.path)) as MapLockInfo;
      if (now.pid !== this.info.pid || now.started !== this.info.started || now.host !== this.info.host) {
        return;
      }
      await Deno.remove(this.path);
    } catch {
      // already gone (or unreadable: then it is not ours to remove)
    }
  }
}

/** Options of {@link acquireMapLock}. */
export interface AcquireLockOptions {
  /** Recorded in the lock file and shown to a second writer. Default `waymark`. */
  command?: string;
}

/** Read a lock file; null when absent, `{ unreadable }` when it is not a lock record. */
export async function readMapLock(dir: string): Promise<MapLockInfo | { unreadable: string } | null> {
  const path = mapLockPath(dir);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    return { unreadable: (err as Error).message };
  }
  try {
    const v = JSON.parse(text) as MapLockInfo;
    if (!Number.isInteger(v?.pid) || typeof v.host !== "string") throw new Error("no pid and host");
    return v;
  } catch {
    return { unreadable: `not a lock record (${text.length} bytes)` };
  }
}

/** True when a live process other than this one holds the lock of `dir` (this process's own lock: false). */
export async function lockedByOther(dir: string): Promise<boolean> {
  const path = mapLockPath(dir);
  if (held.has(path)) return false;
  const info = await readMapLock(dir);
  if (info === null) return false;
  if ("unreadable" in info) return true;
  if (info.host !== thisHost()) return true;
  return processAlive(info.pid);
}

function describeHolder(info: MapLockInfo): string {
  return `pid ${info.pid} on ${info.host} (${info.command}, since ${info.started})`;
}

/**
 * Take the writer's lock of map folder `dir` (the folder itself need not exist yet; its parent is created).
 *
 * @throws {MapLockedError} when another writer holds it (naming pid, host, command and start time), when a
 *   dead process left it (stale: the message gives the command that removes it), or when this process holds it.
 *
 * @example
 * ```ts ignore
 * const lock = await acquireMapLock("maps/lab", { command: "waymark slam" });
 * try { ... } finally { await lock.release(); }
 * ```
 */
export async function acquireMapLock(dir: string, options: AcquireLockOptions = {}): Promise<MapLock> {
  const target = resolve(dir);
  const path = mapLockPath(target);
  await Deno.mkdir(dirname(target), { recursive: true });
  const info: MapLockInfo = {
    pid: Deno.pid,
    host: thisHost(),
    started: new Date().toISOString(),
    command: options.command ?? "waymark",
  };
  if (held.has(path)) {
    throw new MapLockedError(
      `Cannot write map ${target}: this process already holds its lock ${path} (one writer at a time)`,
      { context: { file: path } },
    );
  }
  try {
    const f = await Deno.open(path, { write: true, createNew: true });
    try {
      const bytes = new TextEncoder().encode(JSON.stringify(info) + "\n");
      let off = 0;
      while (off < bytes.length) off += await f.write(bytes.subarray(off));
      await f.sync();
    } catch (err) {
      f.close();
      await Deno.remove(path).catch(() => {}); // ours, half-written: do not leave an unreadable lock
      throw err;
    }
    f.close();
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) {
      throw new MapFormatError(`Cannot lock map ${target}: ${path}: ${(err as Error).message}`, {
        cause: err,
        context: { file: path },
      });
    }
    const holder = await readMapLock(target);
    const clear = `if no Waymark process uses the map any more, remove it: rm '${path}'`;
    if (holder === null) {
      throw new MapLockedError(
        `Cannot write map ${target}: its lock ${path} was just taken and released; retry`,
        {
          context: { file: path },
        },
      );
    }
    if ("unreadable" in holder) {
      throw new MapLockedError(
        `Cannot write map ${target}: its lock ${path} exists but is unreadable (${holder.unreadable}); ${clear}`,
        { context: { file: path, holder } },
      );
    }
    if (holder.host === info.host && !processAlive(holder.pid)) {
      throw new MapLockedError(
        `Cannot write map ${target}: stale lock ${path} left by ${
          describeHolder(holder)
        }, which is no longer running (a crashed writer; check the map with 'waymark map info ${target}'); ${clear}`,
        { context: { file: path, holder, stale: true } },
      );
    }
    throw new MapLockedError(
      `Cannot write map ${target}: another writer holds its lock ${path}: ${describeHolder(holder)}`,
      { context: { file: path, holder } },
    );
  }
  held.set(path, info.started);
  return new MapLock(target, path, info);
}

/** Run `body` holding the lock of `dir` (or under `lock`, when the caller already holds it). */
export async function withMapLock<T>(
  dir: string,
  lock: MapLock | undefined,
  command: string,
  body: (lock: MapLock) => Promise<T>,
): Promise<T> {
  if (lock) {
    if (!lock.held || lock.dir !== resolve(dir)) {
      throw new MapFormatError(`Cannot write map ${resolve(dir)}: the lock passed in is not held for it`, {
        context: { file: resolve(dir) },
      });
    }
    return await body(lock);
  }
  const own = await acquireMapLock(dir, { command });
  try {
    return await body(own);
  } finally {
    await own.release();
  }
}
