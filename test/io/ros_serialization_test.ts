import assert from "node:assert/strict";
import { BridgeProtocolError } from "../../src/errors.ts";
import {
  deserializeRosImage,
  type RosImageFields,
  serializeRosImage,
  sniffRosWireFormat,
} from "../../src/io/ros_serialization.ts";

const raw: RosImageFields = {
  type: "raw",
  header: { seq: 3, sec: 1700000000, nanosec: 5, frameId: "camera_optical" },
  height: 2,
  width: 3,
  encoding: "mono16",
  isBigEndian: true,
  step: 6,
  data: new Uint8Array(12).map((_, i) => i),
};
const compressed: RosImageFields = {
  type: "compressed",
  header: { seq: 9, sec: 1, nanosec: 2, frameId: "c" },
  format: "jpeg",
  data: new Uint8Array([0xff, 0xd8, 0xff, 1, 2]),
};

Deno.test("ROS 1 serialisation round-trips Image and CompressedImage with the documented layout", () => {
  const b = serializeRosImage(compressed, "ros1");
  // seq, secs, nsecs, len("c") "c", len("jpeg") "jpeg", len(data) data
  assert.equal(b.length, 4 + 4 + 4 + 4 + 1 + 4 + 4 + 4 + 5);
  assert.deepEqual([...b.subarray(0, 4)], [9, 0, 0, 0]);
  assert.deepEqual(deserializeRosImage(b, "compressed", "ros1", false), compressed);
  assert.deepEqual(deserializeRosImage(serializeRosImage(raw, "ros1"), "raw", "ros1"), raw);
});

Deno.test("ROS 2 CDR round-trips (no seq, NUL-terminated strings, aligned fields) and is sniffed", () => {
  const b = serializeRosImage(raw, "cdr");
  assert.deepEqual([...b.subarray(0, 4)], [0, 1, 0, 0]);
  assert.equal(sniffRosWireFormat(b), "cdr");
  const { seq: _s, ...header } = raw.header;
  assert.deepEqual(deserializeRosImage(b, "raw"), { ...raw, header });
  assert.deepEqual(deserializeRosImage(b, "raw", "cdr"), { ...raw, header });
  assert.equal(sniffRosWireFormat(serializeRosImage(raw, "ros1")), "ros1");
  assert.equal(sniffRosWireFormat(b, "sensor_msgs/Image"), "ros1");
  assert.equal(sniffRosWireFormat(b, "sensor_msgs/msg/Image"), "cdr");
});

Deno.test("deserializeRosImage() rejects truncated data, huge declared lengths and trailing bytes", () => {
  const b = serializeRosImage(compressed, "ros1");
  assert.throws(
    () => deserializeRosImage(b.subarray(0, b.length - 1), "compressed", "ros1", false),
    /declares 5 bytes/,
  );
  assert.throws(
    () => deserializeRosImage(b.subarray(0, 10), "compressed", "ros1", false),
    BridgeProtocolError,
  );
  const huge = b.slice();
  new DataView(huge.buffer).setUint32(12, 0xffffffff, true); // frame_id length
  assert.throws(() => deserializeRosImage(huge, "compressed", "ros1", false), /absurd string length/);
  const trailing = new Uint8Array([...b, 0]);
  assert.throws(() => deserializeRosImage(trailing, "compressed", "ros1", false), /trailing/);
});

Deno.test("deserializeRosImage() falls back to the other wire format (ROS 2 bridges accept ROS 1 type names)", () => {
  const cdr = serializeRosImage(raw, "cdr");
  const { seq: _s, ...header } = raw.header;
  assert.deepEqual(deserializeRosImage(cdr, "raw", "ros1"), { ...raw, header });
  assert.throws(() => deserializeRosImage(cdr, "raw", "ros1", false), BridgeProtocolError);
});

Deno.test("deserializeRosImage() never reads past the message's own bytes inside a larger buffer", () => {
  // The serialised message as a view inside a bigger frame (as a CBOR byte string is): a data length that
  // overruns the view but not the buffer must be refused, not read from the neighbouring bytes.
  const b = serializeRosImage(compressed, "ros1");
  const frame = new Uint8Array(b.length + 64).fill(0xee);
  frame.set(b, 16);
  const view = frame.subarray(16, 16 + b.length);
  new DataView(view.buffer, view.byteOffset).setUint32(b.length - 9, 40, true); // data length 5 -> 40
  assert.throws(
    () => deserializeRosImage(view, "compressed", "ros1", false),
    /'data' declares 40 bytes but only 5 remain/,
  );
  const cdr = serializeRosImage(raw, "cdr");
  const cdrFrame = new Uint8Array(cdr.length + 64);
  cdrFrame.set(cdr, 8);
  const cdrView = cdrFrame.subarray(8, 8 + cdr.length);
  new DataView(cdrView.buffer, cdrView.byteOffset).setUint32(cdr.length - 16, 1000, true); // data length
  assert.throws(() => deserializeRosImage(cdrView, "raw", "cdr", false), /'data' declares 1000 bytes/);
  // Unchanged, the view decodes to the original fields.
  const ok = new Uint8Array(b.length + 8);
  ok.set(b, 4);
  assert.deepEqual(
    deserializeRosImage(ok.subarray(4, 4 + b.length), "compressed", "ros1", false),
    compressed,
  );
});
