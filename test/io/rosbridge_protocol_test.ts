import assert from "node:assert/strict";
import { BridgeProtocolError, CborError, ValidationError } from "../../src/errors.ts";
import {
  decodePngPayload,
  encodePngPayload,
  parseRosbridgeBinary,
  parseRosbridgeText,
  parseRosbridgeUrl,
} from "../../src/io/rosbridge_protocol.ts";
import { encodeCbor } from "../../src/io/cbor.ts";

Deno.test("parseRosbridgeUrl() maps rosbridge:// to ws:// with default port 9090 and extracts the topic", () => {
  assert.deepEqual(parseRosbridgeUrl("rosbridge://robot.local/camera/image/compressed"), {
    wsUrl: "ws://robot.local:9090",
    topic: "/camera/image/compressed",
  });
  assert.deepEqual(parseRosbridgeUrl("rosbridge://10.0.0.2:9091/cam"), {
    wsUrl: "ws://10.0.0.2:9091",
    topic: "/cam",
  });
  assert.deepEqual(parseRosbridgeUrl("rosbridges://h:443/t"), { wsUrl: "wss://h:443", topic: "/t" });
  assert.deepEqual(parseRosbridgeUrl("ws://127.0.0.1:9090"), { wsUrl: "ws://127.0.0.1:9090" });
  assert.deepEqual(parseRosbridgeUrl("rosbridge://[::1]:9090/t/"), { wsUrl: "ws://[::1]:9090", topic: "/t" });
  assert.throws(() => parseRosbridgeUrl("http://h/t"), ValidationError);
  assert.throws(() => parseRosbridgeUrl("not a url"), ValidationError);
});

Deno.test("parseRosbridgeText/Binary() require an object with a string op", () => {
  assert.equal(parseRosbridgeText('{"op":"publish","topic":"\\/a"}').topic, "/a");
  assert.equal(parseRosbridgeBinary(encodeCbor({ op: "png" })).op, "png");
  assert.throws(() => parseRosbridgeText("{"), BridgeProtocolError);
  assert.throws(() => parseRosbridgeText("[1]"), /must be an object/);
  assert.throws(() => parseRosbridgeText('{"op":1}'), /'op' must be a string/);
  assert.throws(() => parseRosbridgeBinary(new Uint8Array([0xbf])), CborError);
  assert.throws(() => parseRosbridgeBinary(encodeCbor([1])), BridgeProtocolError);
});

Deno.test("png payloads round-trip JSON text, and bad PNGs or base64 are BridgeProtocolErrors", async () => {
  const text = JSON.stringify({ op: "publish", topic: "/t", msg: { data: "x".repeat(1001) } });
  assert.equal(await decodePngPayload(await encodePngPayload(text)), text);
  await assert.rejects(decodePngPayload("iVBORw0KGgo="), BridgeProtocolError);
  await assert.rejects(decodePngPayload("!!!"), /not valid base64/);
  await assert.rejects(decodePngPayload(42), BridgeProtocolError);
});

Deno.test("parseRosbridgeUrl() reads subscription options from the query and names a bad key or value", () => {
  assert.deepEqual(
    parseRosbridgeUrl(
      "rosbridge://h/cam/jpeg?compression=cbor-raw&type=sensor_msgs/CompressedImage&throttle_rate=100&queue_length=2",
    ),
    {
      wsUrl: "ws://h:9090",
      topic: "/cam/jpeg",
      options: {
        compression: "cbor-raw",
        type: "sensor_msgs/CompressedImage",
        throttleRate: 100,
        queueLength: 2,
      },
    },
  );
  assert.deepEqual(
    parseRosbridgeUrl("rosbridge://h/c?type=sensor_msgs/msg/Image&fragment=500&throttle=0&queue=1"),
    {
      wsUrl: "ws://h:9090",
      topic: "/c",
      options: { type: "sensor_msgs/msg/Image", fragmentSize: 500, throttleRate: 0, queueLength: 1 },
    },
  );
  assert.throws(
    () => parseRosbridgeUrl("rosbridge://h/c?compression=zstd"),
    (e: unknown) =>
      e instanceof ValidationError && /compression/.test(e.message) && /zstd/.test(e.message) &&
      /none, cbor, cbor-raw, png/.test(e.message),
  );
  assert.throws(
    () => parseRosbridgeUrl("rosbridge://h/c?type=sensor_msgs/"),
    (e: unknown) =>
      e instanceof ValidationError && /'type'/.test(e.message) && /sensor_msgs\//.test(e.message),
  );
  assert.throws(() => parseRosbridgeUrl("rosbridge://h/c?compresion=cbor"), /compresion/);
  assert.throws(() => parseRosbridgeUrl("rosbridge://h/c?queue_length=0"), /queue_length/);
  assert.throws(() => parseRosbridgeUrl("rosbridge://h/c?throttle_rate=-1"), /throttle_rate/);
  assert.throws(() => parseRosbridgeUrl("rosbridge://h/c?fragment_size=1.5"), /fragment_size/);
  assert.throws(() => parseRosbridgeUrl("rosbridge://h/c?compression=cbor&compression=png"), /given once/);
});
