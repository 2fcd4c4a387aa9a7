// Issue 14 items 1 and 2 at the command line: commands that write refuse a path that is not theirs (exit != 0,
// every file kept), --force replaces only a Waymark map, a second writer fails at once naming the holder.
import assert from "node:assert/strict";
import { acquireMapLock } from "../../src/map/lock.ts";
import { readMapManifest } from "../../src/map/map_loader.ts";
import { tempDir } from "../map/_tmp.ts";
import { runCli } from "./_capture.ts";
import { GENERIC_MODEL, simDataset } from "./_sim_fixture.ts";

const build = async (out: string, ...extra: string[]) =>
  await runCli([
    "map",
    "build",
    await simDataset(),
    "--out",
    out,
    "--model",
    GENERIC_MODEL,
    "--index",
    "exact",
    "--no-local-features",
    ...extra,
  ]);

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("waymark map build --out <folder with the user's files> refuses (exit 2) and keeps them", async () => {
  const d = await tempDir("waymark_user_");
  await Deno.writeTextFile(`${d}/notes.txt`, "keep");
  for (const extra of [[], ["--force"]]) {
    const r = await build(d, ...extra);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /ValidationError: Cannot build map to .*: the folder is not a Waymark map \(it holds notes\.txt\)/,
    );
  }
  assert.deepEqual(await names(d), ["notes.txt"]);
  assert.equal(await Deno.readTextFile(`${d}/notes.txt`), "keep");
});

Deno.test("waymark map build --out <regular file> refuses and leaves the file", async () => {
  const f = `${await tempDir()}/out`;
  await Deno.writeTextFile(f, "a file");
  const r = await build(f, "--force");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /is not a folder/);
  assert.equal(await Deno.readTextFile(f), "a file");
});

Deno.test("waymark map build onto a map needs --force, and then replaces it", async () => {
  const out = `${await tempDir()}/map`;
  assert.equal((await build(out)).code, 0);
  const first = await readMapManifest(out);
  const again = await build(out);
  assert.equal(again.code, 2);
  assert.match(
    again.stderr,
    /already holds a Waymark map; choose another path, or replace it \(map build --force/,
  );
  assert.equal((await readMapManifest(out)).created, first.created, "the map is untouched");
  const forced = await build(out, "--force");
  assert.equal(forced.code, 0, forced.stderr);
  assert.notEqual((await readMapManifest(out)).created, first.created);
});

Deno.test("waymark map build fails at once while another writer holds the map's lock, naming it", async () => {
  const out = `${await tempDir()}/map`;
  const lock = await acquireMapLock(out, { command: "waymark slam" });
  try {
    const r = await build(out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /MapLockedError: .*this process already holds its lock/);
  } finally {
    await lock.release();
  }
});

Deno.test("waymark slam --out <folder with the user's files, or a file> refuses before starting", async () => {
  const d = await tempDir("waymark_user_");
  await Deno.writeTextFile(`${d}/notes.txt`, "keep");
  const r = await runCli(["slam", "--source", `dataset:${await simDataset()}#database`, "--out", d]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /Cannot run slam to .*: the folder is not a Waymark map \(it holds notes\.txt\)/);
  assert.deepEqual(await names(d), ["notes.txt"]);
  const f = `${await tempDir()}/file`;
  await Deno.writeTextFile(f, "x");
  const g = await runCli(["slam", "--source", "sim", "--out", f]);
  assert.equal(g.code, 2);
  assert.match(g.stderr, /is not a folder/);
  assert.equal(await Deno.readTextFile(f), "x");
});

Deno.test("waymark sim export and train refuse a file or a folder with other content (no stack trace)", async () => {
  const f = `${await tempDir()}/file`;
  await Deno.writeTextFile(f, "x");
  const s = await runCli(["sim", "export", f, "--frames", "20"]);
  assert.equal(s.code, 2, s.stderr);
  assert.match(s.stderr, /Cannot export a simulated dataset to .*: it is not a folder/);
  const d = await tempDir("waymark_user_");
  await Deno.writeTextFile(`${d}/notes.txt`, "keep");
  const s2 = await runCli(["sim", "export", d, "--frames", "20", "--force"]);
  assert.equal(s2.code, 2);
  assert.match(s2.stderr, /the folder holds other files \(notes\.txt\)/);
  const t = await runCli(["train", await simDataset(), "--out", f]);
  assert.equal(t.code, 2);
  assert.match(t.stderr, /Cannot train to .*: it is not a folder/);
  const t2 = await runCli(["train", await simDataset(), "--out", d]);
  assert.equal(t2.code, 2);
  assert.match(t2.stderr, /the folder holds other files \(notes\.txt\)/);
  assert.deepEqual(await names(d), ["notes.txt"]);
  assert.equal(await Deno.readTextFile(f), "x");
});

Deno.test("two waymark slam --out D at once: the second fails at once naming the first; the first saves its map", async () => {
  const out = `${await tempDir()}/slam_map`;
  const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
  const first = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", main, "slam", "--source", "sim", "--out", out, "--rate", "10"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drain both pipes in the background (a full pipe would stall the child).
  const drain = (r: ReadableStream<Uint8Array>) => r.pipeTo(new WritableStream()).catch(() => {});
  const drained = [drain(first.stdout), drain(first.stderr)];
  let ended = false;
  first.status.then(() => ended = true);
  try {
    // wait until the first session journals keyframes (it holds the lock from its start)
    while (!(await Deno.stat(`${out}/journal.wal`).then((s) => s.size > 200, () => false))) {
      assert.ok(!ended, "the first slam ended before journaling");
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = await runCli(["slam", "--source", "sim", "--out", out]);
    assert.equal(second.code, 1);
    assert.match(
      second.stderr,
      new RegExp(
        `MapLockedError: .*another writer holds its lock .*: pid ${first.pid} on .* \\(waymark slam, since `,
      ),
    );
  } finally {
    first.kill("SIGINT"); // a normal stop: the first session saves its map and releases the lock
  }
  const status = await first.status;
  await Promise.all(drained);
  assert.equal(status.code, 0);
  const m = await readMapManifest(out);
  assert.ok(m.counts.places > 0);
  await assert.rejects(Deno.stat(`${out}.lock`), Deno.errors.NotFound);
});
