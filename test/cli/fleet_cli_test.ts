import assert from "node:assert/strict";
import { IndexError, MapFormatError } from "../../src/errors.ts";
import { PGliteConnection } from "../../src/index/pg_connection.ts";
import { PgVectorIndex } from "../../src/index/pgvector_index.ts";
import { manifestIntegrity } from "../../src/map/manifest_check.ts";
import { readMapManifest } from "../../src/map/map_loader.ts";
import { openMapFleet } from "../../src/map/map_fleet.ts";
import { writeMap } from "../../src/map/map_writer.ts";
import { tempDir } from "../map/_tmp.ts";
import { runCli } from "./_capture.ts";
import { GENERIC_MODEL, simDataset } from "./_sim_fixture.ts";

/** Rows per robot in a PGlite table (opened and closed here: one PGlite per folder at a time). */
async function rowsByRobot(dataDir: string, table: string): Promise<Record<string, number>> {
  const db = await PGliteConnection.open(dataDir);
  try {
    const { rows } = await db.query<{ robot: string; n: number }>(
      `SELECT robot, count(*)::int AS n FROM ${table} GROUP BY robot ORDER BY robot`,
    );
    return Object.fromEntries(rows.map((r) => [r.robot, r.n]));
  } finally {
    await db.close();
  }
}

Deno.test("waymark map build --index pglite: shares the places; slam adds keyframes; map pull; localize reads the cache; database down", async () => {
  const ds = await simDataset();
  const root = await tempDir();
  const db = `${root}/db`;
  const out = `${root}/map`;
  const built = await runCli([
    "map",
    "build",
    ds,
    "--out",
    out,
    "--model",
    GENERIC_MODEL,
    "--index",
    `pglite:${db}?table=city`,
    "--json",
  ]);
  assert.equal(built.code, 0, built.stderr);
  const line = JSON.parse(built.stdout.trim().split("\n").at(-1)!);
  assert.equal(line.fleet.state, "online", JSON.stringify(line.fleet));
  assert.equal(line.fleet.written, 40);
  assert.equal(line.fleet.queued, 0);
  const m1 = await readMapManifest(out);
  assert.equal(m1.fleet?.target, `pglite:${db}?table=city`);
  assert.equal(m1.fleet?.robot, "map");
  assert.equal(m1.index.kind, "hnsw", "the map keeps its local index");
  assert.deepEqual(await rowsByRobot(db, "city"), { map: 40 });
  const info = await runCli(["map", "info", out]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /shared\s+pglite:.*\?table=city \(places of robot 'map', session map-build-/);

  // SLAM as robot r2 on the same map: its keyframes go to the table and into the map, which keeps its entry.
  const slam = await runCli([
    "slam",
    "--source",
    `dataset:${ds}#queries`,
    "--out",
    out,
    "--robot",
    "r2",
    "--rate",
    "25",
    "--backpressure",
    "queue:64",
    "--no-verify",
  ]);
  assert.equal(slam.code, 0, slam.stderr);
  assert.match(slam.stderr, /shared table pglite:.* as robot 'r2': database online/);
  assert.match(slam.stderr, /shared table: 40 places written, 40 pulled, 0 queued in the outbox, 0 outage/);
  const m2 = await readMapManifest(out);
  assert.equal(m2.generation, 2);
  assert.deepEqual(m2.fleet, m1.fleet, "compaction keeps the fleet entry");
  await Deno.stat(`${out}/fleet/r2/fleet_outbox.jsonl`); // carried through the compaction
  const rows = await rowsByRobot(db, "city");
  assert.deepEqual(rows, { map: 40, r2: 40 });
  const conn = await PGliteConnection.open(db);
  const { rows: r2 } = await conn.query<{ sessions: number; stamps: number }>(
    "SELECT count(DISTINCT session)::int AS sessions, count(stamp)::int AS stamps FROM city WHERE robot = 'r2'",
  );
  await conn.close();
  assert.deepEqual(r2[0], { sessions: 1, stamps: 40 });

  // map pull (the builder's robot): writes nothing, pulls r2's places into its cache.
  const pull = await runCli(["map", "pull", out, "--json"]);
  assert.equal(pull.code, 0, pull.stderr);
  const p = JSON.parse(pull.stdout.trim().split("\n").at(-1)!);
  assert.equal(p.state, "online");
  assert.equal(p.pulled, 40);
  assert.equal(p.cache, 80);

  // localize reads the 80 places from the builder's cache (the map's 40 + r2's 40, which the map also holds).
  const loc = await runCli([
    "localize",
    "--map",
    out,
    "--source",
    `dataset:${ds}#queries`,
    "--rate",
    "max",
    "--backpressure",
    "queue:64",
    "--print-hz",
    "1000",
  ]);
  assert.equal(loc.code, 0, loc.stderr);
  assert.match(loc.stderr, /as robot 'map': database online; the cache holds 80 places, 0 queued/);
  assert.doesNotMatch(loc.stderr, /lacks/);
  assert.match(loc.stderr, /localizing against .* \(80 places\)/);
  const estimates = loc.stdout.split("\n").filter((l) => /^#\d+ t=/.test(l));
  assert.ok(estimates.length >= 20, `estimate lines: ${estimates.length}`);
  assert.ok(estimates.filter((l) => / localized /.test(l)).length >= estimates.length / 2, loc.stdout);

  // Database gone (folder moved away): localize runs on the cache, the state is printed.
  await Deno.rename(db, `${db}.away`);
  await Deno.writeTextFile(db, "not a database folder");
  const off = await runCli([
    "localize",
    "--map",
    out,
    "--source",
    `dataset:${ds}#queries`,
    "--rate",
    "max",
    "--backpressure",
    "queue:64",
  ]);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stderr, /database offline \(.*\): running on the local cache; the cache holds 80 places/);
  const offPull = await runCli(["map", "pull", out]);
  assert.equal(offPull.code, 1);
  assert.match(offPull.stderr, /shared table offline/);

  // SLAM while the database is down: the run goes on, its keyframes wait in robot r3's outbox.
  const slamOff = await runCli([
    "slam",
    "--source",
    `dataset:${ds}#database`,
    "--out",
    out,
    "--robot",
    "r3",
    "--rate",
    "25",
    "--backpressure",
    "queue:64",
    "--no-verify",
  ]);
  assert.equal(slamOff.code, 0, slamOff.stderr);
  assert.match(slamOff.stderr, /as robot 'r3': database offline .*running on the local cache/);
  assert.match(slamOff.stderr, /shared table: 0 places written, 0 pulled, 40 queued in the outbox/);
  assert.match(slamOff.stdout, /map .*: 120 places \(40 new keyframes, generation 3\)/);

  // A map built while the database is down: written, its places queued; a pull after the return writes them.
  const out2 = `${root}/map2`;
  const late = await runCli([
    "map",
    "build",
    ds,
    "--out",
    out2,
    "--model",
    GENERIC_MODEL,
    "--index",
    `pglite:${db}?table=city`,
    "--robot",
    "b2",
  ]);
  assert.equal(late.code, 0, late.stderr);
  assert.match(
    late.stdout,
    /shared table .*: 0 of 40 places written as robot 'b2', database offline \(40 queued/,
  );
  await Deno.remove(db);
  await Deno.rename(`${db}.away`, db);
  const back = await runCli(["map", "pull", out2, "--json"]);
  assert.equal(back.code, 0, back.stderr);
  const b = JSON.parse(back.stdout.trim().split("\n").at(-1)!);
  assert.deepEqual([b.state, b.written, b.queued, b.pulled, b.cache], ["online", 40, 0, 80, 120]);
  assert.deepEqual(await rowsByRobot(db, "city"), { b2: 40, map: 40, r2: 40 });
  const r3 = await runCli(["map", "pull", out, "--robot", "r3", "--json"]);
  assert.equal(r3.code, 0, r3.stderr);
  const q = JSON.parse(r3.stdout.trim().split("\n").at(-1)!);
  assert.deepEqual([q.state, q.written, q.queued, q.cache], ["online", 40, 0, 160]);
  assert.deepEqual(await rowsByRobot(db, "city"), { b2: 40, map: 40, r2: 40, r3: 40 });
});

Deno.test("a map manifest whose fleet target carries a password is refused naming the field, without the password", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, {
    model: { name: "fake", id: "fake-id", dim: 4, bundled: false },
    places: [{ placeId: 0, image: "0.jpg" }],
    descriptors: new Float32Array([0.5, 0.5, 0.5, 0.5]),
    index: { kind: "exact" },
    fleet: { target: "postgres://robot@db.example/fleet?table=city", robot: "map", session: "s1" },
  });
  assert.equal((await readMapManifest(dir)).fleet?.robot, "map");
  const path = `${dir}/manifest.json`;
  const m = JSON.parse(await Deno.readTextFile(path));
  m.fleet.target = "postgres://robot:hunter2@db.example/fleet?table=city";
  m.integrity = manifestIntegrity({ ...m, integrity: undefined });
  await Deno.writeTextFile(path, JSON.stringify(m));
  const err = await readMapManifest(dir).then(() => null, (e) => e);
  assert.ok(err instanceof MapFormatError, String(err));
  assert.match(err.message, /field 'fleet\.target'.*carries a password/);
  assert.doesNotMatch(err.message, /hunter2/);
  m.fleet.target = "mysql://x";
  m.integrity = manifestIntegrity({ ...m, integrity: undefined });
  await Deno.writeTextFile(path, JSON.stringify(m));
  await assert.rejects(readMapManifest(dir), /field 'fleet\.target'/);
  // --robot belongs to fleet maps.
  const noFleet = await runCli(["slam", "--source", "sim", "--out", `${dir}3`, "--robot", "r1"]);
  assert.equal(noFleet.code, 2);
  assert.match(noFleet.stderr, /'robot' must be given for a fleet map/);
  const noFleet2 = await runCli(["map", "build", "/nonexistent/ds", "--out", `${dir}4`, "--robot", "r1"]);
  assert.equal(noFleet2.code, 2);
  assert.match(noFleet2.stderr, /'robot' must be given with a database --index/);
  // The command line refuses a password too, before building anything.
  const r = await runCli([
    "map",
    "build",
    "/nonexistent/ds",
    "--out",
    `${dir}2`,
    "--index",
    "postgres://robot:hunter2@db.example/fleet?table=city",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /IndexError: .*carries a password/);
  assert.doesNotMatch(r.stderr, /hunter2/);
});

Deno.test("a fleet map on a table of another dimension or model id is refused naming both", async () => {
  const root = await tempDir();
  const db = `${root}/db`;
  const index = await PgVectorIndex.open(`pglite:${db}?table=city`, 8, { modelId: "other-model" });
  index.close();
  const dir = `${root}/map`;
  const fleet = { target: `pglite:${db}?table=city`, robot: "map", session: "s1" };
  await writeMap(dir, {
    model: { name: "fake", id: "fake-id", dim: 4, bundled: false },
    places: [{ placeId: 0, image: "0.jpg" }],
    descriptors: new Float32Array([0.5, 0.5, 0.5, 0.5]),
    index: { kind: "exact" },
    fleet,
  });
  const err = await openMapFleet(dir, await readMapManifest(dir), { refreshMs: 0 }).then(
    () => null,
    (e) => e,
  );
  assert.ok(err instanceof IndexError, String(err));
  assert.match(err.message, /8/);
  assert.match(err.message, /4/);
  const m2 = `${root}/map2`;
  await writeMap(m2, {
    model: { name: "fake", id: "fake-id", dim: 8, bundled: false },
    places: [{ placeId: 0, image: "0.jpg" }],
    descriptors: new Float32Array(8).fill(0.35),
    index: { kind: "exact" },
    fleet,
  });
  const err2 = await openMapFleet(m2, await readMapManifest(m2), { refreshMs: 0 }).then(() => null, (e) => e);
  assert.ok(err2 instanceof IndexError, String(err2));
  assert.match(err2.message, /other-model/);
  assert.match(err2.message, /fake-id/);
});
