import assert from "node:assert/strict";
import { lastValueFrom, take, toArray } from "rxjs";
import { needsShared, sharedPath } from "../_shared.ts";
import { openFrameSource } from "../../src/io/open_source.ts";
import { WebSocketSource } from "../../src/io/websocket_source.ts";
import { RosbridgeSource } from "../../src/io/rosbridge_source.ts";
import { ValidationError } from "../../src/errors.ts";

Deno.test("openFrameSource() picks the source kind from the spec and validates it", async () => {
  const ws = await openFrameSource("ws://127.0.0.1:1/cam");
  assert.ok(ws instanceof WebSocketSource);
  const rb = await openFrameSource("rosbridge://127.0.0.1:1/camera/image/compressed", {
    rosbridge: { compression: "cbor" },
  });
  assert.ok(rb instanceof RosbridgeSource);
  assert.equal((rb as RosbridgeSource).type, "sensor_msgs/CompressedImage");
  await ws.close();
  await rb.close();
  await assert.rejects(openFrameSource("http://x"), ValidationError);
  await assert.rejects(openFrameSource("dataset:"), ValidationError);
  await assert.rejects(openFrameSource("dataset:/tmp#nope"), ValidationError);
});

Deno.test("openFrameSource('sim') streams simulated frames", async () => {
  const src = await openFrameSource("sim", {
    simulator: { width: 32, height: 24, frames: 3, traversals: 1, rate: 0 },
  });
  const frames = await lastValueFrom(src.frames().pipe(toArray()));
  assert.equal(frames.length, 3);
  await src.close();
});

Deno.test({
  name: "openFrameSource('dataset:<dir>') replays queries.csv by default, and other lists on request",
  ...needsShared(),
  async fn() {
    const dir = sharedPath("data/rtabmap_samples_loop");
    const q = await openFrameSource(`dataset:${dir}`, { replay: { rate: "max" } });
    const first = await lastValueFrom(q.frames().pipe(take(2), toArray()));
    assert.match(first[0].source!, /images\/41\.jpg$/);
    assert.equal(first[0].image.kind === "encoded" && first[0].image.format, "jpeg");
    assert.equal(first[1].seq, 1);
    await q.close();
    const s = await openFrameSource(`dataset:${dir}#sequence`, { replay: { rate: "max" } });
    const seq = await lastValueFrom(s.frames().pipe(take(1), toArray()));
    assert.match(seq[0].source!, /images\/1\.jpg$/);
    await s.close();
  },
});

Deno.test("dataset:<dir>#list on a folder without that CSV names the list asked for and what the folder has", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_open_" });
  try {
    await Deno.writeFile(`${dir}/a.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 0xd9]));
    await assert.rejects(openFrameSource(`dataset:${dir}#queries`), (e: Error) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /#queries reads queries\.csv/);
      assert.match(e.message, /#folder replays its images/);
      assert.ok(!e.message.includes("database.csv"), e.message);
      return true;
    });
    await Deno.writeTextFile(`${dir}/sequence.csv`, "image,stamp\na.jpg,0\n");
    await assert.rejects(openFrameSource(`dataset:${dir}#database`), /it has #sequence \(sequence\.csv\)/);
    const src = await openFrameSource(`dataset:${dir}#folder`);
    await src.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
