/**
 * Integrity of `manifest.json`: a field-by-field schema with ranges, and (format version 2 on) a SHA-256 of
 * each top-level field stored in the manifest's own `integrity` section.
 *
 * Reading checks, in order: JSON, `format`, `version` (1 or 2), the schema (every field's type and range; the
 * error names the field, e.g. `localFeatures.extraction.maxKeypoints`), then for version 2 the checksum of
 * every top-level field (the error names the field whose content changed). Version 1 maps (written before the
 * checksum) are read with the schema check only; a version 1 manifest carrying an `integrity` section, or a
 * version 2 one without, is refused (its `version` field is damaged). Every failure is a `MapFormatError`.
 *
 * A field's checksum is the SHA-256 of `JSON.stringify(value)`: the same text whatever the file's
 * whitespace, and JSON numbers round-trip exactly.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { describeValue, MapFormatError } from "../errors.ts";
import { MAP_FORMAT, type MapManifest } from "./format.ts";
import { parseIndexTarget } from "../index/pg_connection.ts";

/** Format versions this Waymark reads: 1 (no manifest checksum) and 2 (checksummed manifest). */
export const READABLE_MAP_VERSIONS: readonly number[] = [1, 2];

/** `manifest.integrity` (format version 2 on). */
export interface ManifestIntegrity {
  algorithm: "sha256";
  /** Top-level field name to the hex SHA-256 of its JSON text. */
  fields: Record<string, string>;
}

const U32 = 0xffffffff;
const HEX64 = /^[0-9a-f]{64}$/;

/** The `integrity` section for a manifest (every top-level field but `integrity` itself). */
export function manifestIntegrity(m: object): ManifestIntegrity {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) {
    if (k === "integrity" || v === undefined) continue;
    fields[k] = createHash("sha256").update(JSON.stringify(v)).digest("hex");
  }
  return { algorithm: "sha256", fields };
}

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, must: string, value: unknown): MapFormatError {
    const section = path.startsWith("localFeatures") ? "malformed localFeatures section: " : "";
    return new MapFormatError(
      `${this.file}: ${section}field '${path}' must be ${must}: current value is ${
        describeValue(value)
      } (the manifest is damaged: rebuild the map)`,
      { context: { file: this.file, field: path } },
    );
  }

  object(path: string, v: unknown, keys: readonly string[], optional: readonly string[] = []) {
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw this.fail(path, "an object", v);
    const o = v as Record<string, unknown>;
    for (const k of keys) if (!(k in o)) throw this.fail(join(path, k), "present", undefined);
    for (const k of Object.keys(o)) {
      if (!keys.includes(k) && !optional.includes(k)) {
        throw this.fail(join(path, k), `absent (known fields: ${[...keys, ...optional].join(", ")})`, o[k]);
      }
    }
    return o;
  }

  int(path: string, v: unknown, min: number, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw this.fail(path, `an integer in [${min}, ${max}]`, v);
    }
    return v;
  }

  num(path: string, v: unknown, min: number, max: number, openMin = false): number {
    if (typeof v !== "number" || !Number.isFinite(v) || v > max || (openMin ? v <= min : v < min)) {
      throw this.fail(path, `a number in ${openMin ? "(" : "["}${min}, ${max}]`, v);
    }
    return v;
  }

  str(path: string, v: unknown, nonEmpty = true): string {
    if (typeof v !== "string" || (nonEmpty && v === "")) throw this.fail(path, "a non-empty string", v);
    return v;
  }

  /** A `/`-separated path inside the map folder. */
  relPath(path: string, v: unknown): string {
    const s = this.str(path, v);
    if (
      s.startsWith("/") || s.includes("\\") || s.split("/").some((p) => p === "" || p === "." || p === "..")
    ) {
      throw this.fail(path, "a relative path inside the map folder", v);
    }
    return s;
  }
}

/** `manifest.fleet`: a parseable target without a password, a robot id, a session. */
function checkFleetRef(c: Checker, v: unknown): void {
  const f = c.object("fleet", v, ["target", "robot", "session"]);
  const target = c.str("fleet.target", f.target);
  try {
    parseIndexTarget(target);
  } catch (err) {
    // The value is not echoed: it may carry a password.
    throw new MapFormatError(
      `${c.file}: field 'fleet.target' must be 'pglite:<dir>?table=name' or 'postgres://user@host/db?table=name' ` +
        `without a password: ${(err as Error).message} (the manifest is damaged: rebuild the map)`,
      { context: { file: c.file, field: "fleet.target" } },
    );
  }
  if (typeof f.robot !== "string" || !/^[\w.-]{1,64}$/.test(f.robot)) {
    throw c.fail("fleet.robot", "1 to 64 letters, digits, '_', '.' or '-'", f.robot);
  }
  c.str("fleet.session", f.session);
}

function join(a: string, b: string): string {
  return a ? `${a}.${b}` : b;
}

/**
 * Check every field of a parsed manifest against the schema (types and ranges), then (version 2) the
 * checksum of every top-level field.
 * @throws {MapFormatError} naming the file and the field.
 */
export function checkManifest(raw: unknown, file: string): MapManifest {
  const c = new Checker(file);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new MapFormatError(`${file}: not a Waymark map manifest (not a JSON object)`, {
      context: { file },
    });
  }
  const m = raw as Record<string, unknown>;
  if (m.format !== MAP_FORMAT) {
    throw new MapFormatError(`${file}: not a Waymark map manifest (format ${JSON.stringify(m.format)})`, {
      context: { file, field: "format" },
    });
  }
  if (typeof m.version !== "number" || !READABLE_MAP_VERSIONS.includes(m.version)) {
    throw new MapFormatError(
      `${file}: unsupported map format version ${JSON.stringify(m.version)}: this Waymark reads versions ${
        READABLE_MAP_VERSIONS.join(" and ")
      }`,
      { context: { file, field: "version" } },
    );
  }
  const v2 = m.version >= 2;
  const top = ["format", "version", "generation", "created", "model", "counts", "index", "files"];
  c.object("", m, v2 ? [...top, "integrity"] : top, [
    "localFeatures",
    "fleet",
    "build",
    ...(v2 ? [] : ["integrity"]),
  ]);
  c.int("generation", m.generation, 1, U32);
  const created = c.str("created", m.created);
  if (Number.isNaN(Date.parse(created))) throw c.fail("created", "an ISO 8601 time", created);

  const model = c.object("model", m.model, ["name", "id", "dim", "bundled"], ["source"]);
  c.str("model.name", model.name);
  c.str("model.id", model.id, false);
  const dim = c.int("model.dim", model.dim, 1, 1 << 20);
  if (typeof model.bundled !== "boolean") throw c.fail("model.bundled", "true or false", model.bundled);
  if (model.source !== undefined) c.str("model.source", model.source);

  const counts = c.object("counts", m.counts, ["places", "dim", "skipped"]);
  const places = c.int("counts.places", counts.places, 0, U32);
  if (c.int("counts.dim", counts.dim, 1, 1 << 20) !== dim) {
    throw c.fail("counts.dim", `${dim} (model.dim)`, counts.dim);
  }
  c.int("counts.skipped", counts.skipped, 0, Number.MAX_SAFE_INTEGER);

  const index = c.object("index", m.index, ["kind", "params"], ["file"]);
  if (index.kind !== "hnsw" && index.kind !== "exact") {
    throw c.fail("index.kind", "hnsw or exact", index.kind);
  }
  if (index.kind === "hnsw" && index.file !== "index.hnsw") {
    throw c.fail("index.file", '"index.hnsw"', index.file);
  }
  if (index.kind === "exact" && index.file !== undefined) throw c.fail("index.file", "absent", index.file);
  const params = c.object("index.params", index.params, [], ["m", "efConstruction", "efSearch", "seed"]);
  if (params.m !== undefined) c.int("index.params.m", params.m, 2, 1024);
  if (params.efConstruction !== undefined) {
    c.int("index.params.efConstruction", params.efConstruction, 1, 1e6);
  }
  if (params.efSearch !== undefined) c.int("index.params.efSearch", params.efSearch, 1, 1e6);
  if (params.seed !== undefined) c.int("index.params.seed", params.seed, 0, Number.MAX_SAFE_INTEGER);

  if (!Array.isArray(m.files)) throw c.fail("files", "a list", m.files);
  const listed = new Set<string>();
  m.files.forEach((f, i) => {
    const p = `files[${i}]`;
    const e = c.object(p, f, ["path", "sha256", "size"]);
    const rel = c.relPath(`${p}.path`, e.path);
    if (listed.has(rel)) throw c.fail(`${p}.path`, "listed once", rel);
    listed.add(rel);
    if (typeof e.sha256 !== "string" || !HEX64.test(e.sha256)) {
      throw c.fail(`${p}.sha256`, "64 hex digits", e.sha256);
    }
    c.int(`${p}.size`, e.size, 0, Number.MAX_SAFE_INTEGER);
  });

  if (m.localFeatures !== undefined) {
    const lf = c.object("localFeatures", m.localFeatures, [
      "version",
      "pca",
      "data",
      "index",
      "inputDim",
      "dim",
      "places",
      "keypoints",
      "bytes",
      "extraction",
    ]);
    c.int("localFeatures.version", lf.version, 1, 1);
    for (const k of ["pca", "data", "index"] as const) {
      const rel = c.relPath(`localFeatures.${k}`, lf[k]);
      if (!listed.has(rel)) throw c.fail(`localFeatures.${k}`, "a file listed in 'files'", rel);
    }
    const inputDim = c.int("localFeatures.inputDim", lf.inputDim, 1, 4096);
    c.int("localFeatures.dim", lf.dim, 1, inputDim);
    c.int("localFeatures.places", lf.places, 0, places);
    c.int("localFeatures.keypoints", lf.keypoints, 0, Number.MAX_SAFE_INTEGER);
    c.int("localFeatures.bytes", lf.bytes, 0, Number.MAX_SAFE_INTEGER);
    const ex = c.object("localFeatures.extraction", lf.extraction, [
      "extractor",
      "maxSide",
      "maxKeypoints",
      "scales",
    ], ["attentionThreshold", "nmsIoU"]);
    c.str("localFeatures.extraction.extractor", ex.extractor);
    c.num("localFeatures.extraction.maxSide", ex.maxSide, 32, 65536);
    c.int("localFeatures.extraction.maxKeypoints", ex.maxKeypoints, 8, 1e6);
    if (!Array.isArray(ex.scales) || ex.scales.length === 0 || ex.scales.length > 16) {
      throw c.fail("localFeatures.extraction.scales", "a list of 1 to 16 numbers", ex.scales);
    }
    ex.scales.forEach((s, i) => c.num(`localFeatures.extraction.scales[${i}]`, s, 0, 4, true));
    if (ex.attentionThreshold !== undefined) {
      c.num("localFeatures.extraction.attentionThreshold", ex.attentionThreshold, 0, 1e6);
    }
    if (ex.nmsIoU !== undefined) c.num("localFeatures.extraction.nmsIoU", ex.nmsIoU, 0, 1);
  }
  if (m.fleet !== undefined) checkFleetRef(c, m.fleet);
  if (m.build !== undefined) c.object("build", m.build, [], Object.keys(m.build ?? {})); // free-form facts

  if (v2) {
    const integ = c.object("integrity", m.integrity, ["algorithm", "fields"]);
    if (integ.algorithm !== "sha256") throw c.fail("integrity.algorithm", '"sha256"', integ.algorithm);
    const stored = c.object("integrity.fields", integ.fields, [], Object.keys(integ.fields ?? {}));
    const want = manifestIntegrity(m).fields;
    for (const k of Object.keys(want)) {
      if (!(k in stored)) {
        throw c.fail(k, "covered by the manifest checksum (it was added after writing)", m[k]);
      }
    }
    for (const [k, sum] of Object.entries(stored)) {
      if (!(k in want)) throw c.fail(k, "present (the checksum covers it)", undefined);
      if (sum !== want[k]) {
        throw new MapFormatError(
          `${file}: field '${k}' does not match its checksum in 'integrity' (the manifest is damaged: rebuild the map)`,
          { context: { file, field: k } },
        );
      }
    }
  } else if (m.integrity !== undefined) {
    throw c.fail(
      "version",
      "2 for a manifest with an integrity section (the version field is damaged)",
      m.version,
    );
  }
  return m as unknown as MapManifest;
}
