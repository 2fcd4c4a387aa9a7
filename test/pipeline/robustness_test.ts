import assert from "node:assert/strict";
import { encodeImage } from "../../src/io/simulator/encode.ts";
import { websocketSource } from "../../src/io/websocket_source.ts";
import { localize } from "../../src/pipeline/localize_pipeline.ts";
import { withSourceEvents } from "../../src/pipeline/with_source.ts";
import type { WaymarkEvent } from "../../src/types.ts";
import { FakeWsCamera } from "../_fake_ws_camera.ts";
import { codeMap, fakeModel } from "./_fakes.ts";

/**
 * A JPEG whose left half holds `code` and right half `code + 40` (the fake model reads the place code from the
 * first pixel; the step gives the frame content, so that it is not skipped as uniform).
 */
async function codeJpeg(code: number): Promise<Uint8Array> {
  const data = new Uint8Array(768);
  for (let i = 0; i < 256; i++) data.fill(i % 16 < 8 ? code : code + 40, i * 3, i * 3 + 3);
  return await encodeImage({ width: 16, height: 16, channels: 3, data }, "jpeg", 100);
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("live pipeline over a WebSocket camera: malformed input is counted and typed, a dropped connection is restored", async () => {
  const cam = await FakeWsCamera.start();
  const source = websocketSource(cam.url, { backoff: { initialDelayMs: 20, maxDelayMs: 50, jitter: 0 } });
  const { events$ } = localize(source.frames(), {
    model: fakeModel(),
    map: codeMap(40),
    loops: false,
    statsIntervalMs: 100,
  });
  const events: WaymarkEvent[] = [];
  const sub = withSourceEvents(source, events$).subscribe((e) => events.push(e));
  const estimates = () => events.filter((e) => e.kind === "estimate").length;
  const errors = () => events.filter((e) => e.kind === "error") as Extract<WaymarkEvent, { kind: "error" }>[];
  try {
    await until(() => cam.clientCount === 1, "the camera connection");
    const good = await codeJpeg(10);
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const bad: (string | Uint8Array)[] = [
      truncated, // passes the source (a JPEG by its magic), fails in the decode stage
      JSON.stringify({ format: "jpeg", data: "/9j/4A*A" }), // bad base64
      JSON.stringify({ format: "yuv422", data: "AAAA" }), // wrong encoding
      JSON.stringify({ format: "rgb8", width: 3, height: 2, data: "AAAA" }), // width*height vs data
      JSON.stringify({ format: "mono8", width: 1e9, height: 1e9, data: "AAAA" }), // huge declared size
      "{not json", // invalid JSON
    ];
    for (const [i, msg] of bad.entries()) {
      cam.send(msg);
      cam.send(await codeJpeg(11 + i));
      await until(() => estimates() === i + 1, `the estimate after bad message ${i}`);
      assert.equal(errors().length, i + 1, `one error event per bad message (${i})`);
    }
    const errs = errors();
    assert.equal(errs[0].error, "ImageDecodeError", errs[0].message);
    assert.match(errs[0].message, /truncated JPEG/);
    assert.ok(errs.slice(1).every((e) => e.error === "FrameFormatError"), JSON.stringify(errs));
    // The source counts the messages it rejected; the merged stream's stats count every error event, by cause.
    assert.equal(source.counters.errors, bad.length - 1);
    await until(
      () =>
        events.some((e) => e.kind === "stats" && e.errors === bad.length && e.received === bad.length + 1),
      "stats",
    );
    const counted = events.find((e) => e.kind === "stats" && e.errors === bad.length);
    assert.deepEqual(counted?.kind === "stats" && counted.errorsByCause, {
      decode: 1,
      source: bad.length - 1,
    });
    // Drop and restore the connection: frames resume, the states are on the stream.
    cam.dropAll();
    await until(() => source.counters.connections === 2 && cam.clientCount === 1, "the reconnect");
    for (let i = 0; i < 3; i++) cam.send(await codeJpeg(20 + i));
    await until(() => estimates() === bad.length + 3, "estimates after the reconnect");
    const states = events.flatMap((e) => e.kind === "connection" ? [e.state] : []);
    assert.deepEqual(states.slice(-3), ["reconnecting", "connecting", "open"]);
    const last = events.filter((e) => e.kind === "estimate").at(-1)!;
    assert.equal(last.kind === "estimate" && last.estimate.placeId, 22);
    await until(() => events.some((e) => e.kind === "stats" && e.received === bad.length + 4), "final stats");
    const stats = events.filter((e) => e.kind === "stats").at(-1)!;
    assert.ok(
      stats.kind === "stats" && stats.processed === bad.length + 3 && stats.dropped === 0 &&
        stats.errors === bad.length,
    );
  } finally {
    sub.unsubscribe();
    await source.close();
    await cam.close();
  }
});
