import assert from "node:assert/strict";
import { lastValueFrom, toArray } from "rxjs";
import { replaySource } from "../../src/io/replay_source.ts";
import { ValidationError } from "../../src/errors.ts";
import { collect, errorNames } from "./_collect.ts";

async function tempImages(n: number): Promise<{ dir: string; paths: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_replay_" });
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = `${dir}/${String(i).padStart(3, "0")}.${i % 2 ? "png" : "jpg"}`;
    await Deno.writeFile(p, new Uint8Array([i, i + 1, i + 2]));
    paths.push(p);
  }
  return { dir, paths };
}

Deno.test("replaySource() as fast as possible emits every file's exact bytes in order, with stamps and positions", async () => {
  const { dir, paths } = await tempImages(5);
  try {
    const entries = paths.map((path, i) => ({
      index: i,
      image: path,
      path,
      stamp: 100 + i * 10,
      position: { x: i, y: -i },
    }));
    const src = replaySource(entries, { rate: "max" });
    const t0 = performance.now();
    const frames = await lastValueFrom(src.frames().pipe(toArray()));
    assert.ok(performance.now() - t0 < 2000, "max rate does not wait for the 40 s of recorded time");
    assert.equal(frames.length, 5);
    for (const [i, f] of frames.entries()) {
      assert.equal(f.seq, i);
      assert.equal(f.stamp, 100 + i * 10);
      assert.deepEqual(f.position, { x: i, y: -i });
      assert.equal(f.source, paths[i]);
      assert.deepEqual(f.image, {
        kind: "encoded",
        format: i % 2 ? "png" : "jpeg",
        data: new Uint8Array([i, i + 1, i + 2]),
      });
    }
    assert.equal(src.counters.frames, 5);
    await src.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaySource() follows recorded stamps scaled by speed, and a fixed fps", async () => {
  const { dir, paths } = await tempImages(4);
  try {
    const recorded = replaySource(paths.map((path, i) => ({ path, stamp: i * 0.1 })), { speed: 2 }); // 50 ms apart
    const times: number[] = [];
    const t0 = performance.now();
    await lastValueFrom(recorded.frames().pipe(toArray())).then((fs) => fs.length);
    times.push(performance.now() - t0);
    assert.ok(times[0] >= 145, `3 gaps of 50 ms took ${times[0].toFixed(0)} ms`);
    const fixed = replaySource(paths.map((path) => ({ path })), { rate: 40 }); // 25 ms apart, stamps i / fps
    const t1 = performance.now();
    const frames = await lastValueFrom(fixed.frames().pipe(toArray()));
    const took = performance.now() - t1;
    assert.ok(took >= 70, `3 gaps of 25 ms took ${took.toFixed(0)} ms`);
    assert.deepEqual(frames.map((f) => f.stamp), [0, 0.1, 0.2, 0.3]); // default fps 10 for missing stamps
    await recorded.close();
    await fixed.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaySource() reports a missing file as a counted DatasetError event and goes on, or fails when asked", async () => {
  const { dir, paths } = await tempImages(2);
  try {
    const entries = [{ path: paths[0] }, { path: `${dir}/missing.jpg` }, { path: paths[1] }];
    const src = replaySource(entries, { rate: "max" });
    const c = collect(src);
    await c.waitFor(() => c.completed, "completion");
    assert.equal(c.frames.length, 2);
    assert.deepEqual(errorNames(c.events), ["DatasetError"]);
    assert.equal(src.counters.errors, 1);
    const strict = replaySource(entries, { rate: "max", failOnMissing: true });
    await assert.rejects(lastValueFrom(strict.frames()), /missing\.jpg/);
    c.sub.unsubscribe();
    await src.close();
    await strict.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaySource() stops reading when unsubscribed and reads lazily from an async iterable", async () => {
  const { dir, paths } = await tempImages(3);
  try {
    let pulled = 0;
    const entries = async function* () {
      for (const path of paths) {
        pulled++;
        yield { path, stamp: pulled * 10 }; // 10 s apart: only the first is due soon
      }
    };
    const src = replaySource(entries());
    const c = collect(src);
    await c.waitFor(() => c.frames.length === 1, "the first frame");
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(pulled, 2, "the second entry is read ahead, not the third");
    c.sub.unsubscribe();
    await src.close();
    assert.equal(c.frames.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("replaySource() validates its options", () => {
  assert.throws(() => replaySource([], { rate: 0 }), ValidationError);
  assert.throws(() => replaySource([], { rate: "fast" as "max" }), ValidationError);
  assert.throws(() => replaySource([], { speed: -1 }), ValidationError);
});
