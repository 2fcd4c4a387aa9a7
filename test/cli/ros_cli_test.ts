/**
 * The ROS side of the streaming commands against the in-process fake rosbridge: every compression mode from the
 * CLI, `--ros-publish` with and without a value, and clear errors for bad ROS options.
 * @module
 */
import assert from "node:assert/strict";
import { FakeRosbridge } from "../_fake_rosbridge.ts";
import { runCli } from "./_capture.ts";
import { simDataset, simMap } from "./_sim_fixture.ts";
import { datasetEntries } from "../../src/io/open_source.ts";
import {
  rosbridgeSourceOptions,
  rosSinkOptions,
  withOptionalRosPublish,
} from "../../src/cli/_ros_options.ts";
import { tempDir } from "../map/_tmp.ts";
import { needsShared } from "../_shared.ts";
import { SCENARIOS, serverFrames } from "../io/_rosbridge_fixture.ts";

const TOPIC = "/cam/jpeg";

/** Odd stamps: whole seconds plus nanoseconds that a float in seconds does not carry exactly. */
function stampOf(i: number): { sec: number; nanosec: number } {
  return { sec: 1_700_000_000 + i, nanosec: (123_456_789 + i * 7_654_321) % 1_000_000_000 };
}

/** The JSON lines of a file (events written by --jsonl). */
async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  try {
    const text = await Deno.readTextFile(path);
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/**
 * Run `waymark <args>` as a child process (a real CLI run, stopped the way an operator stops it) while the fake
 * bridge publishes `frames` images one by one (each after the previous one's estimate is in the JSONL file),
 * then send SIGINT once every frame has its estimate.
 */
async function runAgainstFake(
  server: FakeRosbridge,
  args: string[],
  jsonl: string,
  frames: Uint8Array[],
  topic = TOPIC,
): Promise<{ code: number; stdout: string; stderr: string; events: Record<string, unknown>[] }> {
  server.topicTypes.set(topic, "sensor_msgs/CompressedImage");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let lastRead: Record<string, unknown>[] = [];
  try {
    await server.waitFor(() => server.subscriptions.length > 0, 120_000, "the subscription");
    if (frames.length === 0) {
      // A replaying bridge answers the subscription itself: wait for that one frame's estimate.
      await server.waitFor(
        () => framesDone(lastRead) > 0,
        60_000,
        "the replayed frame's estimate",
        async () => void (lastRead = await readJsonl(jsonl)),
      );
    }
    for (const [i, data] of frames.entries()) {
      server.images.set(TOPIC, {
        type: "compressed",
        header: { frameId: "cam", ...stampOf(i) },
        format: "jpeg",
        data,
      });
      await server.publish(TOPIC);
      await server.waitFor(
        () => framesDone(lastRead) > i,
        60_000,
        `the estimate of frame ${i}`,
        async () => void (lastRead = await readJsonl(jsonl)),
      );
    }
  } finally {
    child.kill("SIGINT");
  }
  const out = await output;
  const dec = new TextDecoder();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    events: await readJsonl(jsonl),
  };
}

const CLI = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** Frames the run has finished: its estimates, or (slam, which has no map to estimate on) its stats' count. */
function framesDone(events: Record<string, unknown>[]): number {
  const stats = events.filter((e) => e.kind === "stats").map((e) => e.processed as number);
  return Math.max(estimatesIn(events).length, ...stats, 0);
}

function estimatesIn(events: Record<string, unknown>[]): Record<string, unknown>[] {
  return events.filter((e) => e.kind === "estimate");
}

Deno.test("waymark localize: the four compressions from the CLI give the same estimates on the same frames", async () => {
  const ds = await simDataset();
  const map = await simMap();
  const entries = (await datasetEntries(ds, "queries")).slice(0, 12);
  const frames = await Promise.all(entries.map((e) => Deno.readFile(e.path)));
  const dir = await tempDir();
  const results: Record<string, unknown>[][] = [];
  for (const compression of ["none", "cbor", "cbor-raw", "png"]) {
    const server = await FakeRosbridge.start({ publishOnSubscribe: false });
    try {
      const jsonl = `${dir}/${compression}.jsonl`;
      const r = await runAgainstFake(
        server,
        [
          "localize",
          "--map",
          map,
          "--source",
          `rosbridge://127.0.0.1:${server.port}${TOPIC}`,
          "--ros-compression",
          compression,
          "--backpressure",
          "queue:100",
          "--jsonl",
          jsonl,
          "--print-hz",
          "0",
        ],
        jsonl,
        frames,
      );
      assert.equal(r.code, 0, r.stderr);
      const sub = server.received.find((o) => o.op === "subscribe")!;
      assert.equal(sub.compression, compression === "none" ? undefined : compression);
      assert.equal(sub.type, "sensor_msgs/CompressedImage", "the type rosapi reported, not the name rule's");
      assert.doesNotMatch(r.stderr, /^(warning|error) /m);
      results.push(estimatesIn(r.events));
    } finally {
      await server.close();
    }
  }
  const key = (e: Record<string, unknown>) => {
    const s = e.estimate as { seq: number; placeId: number | null; confidence: number; status: string };
    return [s.seq, s.placeId, s.confidence, s.status];
  };
  assert.equal(results[0].length, frames.length);
  // Exact stamps from the image to the JSONL: integer seconds and nanoseconds, equal to the published ones.
  for (const r of results) {
    assert.deepEqual(r.map((e) => (e.estimate as { time: unknown }).time), frames.map((_, i) => stampOf(i)));
  }
  for (const r of results.slice(1)) assert.deepEqual(r.map(key), results[0].map(key));
});

Deno.test({
  name: "waymark localize: the real server's recorded frames give the same estimate in all four compressions",
  ...needsShared(),
  async fn() {
    const map = await simMap();
    const dir = await tempDir();
    const topic = "/camera/image/compressed";
    const scenarios = {
      none: SCENARIOS.none,
      cbor: SCENARIOS.cbor,
      "cbor-raw": SCENARIOS.cborRaw,
      png: SCENARIOS.png,
    };
    const estimates: unknown[] = [];
    for (const [compression, scenario] of Object.entries(scenarios)) {
      const recorded = serverFrames(scenario);
      const server = await FakeRosbridge.start({
        replay: (sub) => (sub.compression ?? "none") === compression ? recorded : [],
      });
      try {
        const jsonl = `${dir}/recorded-${compression}.jsonl`;
        const r = await runAgainstFake(
          server,
          [
            "localize",
            "--map",
            map,
            "--source",
            `rosbridge://127.0.0.1:${server.port}${topic}?compression=${compression}`,
            "--jsonl",
            jsonl,
          ],
          jsonl,
          [],
          topic,
        );
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /^(warning|error) /m);
        const [e] = estimatesIn(r.events);
        const s = e.estimate as Record<string, unknown>;
        // Each scenario was its own publish: the stamps differ, and are whole seconds and nanoseconds.
        const t = s.time as { sec: number; nanosec: number };
        assert.ok(
          Number.isInteger(t.sec) && Number.isInteger(t.nanosec) && t.nanosec < 1e9,
          JSON.stringify(t),
        );
        estimates.push([s.placeId, s.confidence, s.status]);
      } finally {
        await server.close();
      }
    }
    for (const e of estimates.slice(1)) assert.deepEqual(e, estimates[0]);
  },
});

Deno.test("waymark localize/slam: bad ROS options are usage errors naming the flag and the value", async () => {
  const cases: [string[], RegExp][] = [
    [
      ["--ros-compression", "zstd"],
      /'ros-compression' must be one of none, cbor, cbor-raw, png: current value is "?zstd/,
    ],
    [["--ros-type", "sensor_msgs/"], /'ros-type' must be a ROS image type.*sensor_msgs\//],
    [["--ros-queue", "0"], /'ros-queue' must be an integer >= 1/],
    [["--ros-throttle", "fast"], /'ros-throttle' must be an integer >= 0/],
    [["--ros-version", "3"], /'ros-version' must be 1 or 2/],
    [["--ros-idle-warn=-1"], /'ros-idle-warn' must be seconds/],
    [["--ros-compression", "cbor", "--ros-fragment-size", "500"], /fragmentSize/],
  ];
  for (const [extra, pattern] of cases) {
    for (const cmd of [["localize", "--map", "x"], ["slam", "--out", "x"]]) {
      const r = await runCli([...cmd, "--source", "rosbridge://127.0.0.1:9/cam", ...extra]);
      assert.equal(r.code, 2, `${cmd[0]} ${extra.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
  }
  const url = await runCli([
    "localize",
    "--map",
    "x",
    "--source",
    "rosbridge://127.0.0.1:9/cam?compression=lz4",
  ]);
  assert.equal(url.code, 2);
  assert.match(url.stderr, /compression.*lz4/);
  const notRos = await runCli([
    "localize",
    "--map",
    "x",
    "--source",
    "sim",
    "--ros-type",
    "sensor_msgs/Image",
  ]);
  assert.equal(notRos.code, 2);
  assert.match(notRos.stderr, /'ros-type' must be given only with a rosbridge:\/\/ source/);
  const noBridge = await runCli(["localize", "--map", await simMap(), "--source", "sim", "--ros-publish"]);
  assert.equal(noBridge.code, 2);
  assert.match(noBridge.stderr, /'ros-publish' must be a rosbridge URL/);
});

Deno.test("--ros-publish takes an optional value: alone, before another flag, with = or with a URL", () => {
  assert.deepEqual(withOptionalRosPublish(["--ros-publish"]), ["--ros-publish="]);
  assert.deepEqual(withOptionalRosPublish(["--ros-publish", "--jsonl", "f"]), [
    "--ros-publish=",
    "--jsonl",
    "f",
  ]);
  assert.deepEqual(withOptionalRosPublish(["--ros-publish="]), ["--ros-publish="]);
  assert.deepEqual(withOptionalRosPublish(["--ros-publish", "ws://h:1"]), ["--ros-publish", "ws://h:1"]);
  assert.deepEqual(withOptionalRosPublish(["--ros-publish=ws://h:1"]), ["--ros-publish=ws://h:1"]);
});

for (const command of ["localize", "slam"]) {
  for (const form of ["alone", "before a flag", "="]) {
    Deno.test(`waymark ${command} --ros-publish (${form}) publishes to the source's bridge`, async () => {
      const ds = await simDataset();
      const entries = (await datasetEntries(ds, "sequence")).slice(0, 3);
      const frames = await Promise.all(entries.map((e) => Deno.readFile(e.path)));
      const dir = await tempDir();
      const jsonl = `${dir}/events.jsonl`;
      const server = await FakeRosbridge.start({ publishOnSubscribe: false });
      const head = command === "localize"
        ? ["localize", "--map", await simMap()]
        : ["slam", "--out", `${dir}/s`];
      const source = ["--source", `rosbridge://127.0.0.1:${server.port}${TOPIC}`];
      const rest = ["--backpressure", "queue:100", "--jsonl", jsonl];
      const args = form === "alone"
        ? [...head, ...source, ...rest, "--ros-publish"]
        : form === "before a flag"
        ? [...head, "--ros-publish", ...source, ...rest]
        : [...head, ...source, "--ros-publish=", ...rest];
      try {
        const r = await runAgainstFake(server, args, jsonl, frames);
        assert.equal(r.code, 0, r.stderr);
        const advertised = server.received.filter((o) => o.op === "advertise").map((o) => o.topic);
        assert.ok(advertised.includes("/waymark/events"), `advertised: ${advertised}`);
        const published = server.received.filter((o) => o.op === "publish" && o.topic === "/waymark/events");
        assert.ok(published.length >= frames.length, `events published: ${published.length}`);
      } finally {
        await server.close();
      }
    });
  }
}

Deno.test("--ros-version follows a ROS 2 type name when absent, for both the source and the published messages", () => {
  const src = "rosbridge://h:9090/cam";
  assert.equal(rosSinkOptions("x", { source: src }).rosVersion, 1);
  assert.equal(rosSinkOptions("x", { source: `${src}?type=sensor_msgs/msg/Image` }).rosVersion, 2);
  assert.equal(
    rosSinkOptions("x", { source: src, "ros-type": "sensor_msgs/msg/CompressedImage" }).rosVersion,
    2,
  );
  assert.equal(
    rosSinkOptions("x", { source: src, "ros-type": "sensor_msgs/msg/Image", "ros-version": "1" }).rosVersion,
    1,
  );
  assert.equal(rosbridgeSourceOptions("x", { source: `${src}?type=sensor_msgs/msg/Image` }).rosVersion, 2);
});
