/**
 * `bag:` and `mcap:` sources: the shared ROS 1 bags (uncompressed, lz4, bz2 chunks) and MCAP files written here
 * with `@mcap/core`; exact stamps, encodings, errors, and the FrameSource contract.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { needsShared, sharedPath } from "../_shared.ts";
import { openBagSource } from "../../src/io/bag_source.ts";
import { openMcapSource } from "../../src/io/mcap_source.ts";
import { openFrameSource } from "../../src/io/open_source.ts";
import { formatExactStamp } from "../../src/io/recorded_source.ts";
import type { FrameSource } from "../../src/io/frame_source.ts";
import type { CameraFrame } from "../../src/types.ts";
import { ValidationError } from "../../src/errors.ts";
import { collect } from "./_collect.ts";
import { frameSourceContract } from "./frame_source_contract.ts";
import { foxgloveJson, foxgloveProtobuf, rosImage, writeMcap } from "./_mcap_fixture.ts";

/** A frame's exact stamp in the sources' {sec, nsec} shape. */
const exactOf = (f: { time?: { sec: number; nanosec: number } }) =>
  f.time && { sec: f.time.sec, nsec: f.time.nanosec };

const BAGS = "fixtures/bags";
const COMPRESSED = "/camera/image/compressed";
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

async function drain(src: FrameSource): Promise<{ frames: CameraFrame[]; errors: number }> {
  const c = collect(src);
  await c.waitFor(() => c.completed, "the end of the recording", 30000);
  const out = { frames: c.frames, errors: src.counters.errors };
  c.sub.unsubscribe();
  await src.close();
  return out;
}

/** The fixture README's stamp of frame i. */
function bagStamp(i: number): { sec: number; nsec: number } {
  return { sec: 1700000000 + Math.floor(i / 10), nsec: (i % 10) * 100000000 + 12345 + i };
}

Deno.test({
  name: "bag: the three chunk compressions give the same 84 JPEG frames with exact stamps",
  ...needsShared(),
  async fn() {
    let reference: CameraFrame[] | null = null;
    for (const f of ["rtabmap_loop_ros1.bag", "rtabmap_loop_ros1_lz4.bag", "rtabmap_loop_ros1_bz2.bag"]) {
      const src = await openBagSource(sharedPath(`${BAGS}/${f}`), COMPRESSED, { rate: "max" });
      const { frames, errors } = await drain(src);
      assert.equal(errors, 0, f);
      assert.equal(frames.length, 84, f);
      frames.forEach((fr, i) => {
        assert.equal(fr.seq, i);
        assert.deepEqual(exactOf(fr), bagStamp(i), `${f} frame ${i}`);
        assert.ok(Math.abs(fr.stamp - (bagStamp(i).sec + bagStamp(i).nsec / 1e9)) < 1e-6);
        assert.equal(fr.frameId, "camera");
        assert.equal(fr.image.kind, "encoded");
        assert.equal(fr.image.kind === "encoded" && fr.image.format, "jpeg");
        assert.deepEqual([...fr.image.data.subarray(0, 2)], [0xff, 0xd8]);
      });
      assert.equal(formatExactStamp(exactOf(frames[83])!), "1700000008.300012428");
      if (reference) {
        frames.forEach((fr, i) =>
          assert.deepEqual(fr.image.data, reference![i].image.data, `${f} frame ${i}`)
        );
      } else reference = frames;
    }
  },
});

Deno.test({
  name: "bag: sensor_msgs/Image topic replays raw rgb8 frames",
  ...needsShared(),
  async fn() {
    const src = await openFrameSource(
      `bag:${sharedPath(`${BAGS}/rtabmap_loop_ros1_lz4.bag`)}#/camera/image_raw`,
      {
        recorded: { rate: "max" },
      },
    );
    const { frames } = await drain(src);
    assert.equal(frames.length, 10);
    for (const [i, f] of frames.entries()) {
      assert.ok(f.image.kind === "raw");
      if (f.image.kind !== "raw") continue;
      assert.deepEqual([f.image.width, f.image.height, f.image.step, f.image.encoding], [
        64,
        48,
        192,
        "rgb8",
      ]);
      assert.deepEqual(exactOf(f), bagStamp(i));
    }
  },
});

Deno.test({
  name: "bag: errors name the topic asked for and list the image topics; a file that is no bag is named",
  ...needsShared(),
  async fn() {
    const bag = sharedPath(`${BAGS}/rtabmap_loop_ros1.bag`);
    await assert.rejects(() => openBagSource(bag, "/nope"), (e: Error) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /\/nope/);
      assert.match(e.message, /\/camera\/image\/compressed \(sensor_msgs\/CompressedImage, 84\)/);
      assert.match(e.message, /\/camera\/image_raw \(sensor_msgs\/Image, 10\)/);
      return true;
    });
    // Two image topics: no default.
    await assert.rejects(() => openFrameSource(`bag:${bag}`), /none given/);
    const dir = await Deno.makeTempDir({ prefix: "waymark_bag_" });
    try {
      const junk = join(dir, "junk.bag");
      await Deno.writeTextFile(junk, "not a bag at all, just text\n");
      await assert.rejects(() => openBagSource(junk, COMPRESSED), (e: Error) => e.message.includes(junk));
      await assert.rejects(() => openBagSource(join(dir, "absent.bag"), COMPRESSED), /absent\.bag/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

frameSourceContract("bag", async () => {
  const source = await openBagSource(sharedPath(`${BAGS}/rtabmap_loop_ros1_bz2.bag`), COMPRESSED, {
    rate: "max",
  });
  return { source, produce: () => {}, finite: 84, dispose: () => Promise.resolve() };
}, needsShared());

const CHANNELS = [
  {
    topic: "/ros1/compressed",
    schema: "sensor_msgs/CompressedImage",
    schemaEncoding: "ros1msg",
    messageEncoding: "ros1",
  },
  { topic: "/ros2/raw", schema: "sensor_msgs/msg/Image", schemaEncoding: "ros2msg", messageEncoding: "cdr" },
  {
    topic: "/fox/pb",
    schema: "foxglove.CompressedImage",
    schemaEncoding: "protobuf",
    messageEncoding: "protobuf",
  },
  {
    topic: "/fox/json",
    schema: "foxglove.CompressedImage",
    schemaEncoding: "jsonschema",
    messageEncoding: "json",
  },
  { topic: "/other", schema: "std_msgs/String", schemaEncoding: "ros1msg", messageEncoding: "ros1" },
];

/** Four messages per image channel at 10 ms, stamps with odd nanoseconds; `bad` adds a broken one to /fox/pb. */
async function writeFixture(path: string, options: { lz4Chunks?: boolean; bad?: boolean } = {}) {
  const messages = [];
  const raw = new Uint8Array(4 * 3 * 2).map((_, k) => k);
  for (let i = 0; i < 4; i++) {
    const sec = 1700000000 + i, nsec = 123456789 + i;
    const log = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    const header = { sec, nanosec: nsec, frameId: "cam", seq: i };
    messages.push(
      {
        topic: "/ros1/compressed",
        logTimeNs: log,
        data: rosImage({ type: "compressed", header, format: "jpeg", data: JPEG }, "ros1"),
      },
      {
        topic: "/ros2/raw",
        logTimeNs: log,
        data: rosImage({
          type: "raw",
          header,
          height: 2,
          width: 4,
          encoding: "rgb8",
          isBigEndian: false,
          step: 12,
          data: raw,
        }, "cdr"),
      },
      { topic: "/fox/pb", logTimeNs: log, data: foxgloveProtobuf(sec, nsec, "cam", "jpeg", JPEG) },
      { topic: "/fox/json", logTimeNs: log, data: foxgloveJson(sec, nsec, "cam", "png", JPEG) },
      { topic: "/other", logTimeNs: log, data: new Uint8Array([1, 0, 0, 0, 65]) },
    );
    if (options.bad && i === 1) {
      messages.push({ topic: "/fox/pb", logTimeNs: log + 1n, data: new Uint8Array([0x12, 0x7f, 1]) });
    }
  }
  messages.sort((a, b) => (a.logTimeNs < b.logTimeNs ? -1 : a.logTimeNs > b.logTimeNs ? 1 : 0));
  await writeMcap(path, CHANNELS, messages, { lz4Chunks: options.lz4Chunks, chunkSize: 256 });
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "waymark_mcap_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mcap: ROS 1, ROS 2 CDR and Foxglove protobuf/JSON image channels, plain and lz4 chunks", async () => {
  await withTemp(async (dir) => {
    for (const lz4Chunks of [false, true]) {
      const file = join(dir, `f${lz4Chunks}.mcap`);
      await writeFixture(file, { lz4Chunks });
      for (const topic of ["/ros1/compressed", "/ros2/raw", "/fox/pb", "/fox/json"]) {
        const { frames, errors } = await drain(await openMcapSource(file, topic, { rate: "max" }));
        const label = `${topic} lz4=${lz4Chunks}`;
        assert.equal(errors, 0, label);
        assert.equal(frames.length, 4, label);
        frames.forEach((f, i) => {
          assert.equal(f.seq, i);
          assert.deepEqual(exactOf(f), { sec: 1700000000 + i, nsec: 123456789 + i }, label);
          assert.equal(f.frameId, "cam");
          assert.equal(f.source, `mcap:${file}#${topic}`);
          if (topic === "/ros2/raw") {
            assert.ok(f.image.kind === "raw" && f.image.width === 4 && f.image.step === 12, label);
          } else {
            assert.ok(f.image.kind === "encoded");
            assert.deepEqual(f.image.data, JPEG, label);
            assert.equal(
              f.image.kind === "encoded" && f.image.format,
              topic === "/fox/json" ? "png" : "jpeg",
            );
          }
        });
      }
    }
  });
});

Deno.test("mcap: a malformed message is a counted error event and the replay goes on", async () => {
  await withTemp(async (dir) => {
    const file = join(dir, "bad.mcap");
    await writeFixture(file, { bad: true });
    const src = await openFrameSource(`mcap:${file}#/fox/pb`, { recorded: { rate: "max" } });
    const c = collect(src);
    await c.waitFor(() => c.completed, "the end");
    assert.equal(c.frames.length, 4);
    assert.equal(src.counters.errors, 1);
    const err = c.events.find((e) => e.kind === "error");
    assert.ok(
      err?.kind === "error" && /foxglove\.CompressedImage/.test(err.message) && err.cause === "source",
    );
    c.sub.unsubscribe();
    await src.close();
  });
});

Deno.test("mcap: errors name the topic asked for and list the decodable image topics", async () => {
  await withTemp(async (dir) => {
    const file = join(dir, "f.mcap");
    await writeFixture(file);
    await assert.rejects(() => openMcapSource(file, "/other"), (e: Error) => {
      assert.ok(e instanceof ValidationError);
      assert.match(e.message, /\/other \(std_msgs\/String, ros1, 4\)/);
      assert.match(e.message, /\/fox\/pb \(foxglove\.CompressedImage, protobuf, 4\)/);
      assert.ok(
        !/\/other \(std_msgs\/String, ros1, 4\),/.test(e.message.split("must be")[1].split(": current")[0]),
      );
      return true;
    });
    await assert.rejects(() => openFrameSource(`mcap:${file}`), /none given/);
    const junk = join(dir, "junk.mcap");
    await Deno.writeTextFile(junk, "no mcap");
    await assert.rejects(() => openMcapSource(junk, "/x"), (e: Error) => e.message.includes(junk));
    await assert.rejects(() => openFrameSource("mcap:#/x"), /mcap:<file>/);
  });
});

Deno.test("mcap: without a topic the only image topic is used; recorded rate with a speed factor", async () => {
  await withTemp(async (dir) => {
    const file = join(dir, "one.mcap");
    const messages = [0, 1, 2].map((i) => ({
      topic: "/cam",
      logTimeNs: BigInt(i) * 10_000_000n,
      data: foxgloveJson(5, i, "c", "jpeg", JPEG),
    }));
    await writeMcap(file, [CHANNELS[3]].map((c) => ({ ...c, topic: "/cam" })), messages);
    const src = await openFrameSource(`mcap:${file}`, { recorded: { speed: 4 } });
    assert.equal(src.name, `mcap:${file}#/cam`);
    const { frames } = await drain(src);
    assert.deepEqual(frames.map((f) => exactOf(f)), [0, 1, 2].map((i) => ({ sec: 5, nsec: i })));
  });
});

frameSourceContract("mcap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "waymark_mcap_contract_" });
  const file = join(dir, "c.mcap");
  await writeFixture(file, { lz4Chunks: true });
  // Recorded rate: the fixture's messages are one second apart, so replay 100x faster.
  const source = await openMcapSource(file, "/ros1/compressed", { speed: 100 });
  return { source, produce: () => {}, finite: 4, dispose: () => Deno.remove(dir, { recursive: true }) };
});
