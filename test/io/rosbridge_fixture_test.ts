/**
 * Every compression mode recorded from a real rosbridge 0.11.17 server decodes to the exact published bytes.
 * These tests run the protocol functions offline; `rosbridge_source_test.ts` replays the same frames over a socket.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { needsShared } from "../_shared.ts";
import { FragmentAssembler } from "../../src/io/fragment_assembler.ts";
import { decodeRosImageBytes, decodeRosImageMessage } from "../../src/io/ros_messages.ts";
import {
  decodePngPayload,
  parseRosbridgeBinary,
  parseRosbridgeText,
} from "../../src/io/rosbridge_protocol.ts";
import { SCENARIOS, serverFrames, tinyJpeg } from "./_rosbridge_fixture.ts";

const TYPE = "sensor_msgs/CompressedImage";

Deno.test({
  name:
    "fixture: compression none (JSON, base64 with \\/ escapes) decodes to the exact JPEG bytes and ROS 1 stamp",
  ...needsShared(),
  fn() {
    const [frame] = serverFrames(SCENARIOS.none);
    const m = parseRosbridgeText(frame as string);
    assert.equal(m.op, "publish");
    assert.equal(m.topic, "/camera/image/compressed");
    const out = decodeRosImageMessage(m.msg, TYPE);
    assert.equal(out.image.kind, "encoded");
    assert.equal(out.image.kind === "encoded" && out.image.format, "jpeg");
    assert.deepEqual(out.image.data, tinyJpeg());
    assert.equal(out.frameId, "cam");
    assert.equal(out.rosSeq, 21);
    assert.ok(Math.abs(out.stamp! - (1795779014 + 342281818e-9)) < 1e-6);
  },
});

Deno.test({
  name: "fixture: compression cbor (byte string data) decodes to the exact JPEG bytes",
  ...needsShared(),
  fn() {
    const [frame] = serverFrames(SCENARIOS.cbor);
    assert.ok(frame instanceof Uint8Array);
    const m = parseRosbridgeBinary(frame);
    const out = decodeRosImageMessage(m.msg, TYPE);
    assert.deepEqual(out.image.data, tinyJpeg());
    assert.equal(out.frameId, "cam");
  },
});

Deno.test({
  name: "fixture: compression cbor-raw (ROS 1 serialised bytes) decodes to the exact JPEG bytes and header",
  ...needsShared(),
  fn() {
    const [frame] = serverFrames(SCENARIOS.cborRaw);
    const m = parseRosbridgeBinary(frame as Uint8Array);
    const msg = m.msg as { secs: number; nsecs: number; bytes: Uint8Array };
    assert.equal(typeof msg.secs, "number");
    assert.ok(msg.bytes instanceof Uint8Array);
    const out = decodeRosImageBytes(msg.bytes, TYPE);
    assert.deepEqual(out.image.data, tinyJpeg());
    assert.equal(out.frameId, "cam");
    assert.equal(out.image.kind === "encoded" && out.image.format, "jpeg");
    assert.ok(out.stamp! > 1.7e9);
  },
});

Deno.test({
  name: "fixture: compression png (JSON text in PNG pixels, \\n padding) decodes to the exact JPEG bytes",
  ...needsShared(),
  async fn() {
    const [frame] = serverFrames(SCENARIOS.png);
    const m = parseRosbridgeText(frame as string);
    assert.equal(m.op, "png");
    const inner = parseRosbridgeText(await decodePngPayload(m.data));
    assert.equal(inner.op, "publish");
    assert.deepEqual(decodeRosImageMessage(inner.msg, TYPE).image.data, tinyJpeg());
  },
});

Deno.test({
  name:
    "fixture: fragment_size=500 (4 fragments, float total 4.112, id 0) reassembles to the exact JPEG bytes",
  ...needsShared(),
  fn() {
    const frames = serverFrames(SCENARIOS.fragments);
    assert.equal(frames.length, 4);
    const a = new FragmentAssembler();
    let complete: string | undefined;
    for (const f of frames) {
      const r = a.add(parseRosbridgeText(f as string));
      assert.deepEqual(r.errors, []);
      complete ??= r.complete;
    }
    assert.ok(complete);
    assert.equal(a.pending, 0);
    const m = parseRosbridgeText(complete);
    assert.deepEqual(decodeRosImageMessage(m.msg, TYPE).image.data, tinyJpeg());
  },
});

Deno.test({
  name: "fixture: raw sensor_msgs/Image rgb8 keeps the published pixels byte for byte (64x48, step 192)",
  ...needsShared(),
  async fn() {
    const [frame] = serverFrames(SCENARIOS.raw);
    const m = parseRosbridgeText(frame as string);
    const out = decodeRosImageMessage(m.msg, "sensor_msgs/Image");
    const img = out.image;
    assert.equal(img.kind, "raw");
    if (img.kind !== "raw") return;
    assert.equal(img.width, 64);
    assert.equal(img.height, 48);
    assert.equal(img.encoding, "rgb8");
    assert.equal(img.step, 192);
    assert.equal(img.bigEndian, false);
    assert.equal(img.data.length, 64 * 48 * 3);
    // The bytes are exactly what the transcript carries (base64 decoded independently here).
    const b64 = JSON.parse(frame as string).msg.data as string;
    assert.deepEqual(img.data, new Uint8Array(atob(b64).split("").map((c) => c.charCodeAt(0))));
    // The recorded publisher sent a synthetic ramp, byte i = (7 * i) mod 256, not the JPEG's decoded pixels
    // (the fixture README says otherwise): check the exact ramp, and report how far it is from the JPEG decode.
    for (let i = 0; i < img.data.length; i++) assert.equal(img.data[i], (7 * i) % 256, `byte ${i}`);
    const ref = await sharp(tinyJpeg()).raw().toBuffer();
    let maxDiff = 0;
    for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - img.data[i]));
    console.log(
      `raw Image vs sharp's decode of tiny-64x48.jpg: max abs difference ${maxDiff} (the fixture is a ramp, not the JPEG)`,
    );
  },
});
