import assert from "node:assert/strict";
import type { HnswIndex } from "../../src/index/hnsw_index.ts";
import { loadMap, readMapManifest } from "../../src/map/map_loader.ts";
import { tempDir } from "../map/_tmp.ts";
import { runCli } from "./_capture.ts";
import { simDataset } from "./_sim_fixture.ts";

/**
 * At least 5 loop closures printed by a second session, each to the same place of the first: frame i of the
 * second lap is where keyframe i of the first was (same route, 40 frames a lap).
 */
function assertLoopsToFirstSession(stdout: string): void {
  const loops = stdout.split("\n").filter((l) => l.startsWith("LOOP "));
  assert.ok(loops.length >= 5, `loops to the first session:\n${stdout}`);
  for (const l of loops) {
    const seq = Number(l.match(/^LOOP #(\d+)/)![1]), place = Number(l.match(/-> place (\d+)/)![1]);
    assert.ok(place < 40 && Math.abs(place - seq) <= 2, `a loop to the same place of session 1: ${l}`);
  }
}

Deno.test("waymark slam --help documents the vocabulary; missing --out or a bad --fsync is a usage error", async () => {
  const h = await runCli(["slam", "--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Vocabulary with no prior map: the shipped generic one/);
  // Loops are verified by default; the old behaviour (trusting the detector) is an explicit option.
  assert.match(h.stdout, /--unverified-loops/);
  assert.match(h.stdout, /--no-verify/);
  const c = await runCli([
    "slam",
    "--source",
    "sim",
    "--out",
    `${await tempDir()}/m`,
    "--min-confidence",
    "2",
  ]);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /min-confidence/);
  const a = await runCli(["slam", "--source", "sim"]);
  assert.equal(a.code, 2);
  assert.match(a.stderr, /--source and --out are required/);
  const b = await runCli([
    "slam",
    "--source",
    "sim",
    "--out",
    `${await tempDir()}/m`,
    "--fsync",
    "sometimes",
  ]);
  assert.equal(b.code, 2);
  assert.match(b.stderr, /'fsync' must be always, never or a positive number of ms/);
});

Deno.test("waymark slam writes a journaled map, a second session extends it with loops to the first, reload works", async () => {
  const ds = await simDataset();
  const out = `${await tempDir()}/slam_map`;
  // Session 1: the first traversal (no revisit yet).
  const first = await runCli([
    "slam",
    "--source",
    `dataset:${ds}#database`,
    "--out",
    out,
    "--rate",
    "25",
    "--backpressure",
    "queue:64",
  ]);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /map .*: 40 places \(40 new keyframes, generation 1\), \d+ loop closures/);
  const m1 = await readMapManifest(out);
  assert.equal(m1.counts.places, 40);
  assert.equal(m1.model.name, "waymark-generic");
  // Session 2: the second traversal revisits the same loop: it extends the map and closes loops with session 1.
  const second = await runCli([
    "slam",
    "--source",
    `dataset:${ds}#queries`,
    "--out",
    out,
    "--rate",
    "25",
    "--backpressure",
    "queue:64",
  ]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /extending .*: 40 places \(generation 1\)/);
  assert.match(second.stdout, /map .*: 80 places \(40 new keyframes, generation 2\)/);
  assertLoopsToFirstSession(second.stdout);
  // Reload: the folded map loads for localization, with every keyframe of both sessions.
  const map = await loadMap(out, { provider: "cpu" });
  try {
    assert.equal(map.places.length, 80);
    assert.equal(map.manifest.generation, 2);
    assert.deepEqual(map.places.map((p) => p.placeId), Array.from({ length: 80 }, (_, i) => i));
  } finally {
    await map.model.close();
  }
  const journal = await Deno.stat(`${out}/journal.wal`).then((s) => s.size).catch(() => 0);
  assert.ok(journal < 4096, "the journal is folded into the map at the end");
});

Deno.test("waymark slam extending a map with --session-index hnsw starts from the map's own index and closes loops", async () => {
  const ds = await simDataset();
  const out = `${await tempDir()}/slam_map`;
  const common = ["--out", out, "--rate", "25", "--backpressure", "queue:64"];
  const first = await runCli(["slam", "--source", `dataset:${ds}#database`, ...common]);
  assert.equal(first.code, 0, first.stderr);
  // auto with 40 keyframes fills no index: compaction builds the map's.
  assert.match(first.stderr, /building the saved map's index from all 40 places \(normal .*held 0 of them\)/);
  assert.match(first.stderr, /map saved in [\d.]+ s \(index rebuilt\)/);
  const index = `${out}/index.hnsw`;
  const before = await Deno.readFile(index);
  const second = await runCli([
    "slam",
    "--source",
    `dataset:${ds}#queries`,
    ...common,
    "--session-index",
    "hnsw",
  ]);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stderr, /the session index starts from the map's \(40 places\)/);
  assert.match(second.stdout, /map .*: 80 places \(40 new keyframes, generation 2\)/);
  assertLoopsToFirstSession(second.stdout);
  // The session index holds all 80 places (the map's 40, then the run's): compaction saves it, no rebuild.
  assert.match(second.stderr, /map saved in [\d.]+ s \(index reused from the session\)/);
  assert.doesNotMatch(second.stderr, /rebuilding/);
  const map = await loadMap(out, { provider: "cpu" });
  try {
    assert.equal(map.index.size, 80);
    assert.deepEqual((map.index as HnswIndex).ids().sort((a, b) => a - b), [...Array(80).keys()]);
    assert.notDeepEqual(await Deno.readFile(index), before);
  } finally {
    await map.model.close();
  }
  const dense = await runCli(["slam", "--source", "sim", "--out", out, "--session-index", "ivf"]);
  assert.equal(dense.code, 2);
  assert.match(dense.stderr, /'session-index' must be auto, dense or hnsw/);
});
