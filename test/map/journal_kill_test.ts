import assert from "node:assert/strict";
import { KeyframeJournal } from "../../src/map/journal.ts";
import { MapLockedError, mapLockPath } from "../../src/map/lock.ts";
import { tempDir } from "./_tmp.ts";

const child = new URL("./_journal_writer.ts", import.meta.url).pathname;

for (const policy of ["always", "never"]) {
  Deno.test(`a writer killed with SIGKILL mid-stream loses no acknowledged keyframe (fsync ${policy})`, async () => {
    const dir = `${await tempDir()}/map`;
    await Deno.mkdir(dir);
    const path = `${dir}/journal.wal`;
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child, path, policy],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const acked: number[] = [];
    const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (acked.length < 40) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      const lines = buf.split("\n");
      buf = lines.pop()!;
      for (const l of lines) acked.push(Number(l));
    }
    proc.kill("SIGKILL");
    await proc.status;
    await reader.cancel().catch(() => {});
    assert.ok(acked.length >= 40, "the writer acknowledged keyframes");
    // The killed writer's lock is reported as stale, never broken silently; the user removes it.
    await assert.rejects(
      KeyframeJournal.open(path, { dim: 64 }),
      (e) => e instanceof MapLockedError && /stale lock .* no longer running.* rm '/.test(e.message),
    );
    await Deno.remove(mapLockPath(dir));
    const j = await KeyframeJournal.open(path, { dim: 64 });
    const ids = j.replayed.map((r) => r.placeId);
    assert.deepEqual(ids, ids.map((_, i) => i), "records are the contiguous ids 0..n-1");
    assert.ok(
      ids.length >= acked.at(-1)! + 1,
      `every acknowledged id survives: ${ids.length} vs ${acked.at(-1)}`,
    );
    for (const r of j.replayed) assert.equal(r.local![0], r.placeId & 0xff);
    await j.close();
  });
}
