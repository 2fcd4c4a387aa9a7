import assert from "node:assert/strict";
import { loadMap } from "../../src/map/map_loader.ts";
import { acquireMapLock, MapLockedError, mapLockPath } from "../../src/map/lock.ts";
import { FakeModel } from "./_fake.ts";
import { tempDir } from "./_tmp.ts";

const child = new URL("./_map_rewriter.ts", import.meta.url).pathname;

Deno.test("a map writer killed with SIGKILL at random points always leaves a loadable, complete map", async () => {
  const dir = `${await tempDir()}/map`;
  const model = new FakeModel();
  for (let round = 0; round < 5; round++) {
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, dir],
      stdout: "piped",
      stderr: "null",
    })
      .spawn();
    const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let committed = 0, buf = "";
    const want = 2 + round; // let a few versions commit, then kill at a varying moment
    while (committed < want) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      committed += lines.length;
    }
    await new Promise((r) => setTimeout(r, round * 7));
    proc.kill("SIGKILL");
    await proc.status;
    await reader.cancel().catch(() => {});
    const map = await loadMap(dir, { model }); // a reader needs no lock; recovers, verifies every checksum
    const n = map.places.length;
    assert.ok(n >= 3, `places ${n}`);
    assert.ok(map.places.every((p, i) => p.image === `v${n}_${i}.jpg`), "one consistent version");
    assert.equal(map.index.size, n);
    // The killed writer's lock (unless it died between two writes) is reported as stale, never broken
    // silently; the user removes it.
    const lockFile = await Deno.stat(mapLockPath(dir)).then(() => true, () => false);
    if (lockFile) {
      await assert.rejects(
        acquireMapLock(dir),
        (e) => e instanceof MapLockedError && /stale lock/.test(e.message),
      );
      await Deno.remove(mapLockPath(dir));
    }
  }
});
