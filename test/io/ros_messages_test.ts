import assert from "node:assert/strict";
import { BridgeProtocolError, FrameFormatError } from "../../src/errors.ts";
import {
  containerOfFormat,
  decodeRosImageBytes,
  decodeRosImageMessage,
  imageKindOfType,
  stampSeconds,
} from "../../src/io/ros_messages.ts";
import { serializeRosImage } from "../../src/io/ros_serialization.ts";

Deno.test("imageKindOfType() accepts ROS 1 and ROS 2 names of both image types only", () => {
  assert.equal(imageKindOfType("sensor_msgs/Image"), "raw");
  assert.equal(imageKindOfType("sensor_msgs/msg/Image"), "raw");
  assert.equal(imageKindOfType("sensor_msgs/CompressedImage"), "compressed");
  assert.equal(imageKindOfType("sensor_msgs/msg/CompressedImage"), "compressed");
  assert.equal(imageKindOfType("sensor_msgs/ImageX"), undefined);
  assert.equal(imageKindOfType("std_msgs/String"), undefined);
});

Deno.test("stampSeconds() reads {secs,nsecs} and {sec,nanosec}; zero or absent means unset", () => {
  assert.equal(stampSeconds({ secs: 10, nsecs: 500000000 }), 10.5);
  assert.equal(stampSeconds({ sec: 3, nanosec: 250000000 }), 3.25);
  assert.equal(stampSeconds({ secs: 0, nsecs: 0 }), null);
  assert.equal(stampSeconds(undefined), null);
  assert.throws(() => stampSeconds({ secs: "x" }), BridgeProtocolError);
});

Deno.test("containerOfFormat() normalises CompressedImage formats", () => {
  assert.equal(containerOfFormat("jpeg"), "jpeg");
  assert.equal(containerOfFormat("rgb8; jpeg compressed bgr8"), "jpeg");
  assert.equal(containerOfFormat("bgr8; png compressed"), "png");
  assert.equal(containerOfFormat("tiff"), "auto");
});

Deno.test("decodeRosImageMessage() accepts data as base64, byte string or byte array, and rejects others", () => {
  const header = { stamp: { sec: 1, nanosec: 0 }, frame_id: "f" };
  const bytes = new Uint8Array([1, 2, 255]);
  for (const data of ["AQL/", bytes, [1, 2, 255]]) {
    const out = decodeRosImageMessage({ header, format: "png", data }, "sensor_msgs/msg/CompressedImage");
    assert.deepEqual(out.image, { kind: "encoded", format: "png", data: bytes });
    assert.equal(out.stamp, 1);
  }
  assert.throws(() => decodeRosImageMessage({ header, format: "png", data: [1, 256] }), /data\[1\]/);
  assert.throws(() => decodeRosImageMessage({ header, format: "png", data: 5 }), BridgeProtocolError);
  assert.throws(() => decodeRosImageMessage(null), BridgeProtocolError);
  assert.throws(() => decodeRosImageMessage({ header, format: 5, data: "" }), /'format' must be a string/);
});

Deno.test("decodeRosImageMessage() keeps mono16 big-endian flags and rejects absurd sizes", () => {
  const msg = { height: 1, width: 2, encoding: "mono16", is_bigendian: 1, step: 4, data: new Uint8Array(4) };
  const out = decodeRosImageMessage(msg, "sensor_msgs/Image");
  assert.equal(out.image.kind === "raw" && out.image.bigEndian, true);
  assert.throws(
    () => decodeRosImageMessage({ ...msg, width: 100000, step: 200000 }, "sensor_msgs/Image"),
    FrameFormatError,
  );
  assert.throws(() => decodeRosImageMessage({ ...msg, width: 2.5 }, "sensor_msgs/Image"), FrameFormatError);
  const tooBig = "A".repeat(400);
  assert.throws(
    () => decodeRosImageMessage({ ...msg, data: tooBig }, "sensor_msgs/Image", { maxBytes: 100 }),
    /larger than 100 bytes/,
  );
});

Deno.test("decodeRosImageBytes() picks ROS 1 or CDR from the type name", () => {
  const fields = {
    type: "compressed" as const,
    header: { seq: 1, sec: 2, nanosec: 3, frameId: "x" },
    format: "jpeg",
    data: new Uint8Array([0xff, 0xd8]),
  };
  const r1 = decodeRosImageBytes(serializeRosImage(fields, "ros1"), "sensor_msgs/CompressedImage");
  assert.equal(r1.rosSeq, 1);
  const r2 = decodeRosImageBytes(serializeRosImage(fields, "cdr"), "sensor_msgs/msg/CompressedImage");
  assert.equal(r2.rosSeq, undefined);
  assert.deepEqual(r2.image.data, fields.data);
  assert.ok(Math.abs(r2.stamp! - 2.000000003) < 1e-12);
});
