// Issue 14 item 2: one writer at a time per map folder.
import assert from "node:assert/strict";
import { MapFormatError } from "../../src/errors.ts";
import { compactMap } from "../../src/map/compact.ts";
import { KeyframeJournal } from "../../src/map/journal.ts";
import { acquireMapLock, MapLockedError, mapLockPath, readMapLock } from "../../src/map/lock.ts";
import { loadMap } from "../../src/map/map_loader.ts";
import { writeMap } from "../../src/map/map_writer.ts";
import { buildMap } from "../../src/map/build_map.ts";
import { decodeFake, fakeImageFolder, FakeModel } from "./_fake.ts";
import { tempDir } from "./_tmp.ts";

const child = new URL("./_lock_holder.ts", import.meta.url).pathname;
const model = { name: "fake-grid", id: "fake-model-1", dim: 16, bundled: false };
const content = (n: number) => ({
  model,
  places: Array.from({ length: n }, (_, i) => ({ placeId: i, image: `${i}.jpg`, stamp: i })),
  descriptors: new Float32Array(n * 16).map((_, i) => ((i * 7) % 11) / 11 + 0.01),
  index: { kind: "exact" as const },
});

Deno.test("two journal writers on one map folder: the second fails at once naming the holder", async () => {
  const dir = await tempDir();
  const path = `${dir}/map/journal.wal`;
  await Deno.mkdir(`${dir}/map`);
  const a = await KeyframeJournal.open(path, { dim: 4 });
  await assert.rejects(
    KeyframeJournal.open(path, { dim: 4 }),
    (e) =>
      e instanceof MapLockedError && e instanceof MapFormatError &&
      /this process already holds its lock/.test(e.message),
  );
  await a.close();
  // released on close: a new writer may open it
  await (await KeyframeJournal.open(path, { dim: 4 })).close();
  assert.equal(await readMapLock(`${dir}/map`), null, "no lock left after close");
});

Deno.test("a writer in another process holds the lock: writers fail naming pid, host and command; readers load", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(3));
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = "";
    while (!seen.includes("locked")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the lock holder exited");
      seen += value;
    }
    const holder = new RegExp(
      `another writer holds its lock .*: pid ${proc.pid} on .* \\(lock-holder test, since `,
    );
    const isHeld = (e: unknown) => e instanceof MapLockedError && holder.test((e as Error).message);
    await assert.rejects(writeMap(dir, content(4), { replace: true }), isHeld);
    await assert.rejects(KeyframeJournal.open(`${dir}/journal.wal`, { dim: 16 }), isHeld);
    await assert.rejects(compactMap(dir), isHeld);
    await assert.rejects(acquireMapLock(dir), isHeld);
    const map = await loadMap(dir, { model: new FakeModel() }); // readers never need the lock
    assert.equal(map.places.length, 3);
  } finally {
    await proc.stdin.close();
    await reader.cancel().catch(() => {});
    await proc.status;
  }
  assert.equal(await readMapLock(dir), null, "the holder released it on exit");
  await writeMap(dir, content(4), { replace: true });
});

Deno.test("a stale lock from a dead process is reported with the command to clear it, never broken silently", async () => {
  const dir = `${await tempDir()}/map`;
  await writeMap(dir, content(3));
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", child, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("locked")) seen += (await reader.read()).value ?? "";
  proc.kill("SIGKILL"); // dies holding the lock
  await proc.status;
  await reader.cancel().catch(() => {});
  await proc.stdin.close().catch(() => {});
  const before = await Deno.readTextFile(mapLockPath(dir));
  await assert.rejects(
    writeMap(dir, content(4), { replace: true }),
    (e) =>
      e instanceof MapLockedError && e.context.stale === true &&
      e.message.includes(`stale lock ${mapLockPath(dir)} left by pid ${proc.pid}`) &&
      e.message.includes(`rm '${mapLockPath(dir)}'`),
  );
  assert.equal(await Deno.readTextFile(mapLockPath(dir)), before, "the stale lock is left in place");
  assert.equal((await loadMap(dir, { model: new FakeModel() })).places.length, 3, "the map is untouched");
  await Deno.remove(mapLockPath(dir)); // what the message says to do
  await writeMap(dir, content(4), { replace: true });
});

Deno.test("an unreadable lock file is reported, not taken over", async () => {
  const dir = `${await tempDir()}/map`;
  await Deno.writeTextFile(mapLockPath(dir), "");
  await assert.rejects(
    writeMap(dir, content(2)),
    (e) => e instanceof MapLockedError && /exists but is unreadable .* rm '/.test((e as Error).message),
  );
});

Deno.test("the lock is released when a write fails (buildMap with no decodable image, a failing step)", async () => {
  const src = await fakeImageFolder(0, { "1.png": new Uint8Array([1, 2, 3]) });
  const out = `${src}_map`;
  await assert.rejects(
    buildMap(src, out, { model: new FakeModel(), decode: decodeFake, onWarning: () => {} }),
  );
  assert.equal(await readMapLock(out), null);
  const dir = `${await tempDir()}/map`;
  await assert.rejects(
    writeMap(dir, content(2), {
      onStep: (s) => {
        if (s === "staged-manifest") throw new Error("crash");
      },
    }),
    /crash/,
  );
  assert.equal(await readMapLock(dir), null);
});
