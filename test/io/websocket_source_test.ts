import assert from "node:assert/strict";
import { FakeWsCamera } from "../_fake_ws_camera.ts";
import { websocketSource } from "../../src/io/websocket_source.ts";
import { encodeRawFrame } from "../../src/io/raw_frame.ts";
import { encodeBase64 } from "../../src/io/base64.ts";
import { ValidationError } from "../../src/errors.ts";
import { collect, errorNames } from "./_collect.ts";

const FAST = { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 };
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

Deno.test("websocketSource() receives binary JPEG, PNG, WMRW raw frames and JSON envelopes exactly", async () => {
  const cam = await FakeWsCamera.start();
  const src = websocketSource(cam.url, { backoff: FAST });
  const c = collect(src);
  try {
    await c.waitFor(() => cam.clientCount === 1, "the connection");
    const pixels = new Uint8Array(4 * 3 * 2).map((_, i) => i);
    cam.send(JPEG);
    cam.send(PNG);
    cam.send(
      encodeRawFrame({ width: 4, height: 2, encoding: "bgr8", data: pixels, stamp: 3.25, frameId: "left" }),
    );
    cam.send(JSON.stringify({ stamp: 10.5, frame_id: "cam", format: "jpeg", data: encodeBase64(JPEG) }));
    cam.send(JSON.stringify({ stamp: 11, format: "rgb8", width: 4, height: 2, data: encodeBase64(pixels) }));
    await c.waitFor(() => c.frames.length === 5, "five frames");
    const [a, b, r, j, jr] = c.frames;
    assert.deepEqual(a.image, { kind: "encoded", format: "jpeg", data: JPEG });
    assert.deepEqual(b.image, { kind: "encoded", format: "png", data: PNG });
    assert.deepEqual(r.image, {
      kind: "raw",
      width: 4,
      height: 2,
      encoding: "bgr8",
      step: 12,
      bigEndian: false,
      data: pixels,
    });
    assert.equal(r.stamp, 3.25);
    assert.equal(r.frameId, "left");
    assert.deepEqual(j.image, { kind: "encoded", format: "jpeg", data: JPEG });
    assert.equal(j.stamp, 10.5);
    assert.equal(j.frameId, "cam");
    assert.equal(jr.image.kind === "raw" && jr.image.encoding, "rgb8");
    assert.deepEqual(jr.image.data, pixels);
    assert.deepEqual(c.frames.map((f) => f.seq), [0, 1, 2, 3, 4]);
    assert.ok(Math.abs(a.stamp - Date.now() / 1000) < 5, "receive time when the sender gives none");
    assert.equal(a.source, cam.url);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await cam.close();
  }
});

Deno.test("websocketSource() counts each malformed message as a typed error event and continues", async () => {
  const cam = await FakeWsCamera.start();
  const src = websocketSource(cam.url, { backoff: FAST });
  const c = collect(src);
  const bad: [string | Uint8Array, RegExp][] = [
    ["{not json", /not valid JSON/],
    [JSON.stringify([1, 2]), /must be an object/],
    [JSON.stringify({ format: "jpeg", data: "/9j/4A*A" }), /not valid base64/],
    [JSON.stringify({ format: "jpeg", data: encodeBase64(PNG) }), /says jpeg but the data is png/],
    [JSON.stringify({ format: "yuv422", data: "AAAA" }), /'format' must be/],
    [JSON.stringify({ format: "rgb8", width: 3, height: 2, data: "AAAA" }), /must equal the data length/],
    [
      JSON.stringify({ format: "mono8", width: 1e9, height: 1e9, data: "AAAA" }),
      /'width' must be an integer/,
    ],
    [JSON.stringify({ stamp: "now", format: "jpeg", data: encodeBase64(JPEG) }), /'stamp' must be seconds/],
    [new Uint8Array([1, 2, 3, 4, 5]), /neither JPEG, PNG nor WMRW/],
    [
      encodeRawFrame({ width: 2, height: 2, encoding: "mono8", data: new Uint8Array(4) }).subarray(0, 35),
      /expected/,
    ],
  ];
  try {
    await c.waitFor(() => cam.clientCount === 1, "the connection");
    for (const [i, [payload, re]] of bad.entries()) {
      cam.send(payload);
      cam.send(JPEG);
      await c.waitFor(() => c.frames.length === i + 1, `the frame after bad message ${i}`);
      const errs = c.events.filter((e) => e.kind === "error");
      assert.equal(errs.length, i + 1);
      assert.equal(errs[i].kind === "error" && errs[i].error, "FrameFormatError");
      assert.match(errs[i].kind === "error" ? errs[i].message : "", re);
    }
    assert.equal(src.counters.errors, bad.length);
    assert.equal(src.counters.frames, bad.length);
    assert.equal(c.errors.length, 0);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await cam.close();
  }
});

Deno.test("websocketSource() sends the bearer token, and a refused token (401) is fatal", async () => {
  const cam = await FakeWsCamera.start({ token: "s3cret" });
  const good = websocketSource(cam.url, { token: "s3cret", backoff: FAST });
  const bad = websocketSource(cam.url, { token: "wrong", backoff: FAST });
  const g = collect(good);
  const b = collect(bad);
  try {
    await g.waitFor(() => cam.clientCount === 1, "the authorised connection");
    cam.send(JPEG);
    await g.waitFor(() => g.frames.length === 1, "a frame");
    await b.waitFor(() => b.errors.length === 1, "the fatal 401");
    assert.match(String(b.errors[0]), /HTTP 401/);
    assert.equal(cam.rejected, 1);
    assert.deepEqual(errorNames(b.events), []);
  } finally {
    g.sub.unsubscribe();
    b.sub.unsubscribe();
    await good.close();
    await bad.close();
    await cam.close();
  }
});

Deno.test("websocketSource() reconnects after a drop and frames resume", async () => {
  const cam = await FakeWsCamera.start({ everyMs: 10, frame: () => JPEG });
  const src = websocketSource(cam.url, { backoff: { initialDelayMs: 25, maxDelayMs: 50, jitter: 0 } });
  const c = collect(src);
  try {
    await c.waitFor(() => c.frames.length >= 3, "frames");
    cam.dropAll();
    await c.waitFor(() => src.counters.connections === 2, "the reconnect");
    const n = c.frames.length;
    await c.waitFor(() => c.frames.length >= n + 3, "frames after the reconnect");
    const states = c.events.flatMap((e) => e.kind === "connection" ? [e.state] : []);
    assert.deepEqual(states.slice(0, 6), [
      "connecting",
      "open",
      "closed",
      "reconnecting",
      "connecting",
      "open",
    ]);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await cam.close();
  }
});

Deno.test("websocketSource() validates its URL and options up front", () => {
  assert.throws(() => websocketSource("http://x"), ValidationError);
  assert.throws(() => websocketSource("ws://x", { token: "" }), ValidationError);
  assert.throws(() => websocketSource("ws://x", { maxPayload: 0 }), ValidationError);
  assert.throws(() => websocketSource("ws://x", { backoff: { factor: 0.5 } }), ValidationError);
});

Deno.test("websocketSource() drops and reconnects a connection that stops answering pings (half-open)", async () => {
  const cam = await FakeWsCamera.start({ autoPong: false });
  const src = websocketSource(cam.url, { pingIntervalMs: 30, backoff: FAST });
  const c = collect(src);
  try {
    await c.waitFor(() => src.counters.connections >= 2, "a reconnect after the missed pong");
    const states = c.events.flatMap((e) => e.kind === "connection" ? [e.state] : []);
    assert.deepEqual(states.slice(0, 4), ["connecting", "open", "closed", "reconnecting"]);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await cam.close();
  }
  const healthy = await FakeWsCamera.start();
  const src2 = websocketSource(healthy.url, { pingIntervalMs: 20, backoff: FAST });
  const c2 = collect(src2);
  try {
    await c2.waitFor(() => src2.counters.connections === 1, "the connection");
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(src2.counters.connections, 1, "a peer that answers pings keeps its connection");
  } finally {
    c2.sub.unsubscribe();
    await src2.close();
    await healthy.close();
  }
});
