/**
 * `repairMap`: salvage a map folder's keyframe journal after damage that recovery refuses to guess about
 * (`JournalCorruptionError`): keep every valid record, move the damaged bytes aside, and make the place ids
 * continue the map's again so that the journal can be folded.
 *
 * Steps, under the map's lock: scan the journal (`scanJournal`); write the damaged stretches, back to back, to
 * `journal.wal.damaged-<time>` in the map folder (fsynced); write the header and every valid record, in file
 * order, to a temporary file, fsync it and rename it over `journal.wal`. Records whose place id does not
 * continue the map's (a damaged record in between, or two writers' records interleaved) are renumbered in file
 * order. The original bytes are all kept: valid records in the journal, the rest in the damaged file.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { MapFormatError } from "../errors.ts";
import { exists, fsyncDir, writeFileSynced } from "./_fs.ts";
import { MAP_FILES } from "./format.ts";
import {
  type DamagedSpan,
  encodeJournalHeader,
  encodeRecord,
  type JournalHeader,
  type JournalScan,
  scanJournal,
} from "./journal.ts";
import { type MapLock, withMapLock } from "./lock.ts";
import { readMapManifest } from "./map_loader.ts";
import { DAMAGED_JOURNAL_PREFIX } from "./map_writer.ts";

/** What {@link repairMap} found and did. */
export interface RepairResult {
  /** The journal file. */
  journal: string;
  /** `none`: nothing to repair (or no journal); `repaired`: the journal was rewritten. */
  action: "none" | "repaired";
  /** False when the folder has no journal. */
  hasJournal: boolean;
  /** Valid records kept. */
  validRecords: number;
  /** Damaged stretches moved aside (offsets in the original file). */
  damaged: DamagedSpan[];
  damagedBytes: number;
  /** Where the damaged bytes went (absent when there were none). */
  damagedFile?: string;
  /** Records given a new place id (so that ids continue the map's: `firstId`, +1, ...). */
  renumbered: number;
  /** Places in the map (the first journal place id). */
  firstId: number;
  /** The journal's header was damaged and was rebuilt from the map's manifest (dim, model id). */
  headerRebuilt: boolean;
}

/** Options of {@link repairMap}. */
export interface RepairOptions {
  /** The map's lock, when the caller holds it (default: taken for the repair). */
  lock?: MapLock;
}

/**
 * Repair the keyframe journal of map folder `dir` (see the module documentation).
 * A damaged journal header is rebuilt from the map's manifest (descriptor size, model id) when the folder holds
 * a map; the old header bytes are set aside with the other damaged bytes.
 * @throws {MapFormatError} when the folder is missing, or the journal's header is damaged and the folder holds
 *   no map (nothing is changed).
 * @throws {MapLockedError} when another writer holds the map's lock.
 */
export async function repairMap(dir: string, options: RepairOptions = {}): Promise<RepairResult> {
  const root = resolve(dir);
  if (!(await exists(root))) {
    throw new MapFormatError(`${root}: map folder not found`, { context: { file: root } });
  }
  return await withMapLock(root, options.lock, "waymark map repair", () => repairLocked(root));
}

async function repairLocked(root: string): Promise<RepairResult> {
  const path = join(root, MAP_FILES.journal);
  const manifest = (await exists(join(root, MAP_FILES.manifest))) ? await readMapManifest(root) : undefined;
  const firstId = manifest?.counts.places ?? 0;
  const none: RepairResult = {
    journal: path,
    action: "none",
    hasJournal: false,
    validRecords: 0,
    damaged: [],
    damagedBytes: 0,
    renumbered: 0,
    firstId,
    headerRebuilt: false,
  };
  if (!(await exists(path))) return none;
  const bytes = await Deno.readFile(path);
  let scan: JournalScan;
  let headerRebuilt = false;
  try {
    scan = scanJournal(bytes, path);
  } catch (err) {
    if (!(err instanceof MapFormatError)) throw err;
    if (!manifest) {
      throw new MapFormatError(
        `${
          (err as Error).message
        }: the folder holds no map to take the descriptor size and model id from, so ` +
          `the header cannot be rebuilt (nothing was changed)`,
        { cause: err, context: { file: path } },
      );
    }
    // A damaged header: rebuild it from the map, and find the records anywhere in the file.
    const header: JournalHeader = {
      dim: manifest.counts.dim,
      modelId: manifest.model.id,
      created: new Date().toISOString(),
    };
    scan = scanJournal(bytes, path, { header });
    headerRebuilt = true;
  }
  // Renumber the records that the map does not hold yet so that they continue its ids.
  let next = firstId, renumbered = 0;
  const ids = scan.records.map(({ record }) => {
    if (record.placeId < firstId) return record.placeId; // already folded: compaction skips it
    const id = next++;
    if (id !== record.placeId) renumbered++;
    return id;
  });
  const damagedBytes = scan.damaged.reduce((s, d) => s + d.length, 0);
  const result: RepairResult = {
    ...none,
    hasJournal: true,
    validRecords: scan.records.length,
    damaged: scan.damaged,
    damagedBytes,
    renumbered,
    headerRebuilt,
  };
  if (scan.damaged.length === 0 && renumbered === 0) return result;
  if (damagedBytes > 0) {
    const aside = new Uint8Array(damagedBytes);
    let o = 0;
    for (const d of scan.damaged) {
      aside.set(bytes.subarray(d.offset, d.offset + d.length), o);
      o += d.length;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    let name = `${DAMAGED_JOURNAL_PREFIX}${stamp}`;
    for (let k = 2; await exists(join(root, name)); k++) name = `${DAMAGED_JOURNAL_PREFIX}${stamp}-${k}`;
    result.damagedFile = join(root, name);
    await writeFileSynced(result.damagedFile, aside);
  }
  const parts: Uint8Array[] = [
    headerRebuilt ? encodeJournalHeader(scan.header) : bytes.subarray(0, scan.headerBytes),
  ];
  scan.records.forEach(({ offset, size, record }, i) => {
    parts.push(
      ids[i] === record.placeId
        ? bytes.subarray(offset, offset + size)
        : encodeRecord({ ...record, placeId: ids[i] }, scan.header.dim),
    );
  });
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  const tmp = `${path}.repair-${Deno.pid}`;
  await writeFileSynced(tmp, out);
  await Deno.rename(tmp, path);
  await fsyncDir(root);
  result.action = "repaired";
  return result;
}
