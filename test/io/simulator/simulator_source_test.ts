import assert from "node:assert/strict";
import { firstValueFrom, lastValueFrom, take, toArray } from "rxjs";
import { ValidationError } from "../../../src/errors.ts";
import type { SourceEvent } from "../../../src/io/frame_source.ts";
import { planRoute } from "../../../src/io/simulator/route.ts";
import { createSimulatorSource, simulatorSource } from "../../../src/io/simulator_source.ts";

const SMALL = { width: 64, height: 48, frames: 6, traversals: 2, seed: 3 } as const;

Deno.test("simulatorSource() emits every route frame as JPEG with seq, stamp and true position, then completes", async () => {
  const frames = await lastValueFrom(simulatorSource({ ...SMALL, rate: 0 }).pipe(toArray()));
  const { traversals } = planRoute(SMALL);
  const steps = traversals.flat();
  assert.equal(frames.length, steps.length);
  frames.forEach((f, i) => {
    assert.equal(f.seq, i);
    assert.equal(f.stamp, steps[i].pose.stamp);
    assert.deepEqual(f.position, { x: steps[i].pose.x, y: steps[i].pose.y });
    assert.equal(f.frameId, "sim_camera");
    assert.equal(f.source, "sim:seed=3");
    assert.equal(f.image.kind, "encoded");
    if (f.image.kind === "encoded") {
      assert.equal(f.image.format, "jpeg");
      assert.deepEqual([...f.image.data.subarray(0, 2)], [0xff, 0xd8]);
    }
  });
});

Deno.test("simulatorSource() paces frames at the requested rate", async () => {
  const t0 = performance.now();
  const frames = await lastValueFrom(simulatorSource({ ...SMALL, rate: 25, maxFrames: 6 }).pipe(toArray()));
  const elapsed = performance.now() - t0;
  assert.equal(frames.length, 6);
  assert.ok(elapsed >= 5 * 40 - 5, `6 frames at 25 fps took only ${elapsed.toFixed(0)} ms`);
});

Deno.test("simulatorSource() loops over the route with increasing seq and stamps, raw rgb8 on request", async () => {
  const n = 12 * 2 + 5;
  const frames = await lastValueFrom(
    simulatorSource({ ...SMALL, rate: 0, loop: true, maxFrames: n, encoding: "raw" }).pipe(toArray()),
  );
  assert.equal(frames.length, n);
  for (let i = 1; i < n; i++) {
    assert.equal(frames[i].seq, i);
    assert.ok(frames[i].stamp > frames[i - 1].stamp, `stamp ${i} increases`);
  }
  assert.deepEqual(frames[12].position, frames[0].position, "the second round revisits the first pose");
  const img = frames[0].image;
  assert.equal(img.kind, "raw");
  if (img.kind === "raw") {
    assert.equal(img.encoding, "rgb8");
    assert.equal(img.step, 64 * 3);
    assert.equal(img.data.length, 64 * 48 * 3);
  }
});

Deno.test("simulatorSource() stops rendering when unsubscribed and validates options up front", async () => {
  const two = await firstValueFrom(
    simulatorSource({ ...SMALL, rate: 0, loop: true }).pipe(take(2), toArray()),
  );
  assert.equal(two.length, 2);
  assert.throws(() => simulatorSource({ rate: -1 }), ValidationError);
  assert.throws(() => simulatorSource({ encoding: "gif" as never }), /encoding/);
  assert.throws(() => simulatorSource({ quality: 0 }), /quality/);
});

Deno.test("createSimulatorSource() implements FrameSource: shared frames, counters, open/closed events, close", async () => {
  const source = createSimulatorSource({ ...SMALL, traversals: 1, rate: 0 });
  const events: SourceEvent[] = [];
  source.events().subscribe((e) => events.push(e));
  const [a, b] = await Promise.all([
    lastValueFrom(source.frames().pipe(toArray())),
    lastValueFrom(source.frames().pipe(toArray())),
  ]);
  assert.equal(a.length, 6);
  assert.deepEqual(a, b, "subscribers share one run");
  assert.equal(source.counters.frames, 6);
  assert.equal(source.counters.connections, 1);
  assert.deepEqual(events.map((e) => e.kind === "connection" ? e.state : e.kind), ["open", "closed"]);
  await source.close();
  await source.close();
  const after = await lastValueFrom(source.frames().pipe(toArray()));
  assert.equal(after.length, 0, "a closed source completes at once");
});

Deno.test("createSimulatorSource() close() completes a running looped source", async () => {
  const source = createSimulatorSource({ ...SMALL, rate: 50, loop: true });
  const done = lastValueFrom(source.frames().pipe(toArray()));
  await new Promise((r) => setTimeout(r, 120));
  await source.close();
  const frames = await done;
  assert.ok(frames.length >= 1 && frames.length < 40, `${frames.length} frames before close`);
});
