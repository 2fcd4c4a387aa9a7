import assert from "node:assert/strict";
import { FakeRosbridge, type FakeSubscription } from "../_fake_rosbridge.ts";
import { needsShared } from "../_shared.ts";
import { rosbridgeSource } from "../../src/io/rosbridge_source.ts";
import type { RosbridgeCompression } from "../../src/io/rosbridge_protocol.ts";
import type { RosImageFields } from "../../src/io/ros_serialization.ts";
import { encodeCbor } from "../../src/io/cbor.ts";
import { ValidationError } from "../../src/errors.ts";
import { collect, errorNames } from "./_collect.ts";
import { SCENARIOS, serverFrames, tinyJpeg } from "./_rosbridge_fixture.ts";

const TOPIC = "/camera/image/compressed";
const RAW_TOPIC = "/camera/image_raw";
const FAST = { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 };

function fakeJpeg(n = 3000): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 0xff;
  b.set([0xff, 0xd8, 0xff, 0xe0]);
  return b;
}

function compressed(data: Uint8Array): RosImageFields {
  return {
    type: "compressed",
    header: { sec: 1700000000, nanosec: 250000000, frameId: "cam" },
    format: "jpeg",
    data,
  };
}

function rawImage(encoding: string, width: number, height: number, bpp: number): RosImageFields {
  const data = new Uint8Array(width * bpp * height);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  return {
    type: "raw",
    header: { sec: 1700000001, nanosec: 500000000, frameId: "cam_raw" },
    height,
    width,
    encoding,
    isBigEndian: false,
    step: width * bpp,
    data,
  };
}

for (const compression of ["none", "cbor", "cbor-raw", "png"] as RosbridgeCompression[]) {
  Deno.test(`rosbridgeSource() decodes CompressedImage with compression ${compression} to the exact bytes`, async () => {
    const server = await FakeRosbridge.start();
    const jpeg = fakeJpeg();
    server.images.set(TOPIC, compressed(jpeg));
    const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
      compression,
      backoff: FAST,
    });
    const c = collect(src);
    try {
      await c.waitFor(() => c.frames.length >= 1, "a frame");
      const f = c.frames[0];
      assert.equal(f.image.kind, "encoded");
      assert.deepEqual(f.image.data, jpeg);
      assert.equal(f.frameId, "cam");
      assert.ok(Math.abs(f.stamp - 1700000000.25) < 1e-6);
      assert.equal(f.seq, 0);
      const sub = server.received.find((o) => o.op === "subscribe") as unknown as FakeSubscription;
      assert.equal(sub.topic, TOPIC);
      assert.equal(sub.type, "sensor_msgs/CompressedImage");
      assert.equal(sub.compression, compression === "none" ? undefined : compression);
      assert.equal(sub.queue_length, 1);
      assert.deepEqual(errorNames(c.events), []);
    } finally {
      c.sub.unsubscribe();
      await src.close();
      await server.close();
    }
  });
}

for (
  const [label, type, compression] of [
    ["ROS 1 JSON", "sensor_msgs/Image", "none"],
    ["ROS 2 JSON (sec/nanosec)", "sensor_msgs/msg/Image", "none"],
    ["ROS 1 cbor-raw", "sensor_msgs/Image", "cbor-raw"],
    ["ROS 2 cbor-raw (CDR)", "sensor_msgs/msg/Image", "cbor-raw"],
    ["ROS 2 cbor", "sensor_msgs/msg/Image", "cbor"],
  ] as const
) {
  Deno.test(`rosbridgeSource() keeps raw Image pixels exactly (${label}) for every encoding`, async () => {
    const server = await FakeRosbridge.start({ publishOnSubscribe: false });
    const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${RAW_TOPIC}`, {
      type,
      compression,
      backoff: FAST,
    });
    const c = collect(src);
    try {
      await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
      const cases: [string, number][] = [["rgb8", 3], ["bgr8", 3], ["rgba8", 4], ["bgra8", 4], ["mono8", 1], [
        "mono16",
        2,
      ]];
      for (const [i, [enc, bpp]] of cases.entries()) {
        const img = rawImage(enc, 5 + i, 3, bpp) as Extract<RosImageFields, { type: "raw" }>;
        server.images.set(RAW_TOPIC, img);
        await server.publish();
        await c.waitFor(() => c.frames.length === i + 1, `frame ${enc}`);
        const f = c.frames[i];
        assert.equal(f.image.kind, "raw");
        if (f.image.kind !== "raw") continue;
        assert.equal(f.image.encoding, enc);
        assert.equal(f.image.width, img.width);
        assert.equal(f.image.height, 3);
        assert.equal(f.image.step, img.width * bpp);
        assert.deepEqual(f.image.data, img.data);
        assert.ok(Math.abs(f.stamp - 1700000001.5) < 1e-6);
        assert.equal(f.frameId, "cam_raw");
      }
      assert.deepEqual(errorNames(c.events), []);
    } finally {
      c.sub.unsubscribe();
      await src.close();
      await server.close();
    }
  });
}

for (const compression of ["none", "png"] as RosbridgeCompression[]) {
  Deno.test(`rosbridgeSource() reassembles fragments (fragment_size 256, compression ${compression})`, async () => {
    const server = await FakeRosbridge.start();
    const jpeg = fakeJpeg(5000);
    server.images.set(TOPIC, compressed(jpeg));
    const src = rosbridgeSource(`ws://127.0.0.1:${server.port}`, {
      topic: TOPIC,
      compression,
      fragmentSize: 256,
      backoff: FAST,
    });
    const c = collect(src);
    try {
      await c.waitFor(() => c.frames.length >= 1, "a reassembled frame");
      assert.deepEqual(c.frames[0].image.data, jpeg);
      assert.equal(server.subscriptions[0].fragment_size, 256);
      await server.publish();
      await c.waitFor(() => c.frames.length >= 2, "a second reassembled frame");
      assert.deepEqual(c.frames[1].image.data, jpeg);
      assert.deepEqual(errorNames(c.events), []);
    } finally {
      c.sub.unsubscribe();
      await src.close();
      await server.close();
    }
  });
}

Deno.test("rosbridgeSource() refuses fragmentSize with CBOR (rosbridge silently drops such messages)", () => {
  assert.throws(
    () => rosbridgeSource("rosbridge://127.0.0.1:9/t/compressed", { compression: "cbor", fragmentSize: 500 }),
    (e: unknown) => e instanceof ValidationError && /fragmentSize/.test(e.message),
  );
  assert.throws(() => rosbridgeSource("rosbridge://127.0.0.1:9"), ValidationError);
  assert.throws(() => rosbridgeSource("http://x/t"), ValidationError);
  assert.throws(() => rosbridgeSource("rosbridge://h/t", { type: "std_msgs/String" }), ValidationError);
});

for (
  const [scenario, compression, fragmentSize] of [
    [SCENARIOS.none, "none", undefined],
    [SCENARIOS.cbor, "cbor", undefined],
    [SCENARIOS.cborRaw, "cbor-raw", undefined],
    [SCENARIOS.png, "png", undefined],
    [SCENARIOS.fragments, "none", 500],
  ] as const
) {
  Deno.test({
    name: `rosbridgeSource() decodes the real server's recorded frames over a socket: ${scenario}`,
    ...needsShared(),
    async fn() {
      const frames = serverFrames(scenario);
      const server = await FakeRosbridge.start({ replay: () => frames });
      server.topicTypes.set(TOPIC, "sensor_msgs/CompressedImage");
      const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
        compression,
        fragmentSize,
        backoff: FAST,
      });
      const c = collect(src);
      try {
        await c.waitFor(() => c.frames.length >= 1, "the recorded frame");
        assert.deepEqual(c.frames[0].image.data, tinyJpeg());
        assert.deepEqual(errorNames(c.events), []);
      } finally {
        c.sub.unsubscribe();
        await src.close();
        await server.close();
      }
    },
  });
}

Deno.test("rosbridgeSource() reconnects after a dropped connection, re-subscribes, reports states, frames resume", async () => {
  const server = await FakeRosbridge.start({ autoPublishMs: 15 });
  server.images.set(TOPIC, compressed(fakeJpeg(100)));
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    backoff: { initialDelayMs: 30, maxDelayMs: 200, jitter: 0 },
  });
  const c = collect(src);
  try {
    await c.waitFor(() => c.frames.length >= 3, "frames before the drop");
    server.dropAll();
    await c.waitFor(
      () => c.events.some((e) => e.kind === "connection" && e.state === "reconnecting"),
      "reconnecting",
    );
    const before = c.frames.length;
    await c.waitFor(() => c.frames.length >= before + 3, "frames after the drop");
    const states = c.events.filter((e) => e.kind === "connection").map((e) =>
      e.kind === "connection" && e.state
    );
    assert.deepEqual(states.slice(0, 6), [
      "connecting",
      "open",
      "closed",
      "reconnecting",
      "connecting",
      "open",
    ]);
    const rec = c.events.find((e) => e.kind === "connection" && e.state === "reconnecting");
    assert.equal(rec?.kind === "connection" && rec.attempt, 1);
    assert.equal(rec?.kind === "connection" && rec.delayMs, 30);
    assert.equal(server.received.filter((o) => o.op === "subscribe").length, 2);
    assert.equal(src.counters.connections, 2);
    for (let i = 1; i < c.frames.length; i++) assert.equal(c.frames[i].seq, c.frames[i - 1].seq + 1);
    assert.equal(c.errors.length, 0);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() backs off exponentially and errors the stream once maxAttempts is exhausted", async () => {
  const server = await FakeRosbridge.start();
  const port = server.port;
  await server.close();
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${port}${TOPIC}`, {
    backoff: { initialDelayMs: 5, maxDelayMs: 15, jitter: 0, maxAttempts: 4 },
  });
  const c = collect(src);
  try {
    await c.waitFor(() => c.errors.length === 1, "the fatal error");
    const delays = c.events.filter((e) => e.kind === "connection" && e.state === "reconnecting").map((e) =>
      e.kind === "connection" ? e.delayMs : -1
    );
    assert.deepEqual(delays, [5, 10, 15, 15]);
    assert.match(String(c.errors[0]), /4 attempts/);
  } finally {
    c.sub.unsubscribe();
    await src.close();
  }
});

Deno.test("rosbridgeSource() unsubscribes and closes the socket when the last subscriber leaves", async () => {
  const server = await FakeRosbridge.start();
  server.images.set(TOPIC, compressed(fakeJpeg(100)));
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, { backoff: FAST });
  const c = collect(src);
  try {
    await c.waitFor(() => c.frames.length >= 1, "a frame");
    c.sub.unsubscribe();
    await server.waitFor(() => server.clientCount === 0, 3000, "the client to leave");
    assert.equal(server.received.at(-1)?.op, "unsubscribe");
  } finally {
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() turns each malformed message into a counted typed error event and keeps going", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const jpeg = fakeJpeg(64);
  server.images.set(TOPIC, compressed(jpeg));
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    backoff: FAST,
    fragmentTimeoutMs: 50,
  });
  const c = collect(src);
  const header = { seq: 1, stamp: { secs: 1, nsecs: 0 }, frame_id: "cam" };
  const publish = (msg: unknown, topic = TOPIC) => JSON.stringify({ op: "publish", topic, msg });
  const hugeCbor = new Uint8Array([0xa1, 0x62, 0x6f, 0x70, 0x5b, 0, 0, 0, 1, 0, 0, 0, 0]); // {op: bytes(2^32)}
  const cases: [string, string | Uint8Array, string][] = [
    ["invalid JSON", "{op: publish", "BridgeProtocolError"],
    ["invalid CBOR", new Uint8Array([0xa2, 0x62, 0x6f]), "CborError"],
    ["huge CBOR declared size", hugeCbor, "CborError"],
    ["unknown op", JSON.stringify({ op: "teleport" }), "BridgeProtocolError"],
    ["bad base64", publish({ header, format: "jpeg", data: "/9j/4A*A" }), "BridgeProtocolError"],
    ["missing data", publish({ header, format: "jpeg" }), "BridgeProtocolError"],
    ["wrong topic", publish({ header, format: "jpeg", data: "AAAA" }, "/other"), "BridgeProtocolError"],
    ["status error", JSON.stringify({ op: "status", level: "error", msg: "boom" }), "BridgeProtocolError"],
    ["png op with bad PNG", JSON.stringify({ op: "png", data: "AAAAAAAA" }), "BridgeProtocolError"],
    [
      "fragment with bad num",
      JSON.stringify({ op: "fragment", id: 0, data: "x", num: 5, total: 2 }),
      "BridgeProtocolError",
    ],
  ];
  try {
    await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
    for (const [i, [what, payload, cls]] of cases.entries()) {
      server.sendRaw(payload);
      await server.publish();
      await c.waitFor(() => c.frames.length === i + 1, `the frame after '${what}'`);
      assert.equal(errorNames(c.events).length, i + 1, `error count after '${what}'`);
      assert.equal(errorNames(c.events)[i], cls, `error class of '${what}'`);
      assert.deepEqual(c.frames[i].image.data, jpeg);
    }
    // An incomplete fragment set times out and is reported.
    server.sendRaw(JSON.stringify({ op: "fragment", id: 0, data: '{"op":', num: 0, total: 2.4 }));
    await c.waitFor(() => errorNames(c.events).length === cases.length + 1, "the fragment time-out");
    assert.match((c.events.at(-1) as { message: string }).message, /incomplete for more than 50 ms/);
    assert.equal(src.counters.errors, cases.length + 1);
    assert.equal(c.errors.length, 0);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() rejects raw images with a wrong encoding, size mismatch or absurd size", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${RAW_TOPIC}`, {
    type: "sensor_msgs/Image",
    backoff: FAST,
  });
  const c = collect(src);
  const header = { seq: 1, stamp: { secs: 1, nsecs: 0 }, frame_id: "cam" };
  const img = (o: Record<string, unknown>) =>
    JSON.stringify({
      op: "publish",
      topic: RAW_TOPIC,
      msg: {
        header,
        height: 2,
        width: 2,
        encoding: "rgb8",
        is_bigendian: 0,
        step: 6,
        data: "AAAAAAAAAAAAAAAA",
        ...o,
      },
    });
  try {
    await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
    server.sendRaw(img({ encoding: "yuv422" }));
    server.sendRaw(img({ width: 3 }));
    server.sendRaw(img({ width: 1e9, height: 1e9, step: 3e9 }));
    server.sendRaw(img({ step: 7 }));
    server.sendRaw(
      encodeCbor({ op: "publish", topic: RAW_TOPIC, msg: { bytes: new Uint8Array([1, 2, 3]) } }),
    );
    server.sendRaw(img({}));
    await c.waitFor(() => c.frames.length === 1, "the valid frame");
    assert.deepEqual(errorNames(c.events), [
      "FrameFormatError",
      "FrameFormatError",
      "FrameFormatError",
      "FrameFormatError",
      "BridgeProtocolError",
    ]);
    const messages = c.events.filter((e) => e.kind === "error").map((e) =>
      (e as { message: string }).message
    );
    assert.match(messages[0], /'encoding' must be one of/);
    assert.match(messages[1], /'step' must be/);
    assert.match(messages[2], /'width' must be an integer/);
    assert.match(messages[3], /must equal the data length/);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() reassembles a png op split with id/num/total, and passes throttle_rate", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    compression: "png",
    type: "sensor_msgs/CompressedImage",
    throttleRate: 100,
    queueLength: 3,
    backoff: FAST,
  });
  const c = collect(src);
  try {
    await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
    const sub = server.subscriptions[0];
    assert.equal(sub.throttle_rate, 100);
    assert.equal(sub.queue_length, 3);
    const jpeg = fakeJpeg(2000);
    const [frame] = await server.encode(sub, compressed(jpeg));
    const b64 = (JSON.parse(frame as string) as { data: string }).data;
    const parts = [b64.slice(0, 500), b64.slice(500, 1000), b64.slice(1000)];
    for (const [num, data] of parts.entries()) {
      server.sendRaw(JSON.stringify({ op: "png", id: "p1", data, num, total: parts.length }));
    }
    await c.waitFor(() => c.frames.length === 1, "the frame");
    assert.deepEqual(c.frames[0].image.data, jpeg);
    assert.deepEqual(errorNames(c.events), []);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() warns of silence after idleTimeoutMs with backoff, naming topic, type and checks", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}/no/such/topic`, {
    idleTimeoutMs: 40,
    backoff: FAST,
  });
  const c = collect(src);
  try {
    await c.waitFor(() => errorNames(c.events).length >= 4, "the type notice and three idle warnings");
    const messages = c.events.filter((e) => e.kind === "error").map((e) =>
      (e as { message: string }).message
    );
    assert.deepEqual(errorNames(c.events).slice(0, 4), Array(4).fill("RosbridgeWarning"));
    // rosapi does not know the topic: the name rule, said so.
    assert.match(messages[0], /Type of \/no\/such\/topic unknown: rosapi does not know the topic/);
    assert.match(messages[0], /subscribing as sensor_msgs\/Image by the topic-name rule/);
    // Then the silence, repeated with a doubling delay.
    assert.match(
      messages[1],
      /No message on \/no\/such\/topic for 40 ms after subscribing as sensor_msgs\/Image/,
    );
    assert.match(messages[1], /topic-name rule.*rostopic hz \/no\/such\/topic.*--ros-type/);
    assert.match(messages[2], /for 80 ms/);
    assert.match(messages[3], /for 160 ms/);
    assert.equal(src.counters.errors, 0, "warnings are not counted as rejected messages");
    assert.equal(c.errors.length, 0, "silence is not fatal");
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() takes compression, type, throttle, queue and fragment size from the URL query", async () => {
  const server = await FakeRosbridge.start();
  const jpeg = fakeJpeg();
  server.images.set("/cam/jpeg", compressed(jpeg));
  const src = rosbridgeSource(
    `rosbridge://127.0.0.1:${server.port}/cam/jpeg?compression=png&type=sensor_msgs/CompressedImage` +
      `&throttle_rate=50&queue_length=4&fragment_size=700`,
    { backoff: FAST },
  );
  const c = collect(src);
  try {
    await c.waitFor(() => c.frames.length >= 1, "a frame");
    assert.deepEqual(c.frames[0].image.data, jpeg);
    const sub = server.subscriptions[0];
    assert.deepEqual(
      [sub.type, sub.compression, sub.throttle_rate, sub.queue_length, sub.fragment_size],
      ["sensor_msgs/CompressedImage", "png", 50, 4, 700],
    );
    assert.equal(
      server.received.some((o) => o.op === "call_service"),
      false,
      "a given type is not asked for",
    );
    assert.equal(src.typeOrigin, "given");
    assert.deepEqual(errorNames(c.events), []);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
  // Options override the URL; bad values are errors naming them.
  assert.throws(
    () => rosbridgeSource("rosbridge://h/c?compression=cbor&fragment_size=500"),
    (e: unknown) => e instanceof ValidationError && /fragmentSize/.test(e.message),
  );
  assert.throws(
    () => rosbridgeSource("rosbridge://h/c", { compression: "gzip" as RosbridgeCompression }),
    (e: unknown) => e instanceof ValidationError && /compression/.test(e.message) && /gzip/.test(e.message),
  );
  assert.throws(
    () => rosbridgeSource("rosbridge://h/c", { type: "sensor msgs/Image" }),
    (e: unknown) =>
      e instanceof ValidationError && /'type'/.test(e.message) && /sensor msgs\/Image/.test(e.message),
  );
  assert.throws(
    () => rosbridgeSource("rosbridge://h/c", { type: "std_msgs/String" }),
    (e: unknown) => e instanceof ValidationError && /std_msgs\/String/.test(e.message),
  );
});

Deno.test("rosbridgeSource() asks rosapi for the type: CompressedImage on /cam/jpeg is subscribed as such", async () => {
  for (const ros2 of [false, true]) {
    const server = await FakeRosbridge.start({ ros2 });
    const jpeg = fakeJpeg();
    server.images.set("/cam/jpeg", compressed(jpeg));
    const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}/cam/jpeg`, {
      compression: "cbor-raw",
      backoff: FAST,
    });
    const c = collect(src);
    try {
      await c.waitFor(() => c.frames.length >= 1, "a frame");
      const expected = ros2 ? "sensor_msgs/msg/CompressedImage" : "sensor_msgs/CompressedImage";
      const call = server.received.find((o) => o.op === "call_service");
      assert.deepEqual(call?.args, { topic: "/cam/jpeg" });
      assert.equal(call?.service, "/rosapi/topic_type");
      assert.equal(server.subscriptions[0].type, expected);
      assert.equal(src.type, expected);
      assert.equal(src.typeOrigin, "bridge");
      assert.deepEqual(c.frames[0].image.data, jpeg);
      assert.deepEqual(errorNames(c.events), []);
    } finally {
      c.sub.unsubscribe();
      await src.close();
      await server.close();
    }
  }
});

Deno.test("rosbridgeSource() falls back to the name rule with a warning when rosapi does not answer", async () => {
  const server = await FakeRosbridge.start({ rosapi: false });
  const jpeg = fakeJpeg();
  server.images.set(TOPIC, compressed(jpeg));
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    typeTimeoutMs: 60,
    rosVersion: 2,
    backoff: FAST,
  });
  const c = collect(src);
  try {
    await c.waitFor(() => c.frames.length >= 1, "a frame");
    assert.equal(server.subscriptions[0].type, "sensor_msgs/msg/CompressedImage");
    assert.equal(src.typeOrigin, "name");
    assert.deepEqual(errorNames(c.events), ["RosbridgeWarning"]);
    const message = (c.events.find((e) => e.kind === "error") as { message: string }).message;
    assert.match(message, /no answer from the rosapi service \/rosapi\/topic_type within 60 ms/);
    assert.match(message, /sensor_msgs\/msg\/CompressedImage by the topic-name rule/);
    assert.equal(src.counters.errors, 0);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() refuses a topic whose reported type is not an image, naming both", async () => {
  const server = await FakeRosbridge.start();
  server.topicTypes.set("/odom", "nav_msgs/Odometry");
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}/odom`, { backoff: FAST });
  const c = collect(src);
  try {
    await c.waitFor(() => errorNames(c.events).length >= 1, "the type error");
    const e = c.events.find((e) => e.kind === "error") as { message: string; cause?: string };
    assert.match(e.message, /\/odom/);
    assert.match(e.message, /nav_msgs\/Odometry/);
    assert.equal(e.cause, "bridge");
    assert.equal(server.subscriptions.length, 0, "no subscription is made");
    assert.equal(c.errors.length, 0);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() counts rejected frames by cause and ROS 1 header.seq gaps as lost upstream", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const jpeg = fakeJpeg(500);
  server.images.set(TOPIC, compressed(jpeg));
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    type: "sensor_msgs/CompressedImage",
    backoff: FAST,
  });
  const c = collect(src);
  try {
    await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
    await server.publish(); // seq 1
    server.skip(TOPIC, 3); // seq 2..4 lost upstream
    await server.publish(); // seq 5
    await server.publish(); // seq 6
    await c.waitFor(() => c.frames.length === 3, "three frames");
    assert.equal(src.counters.lostUpstream, 3);
    // decode: bad base64; bridge: a status error, an unknown op, another topic's publish.
    server.sendRaw(JSON.stringify({ op: "publish", topic: TOPIC, msg: { format: "jpeg", data: "!!" } }));
    server.sendRaw(JSON.stringify({ op: "status", level: "error", msg: "boom" }));
    server.sendRaw(JSON.stringify({ op: "advertise_service" }));
    server.sendRaw(JSON.stringify({ op: "publish", topic: "/other", msg: {} }));
    server.sendRaw("{not json");
    await c.waitFor(() => errorNames(c.events).length === 5, "five errors");
    const causes = c.events.filter((e) => e.kind === "error").map((e) => (e as { cause?: string }).cause);
    assert.deepEqual(causes, ["decode", "bridge", "bridge", "bridge", "decode"]);
    assert.equal(src.counters.errors, 5);
    // A publisher restart (seq back to 1) is not a gap.
    server.skip(TOPIC, -100);
    await server.publish();
    await c.waitFor(() => c.frames.length === 4, "a fourth frame");
    assert.equal(src.counters.lostUpstream, 3);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("withSourceEvents() stats carry the rosbridge source's errors by cause and lostUpstream, not its warnings", async () => {
  const { withSourceEvents } = await import("../../src/pipeline/with_source.ts");
  const { Subject } = await import("rxjs");
  const server = await FakeRosbridge.start({ publishOnSubscribe: false, rosapi: false });
  server.images.set(TOPIC, compressed(fakeJpeg(300)));
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    typeTimeoutMs: 20,
    backoff: FAST,
  });
  const pipeline = new Subject<import("../../src/types.ts").WaymarkEvent>();
  const seen: import("../../src/types.ts").WaymarkEvent[] = [];
  const merged = withSourceEvents(src, pipeline).subscribe((e) => seen.push(e));
  const c = collect(src);
  try {
    await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
    await server.publish();
    server.skip(TOPIC, 2);
    await server.publish();
    server.sendRaw(JSON.stringify({ op: "publish", topic: TOPIC, msg: { format: "jpeg", data: "!!" } }));
    server.sendRaw(JSON.stringify({ op: "status", level: "error", msg: "boom" }));
    await c.waitFor(() => c.frames.length === 2 && src.counters.errors === 2, "two frames and two errors");
    pipeline.next({
      kind: "stats",
      stamp: 1,
      received: 2,
      processed: 2,
      dropped: 0,
      errors: 0,
      errorsByCause: {},
    });
    const stats = seen.find((e) => e.kind === "stats") as import("../../src/types.ts").StatsEvent;
    assert.equal(stats.errors, 2, "the type-fallback warning is not an error");
    assert.deepEqual(stats.errorsByCause, { decode: 1, bridge: 1 });
    assert.equal(stats.lostUpstream, 2);
  } finally {
    merged.unsubscribe();
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});

Deno.test("rosbridgeSource() frames carry header.stamp exactly (ROS 1 and 2 shapes) and name the image by topic and stamp", async () => {
  for (const compression of ["none", "cbor", "cbor-raw", "png"] as RosbridgeCompression[]) {
    for (const ros2 of [false, true]) {
      const server = await FakeRosbridge.start({ ros2 });
      const header = { sec: 1700000123, nanosec: 999999999, frameId: "cam" };
      server.images.set(TOPIC, { ...compressed(fakeJpeg(200)), header });
      const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
        compression,
        backoff: FAST,
      });
      const c = collect(src);
      try {
        await c.waitFor(() => c.frames.length >= 1, "a frame");
        assert.deepEqual(
          c.frames[0].time,
          { sec: 1700000123, nanosec: 999999999 },
          `${compression} ros2=${ros2}`,
        );
        assert.equal(c.frames[0].source, `${TOPIC}@1700000123.999999999`);
      } finally {
        c.sub.unsubscribe();
        await src.close();
        await server.close();
      }
    }
  }
});

Deno.test("rosbridgeSource() counts png messages dropped behind queued decodes as backpressure", async () => {
  const server = await FakeRosbridge.start({ publishOnSubscribe: false });
  const src = rosbridgeSource(`rosbridge://127.0.0.1:${server.port}${TOPIC}`, {
    compression: "png",
    type: "sensor_msgs/CompressedImage",
    queueLength: 1, // at most 2 decodes wait
    backoff: FAST,
  });
  const c = collect(src);
  try {
    await server.waitFor(() => server.subscriptions.length === 1, 3000, "subscribe");
    const [frame] = await server.encode(server.subscriptions[0], compressed(fakeJpeg(3000)));
    for (let i = 0; i < 12; i++) server.sendRaw(frame);
    await c.waitFor(
      () => c.frames.length + src.counters.errors === 12,
      "every message delivered or counted",
    );
    const causes = c.events.filter((e) => e.kind === "error").map((e) => (e as { cause?: string }).cause);
    assert.ok(causes.length > 0, "a burst of 12 png messages overflows 2 waiting decodes");
    assert.ok(causes.every((cause) => cause === "backpressure"), JSON.stringify(causes));
    assert.ok(c.frames.length >= 2);
  } finally {
    c.sub.unsubscribe();
    await src.close();
    await server.close();
  }
});
