/**
 * Recordings as dataset images (`map build` and `eval loops` on `bag:`/`mcap:`): names with exact stamps, the
 * recorded bytes or a PNG of raw frames, the temporary folder removed; truth CSVs keyed by frame index, frame name
 * or a sequence.csv beside; the shared bag against the shared dataset's loops.csv.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import sharp from "sharp";
import { needsShared, sharedPath } from "../_shared.ts";
import {
  readRecordingImages,
  readRecordingLoopDataset,
  readRecordingTruth,
} from "../../src/io/recording_dataset.ts";
import { readLoopDataset } from "../../src/dataset/loop_dataset.ts";
import { DatasetError, ValidationError } from "../../src/errors.ts";
import type { DatasetImage } from "../../src/dataset/types.ts";
import { tempDir } from "../map/_tmp.ts";
import { foxgloveProtobuf, rosImage, writeMcap } from "./_mcap_fixture.ts";

const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 0xff, 0xd9]);

/** Three frames on a Foxglove protobuf JPEG topic and a ROS 2 rgb8 topic, stamps with odd nanoseconds. */
async function writeFixture(path: string): Promise<Uint8Array> {
  const raw = new Uint8Array(4 * 3 * 2).map((_, k) => k * 10);
  const messages = [];
  for (let i = 0; i < 3; i++) {
    const sec = 1700000000 + i, nsec = 5 + i;
    const log = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
    const header = { sec, nanosec: nsec, frameId: "cam", seq: i };
    messages.push(
      { topic: "/fox/pb", logTimeNs: log, data: foxgloveProtobuf(sec, nsec, "cam", "jpeg", JPEG) },
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
    );
  }
  await writeMcap(path, [
    {
      topic: "/fox/pb",
      schema: "foxglove.CompressedImage",
      schemaEncoding: "protobuf",
      messageEncoding: "protobuf",
    },
    {
      topic: "/ros2/raw",
      schema: "sensor_msgs/msg/Image",
      schemaEncoding: "ros2msg",
      messageEncoding: "cdr",
    },
  ], messages);
  return raw;
}

async function gone(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return false;
  } catch (err) {
    return err instanceof Deno.errors.NotFound;
  }
}

Deno.test("recording images: an MCAP topic's frames named <topic>@<sec>.<nanosec>, folder removed", async () => {
  const dir = await tempDir();
  const file = join(dir, "f.mcap");
  const raw = await writeFixture(file);
  let folder = "";
  {
    await using rec = await readRecordingImages(`mcap:${file}#/fox/pb`);
    folder = rec.dir;
    assert.equal(rec.spec, `mcap:${file}#/fox/pb`);
    assert.deepEqual(rec.images.map((im) => im.image), [
      "/fox/pb@1700000000.000000005",
      "/fox/pb@1700000001.000000006",
      "/fox/pb@1700000002.000000007",
    ]);
    assert.deepEqual(rec.stamps, [0, 1, 2].map((i) => ({ sec: 1700000000 + i, nsec: 5 + i })));
    assert.deepEqual(rec.images.map((im) => im.index), [0, 1, 2]);
    assert.ok(Math.abs(rec.images[1].stamp - 1700000001.000000006) < 1e-6);
    for (const im of rec.images) {
      assert.ok(im.path.startsWith(rec.dir) && im.path.endsWith(".jpg"), im.path);
      assert.deepEqual(await Deno.readFile(im.path), JPEG);
    }
  }
  assert.ok(await gone(folder), "the temporary folder is removed on dispose");

  // Two image topics: none given is refused. The raw one becomes PNG with the same pixels.
  await assert.rejects(() => readRecordingImages(`mcap:${file}`), ValidationError);
  await using rawRec = await readRecordingImages(`mcap:${file}#/ros2/raw`);
  assert.equal(rawRec.images.length, 3);
  assert.equal(rawRec.images[2].image, "/ros2/raw@1700000002.000000007");
  const png = await sharp(rawRec.images[0].path).raw().toBuffer({ resolveWithObject: true });
  assert.equal(png.info.format, "raw");
  assert.deepEqual([png.info.width, png.info.height, png.info.channels], [4, 2, 3]);
  assert.deepEqual(new Uint8Array(png.data), raw);
});

Deno.test("recording images: not a recording, a missing file", async () => {
  await assert.rejects(() => readRecordingImages("dataset:/x"), ValidationError);
  await assert.rejects(() => readRecordingImages("bag:/nonexistent/x.bag#/t"));
});

function frames(n: number): DatasetImage[] {
  return Array.from({ length: n }, (_, i) => ({
    index: i,
    image: `/cam@${1700000000 + i}.000000000`,
    path: `/nowhere/${i}.jpg`,
    stamp: 1700000000 + i,
  }));
}

Deno.test("recording truth: frame indexes, frame names and a sequence.csv beside, with clear errors", async () => {
  const dir = await tempDir();
  const f = join(dir, "loops.csv");
  await Deno.writeTextFile(
    join(dir, "sequence.csv"),
    "image\nimages/a.jpg\nimages/b.jpg\nimages/c.jpg\nimages/d.jpg\nimages/e.jpg\n",
  );
  await Deno.writeTextFile(
    f,
    "query,match\n3,0\n/cam@1700000004.000000000,1\nimages/e.jpg,images/a.jpg\n3,0\n",
  );
  assert.deepEqual(await readRecordingTruth(f, frames(5)), [[], [], [], [0], [0, 1]]);

  const bad = async (text: string, pattern: RegExp) => {
    await Deno.writeTextFile(f, text);
    await assert.rejects(() => readRecordingTruth(f, frames(5)), (e: Error) => {
      assert.ok(e instanceof DatasetError, e.message);
      assert.match(e.message, pattern);
      return true;
    });
  };
  await bad("query,match\n3,zzz\n", /loops\.csv:2: match "zzz" names no frame/);
  await bad("query,match\n7,0\n", /loops\.csv:2: query "7" is frame 7, but the recording has 5 frames/);
  await bad("query,match\n1,3\n", /loops\.csv:2: query "1" must come after match "3"/);
  await bad("a,b\n1,0\n", /header must be 'query,match'/);
  await assert.rejects(() => readRecordingTruth(join(dir, "absent.csv"), frames(5)), DatasetError);
});

Deno.test({
  name: "recording truth: the shared bag with the shared dataset's loops.csv gives the dataset's loops",
  ...needsShared(),
  async fn() {
    const data = sharedPath("data/rtabmap_samples_loop");
    const bag = `bag:${sharedPath("fixtures/bags/rtabmap_loop_ros1.bag")}#/camera/image/compressed`;
    await using rec = await readRecordingLoopDataset(bag, join(data, "loops.csv"));
    const ds = await readLoopDataset(data);
    assert.equal(rec.dataset.frames.length, 84);
    assert.equal(rec.dataset.dir, bag);
    assert.deepEqual(rec.dataset.loops, ds.loops);
    assert.ok(rec.dataset.loops.filter((l) => l.length > 0).length > 0);
    assert.equal(rec.dataset.frames[83].image, "/camera/image/compressed@1700000008.300012428");
  },
});
